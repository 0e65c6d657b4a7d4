// Package testutil holds small helpers that the project's tests share. It
// uses the standard library only, so any package may import it in tests.
package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireRoot fails the test under CI=true when it does not run as root (a
// skipped test must not pass for a green run; CI runs as root) and skips it
// elsewhere. why says what root is needed for.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("this test needs root (%s) and CI runs as root", why)
	}
	t.Skipf("needs root: %s", why)
}

// Module is the project's module path, the prefix of its import paths.
const Module = "github.com/forensic-tools/forensic/"

// CheckDeps fails the test for every package that the packages matched by
// pattern (relative to the test's folder, e.g. "./...") depend on, even
// indirectly, whose import path starts with one of banned. who names the
// packages in the error.
func CheckDeps(t testing.TB, who, pattern string, banned ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list named no packages")
	}
	for _, dep := range deps {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) {
				t.Errorf("%s depends on %s", who, dep)
			}
		}
	}
}

// CommandError checks what a plugin command printed for an error: text is
// the error as the plugin prints it and code its exit status. The first
// line must start with wantFirst; with wantUsage empty (a failure at run
// time) no usage may follow, otherwise wantUsage must follow after an
// empty line; the exit status is 1, and nothing else was printed on
// stdout or stderr.
func CommandError(t testing.TB, text string, code int, stdout, stderr, wantFirst, wantUsage string) {
	t.Helper()
	if first, _, _ := strings.Cut(text, "\n"); !strings.HasPrefix(first, wantFirst) {
		t.Errorf("first line %q, want it to start with %q", first, wantFirst)
	}
	if wantUsage == "" && strings.Contains(text, "Usage:") {
		t.Errorf("usage shown for a failure at run time:\n%s", text)
	}
	if wantUsage != "" && !strings.Contains(text, "\n\n"+wantUsage) {
		t.Errorf("no %q after the error:\n%s", wantUsage, text)
	}
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("printed besides the error: stdout %q, stderr %q", stdout, stderr)
	}
}
