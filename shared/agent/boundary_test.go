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
// plugins. The one k8s.io module allowed is k8s.io/cri-api: the container
// runtime's own gRPC API, which the node agent (nodesnap) speaks to the
// runtime's socket; it is no Kubernetes client.
func TestBoundaries(t *testing.T) {
	const mod = testutil.Module
	testutil.CheckDeps(t, "shared/agent", "./...", "k8s.io/api", "k8s.io/apimachinery", "k8s.io/client-go", "k8s.io/cli-runtime",
		"k8s.io/kubectl", "k8s.io/component-", "k8s.io/klog", "k8s.io/kube-", "k8s.io/streaming", "k8s.io/utils", "sigs.k8s.io/", "github.com/docker/", "github.com/moby/", "github.com/spf13/cobra",
		mod+"shared/kube", mod+"shared/docker", mod+"docker-forensic", mod+"kubectl-forensic")
}
