package docker

import (
	"testing"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// TestBoundaries keeps the Docker adapter free of Kubernetes and of the
// plugins: it must not depend, even indirectly, on k8s.io packages,
// cobra, shared/kube, or the docker-forensic and kubectl-forensic
// packages (those import it, not the other way round).
func TestBoundaries(t *testing.T) {
	const mod = testutil.Module
	testutil.CheckDeps(t, "shared/docker", "./...", "k8s.io/", "sigs.k8s.io/", "github.com/spf13/cobra",
		mod+"shared/kube", mod+"docker-forensic", mod+"kubectl-forensic")
}
