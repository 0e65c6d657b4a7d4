//go:build e2e

package analyze_e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.tar")
	os.WriteFile(truncated, raw[:len(raw)*2/3], 0o600)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not an archive\n"), 0o600)
	clean := filepath.Join(dir, "clean.tar")
	if b, err := exec.Command("tar", "-C", filepath.Join(repoRoot, "shared/analyze/pkgdb"), "-cf", clean, "doc.go").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	exists := filepath.Join(dir, "exists.html")
	os.WriteFile(exists, []byte("keep me"), 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"clean analysis", []string{saved}, 0, ""},
		{"findings at --fail-on", []string{"--fail-on", "high", saved}, 3, "findings of severity critical"},
		{"critical at --fail-on critical", []string{"--fail-on", "critical", filepath.Join(repoRoot, "shared/analyze/testdata/fixture-image.tar")}, 3, "critical"},
		{"nothing at --fail-on low", []string{"--fail-on", "low", clean}, 0, ""},
		{"truncated input", []string{truncated}, 2, "analysed only in part"},
		{"not an archive", []string{text}, 1, "not a tar archive"},
		{"missing file", []string{filepath.Join(dir, "nope.tar")}, 1, "no such file"},
		{"existing html", []string{"--html", exists, saved}, 1, "never written over"},
		{"bad output format", []string{"-o", "yaml", saved}, 1, "unknown output format"},
		{"bad severity", []string{"--fail-on", "urgent", saved}, 1, "unknown severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through the docker CLI, which must pass the status on,
			// standalone, and as the kubectl plugin.
			for _, argv := range [][]string{append([]string{"docker", "forensic", "analyze"}, tt.args...), append([]string{plugin, "analyze"}, tt.args...), append([]string{kubectl, "analyze"}, tt.args...)} {
				res := run(t, argv[0], argv[1:]...)
				if res.code != tt.code {
					t.Errorf("%s: exit %d, want %d", argv[0], res.code, tt.code)
				}
				// An empty want means nothing at all on stderr; otherwise
				// stderr must say it.
				if tt.stderr == "" && res.stderr != "" {
					t.Errorf("%s: stderr %q, want it empty", argv[0], res.stderr)
				}
				if tt.stderr != "" && !strings.Contains(res.stderr, tt.stderr) {
					t.Errorf("%s: stderr %q, want %q", argv[0], res.stderr, tt.stderr)
				}
			}
		})
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Error("an existing file was overwritten")
	}
}
