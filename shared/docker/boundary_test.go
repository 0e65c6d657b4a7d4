package docker

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBoundaries keeps the Docker adapter free of Kubernetes and of the
// plugins: it must not depend, even indirectly, on k8s.io packages,
// cobra, shared/kube, or the docker-forensic and kubectl-forensic
// packages (those import it, not the other way round).
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
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/spf13/cobra", mod + "shared/kube", mod + "docker-forensic", mod + "kubectl-forensic"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("shared/docker depends on %s", dep)
			}
		}
	}
}
