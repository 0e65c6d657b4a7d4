package agent

import (
	"testing"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// TestBoundaries keeps the agent and its packages engine-neutral: it runs
// inside the target's namespaces, beside a Docker container or in a
// Kubernetes ephemeral container, and is shared by both plugins. It must
// not depend, even indirectly, on the Kubernetes, Docker or moby clients,
// cobra, the engine adapters shared/kube and shared/docker, or the
// plugins.
func TestBoundaries(t *testing.T) {
	const mod = testutil.Module
	testutil.CheckDeps(t, "shared/agent", "./...", "k8s.io/", "sigs.k8s.io/", "github.com/docker/", "github.com/moby/", "github.com/spf13/cobra",
		mod+"shared/kube", mod+"shared/docker", mod+"docker-forensic", mod+"kubectl-forensic")
}
