package offline

import (
	"testing"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// TestBoundaries keeps the offline readers plain: no engine client, no
// Kubernetes, no cobra, and none of the live collectors; they read files.
func TestBoundaries(t *testing.T) {
	testutil.CheckDeps(t, "shared/offline", "./...",
		"k8s.io/", "github.com/docker/", "github.com/moby/", "github.com/containerd/containerd", "github.com/spf13/cobra",
		testutil.Module+"shared/docker", testutil.Module+"shared/kube", testutil.Module+"shared/agent", testutil.Module+"internal/cli")
}
