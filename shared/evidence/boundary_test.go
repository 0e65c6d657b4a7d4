package evidence

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreBoundaries keeps the core free of engine code: the bundle writer,
// the collection runner and the offline analysis must not depend, even
// indirectly, on Kubernetes or Docker packages, nor on cobra.
func TestCoreBoundaries(t *testing.T) {
	mod := "github.com/forensic-tools/forensic/shared/"
	for _, pkg := range []string{"evidence", "collect", "analyze/..."} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"k8s.io/", "github.com/docker/", "github.com/moby/", "github.com/spf13/cobra", mod + "docker", mod + "kube"} {
				if strings.HasPrefix(dep, banned) {
					t.Errorf("shared/%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
