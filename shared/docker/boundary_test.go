package docker

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// dockertestPkg is the test helper package: it holds the fake docker CLI,
// so it depends on the docker CLI and cobra, and only tests import it.
const dockertestPkg = testutil.Module + "shared/docker/dockertest"

// TestBoundaries keeps the Docker adapter free of Kubernetes and of the
// plugins: it must not depend, even indirectly, on k8s.io packages,
// cobra, shared/kube, the docker-forensic and kubectl-forensic packages
// (those import it, not the other way round), or dockertest. dockertest
// itself is left out: TestDockertestOnlyInTests checks it.
func TestBoundaries(t *testing.T) {
	const mod = testutil.Module
	out, err := exec.Command("go", "list", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := slices.DeleteFunc(strings.Fields(string(out)), func(p string) bool { return p == dockertestPkg })
	if len(pkgs) == 0 {
		t.Fatal("go list named no packages besides dockertest")
	}
	for _, pkg := range pkgs {
		testutil.CheckDeps(t, pkg, pkg, "k8s.io/", "sigs.k8s.io/", "github.com/spf13/cobra",
			mod+"shared/kube", mod+"docker-forensic", mod+"kubectl-forensic", dockertestPkg)
	}
}

// TestDockertestOnlyInTests: no package of the module but dockertest
// depends on dockertest outside its tests, even indirectly (go list's
// Deps leave test files out).
func TestDockertestOnlyInTests(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", testutil.Module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("go list named %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		if f[0] != dockertestPkg && slices.Contains(f[1:], dockertestPkg) {
			t.Errorf("%s depends on %s, which only tests may import", f[0], dockertestPkg)
		}
	}
}
