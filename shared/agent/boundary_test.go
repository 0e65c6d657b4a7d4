package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBoundaries keeps the agent and its packages engine-neutral: it runs
// inside the target's namespaces, beside a Docker container or in a
// Kubernetes ephemeral container, and is shared by both plugins. It must
// not depend, even indirectly, on the Kubernetes, Docker or moby clients,
// cobra, the engine adapters shared/kube and shared/docker, or the
// plugins.
func TestBoundaries(t *testing.T) {
	const mod = "github.com/forensic-tools/forensic/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list named no packages")
	}
	for _, dep := range deps {
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/docker/", "github.com/moby/", "github.com/spf13/cobra",
			mod + "shared/kube", mod + "shared/docker", mod + "docker-forensic", mod + "kubectl-forensic"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("shared/agent depends on %s", dep)
			}
		}
	}
}
