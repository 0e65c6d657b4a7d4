//go:build e2e

package analyze_e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze"
)

// startDropper runs a container of the app image that drops a program in
// /tmp and prints a token, and returns its name.
func startDropper(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("forensic-e2e-analyze-%d", time.Now().UnixNano()%1000000)
	mustDocker(t, "run", "-d", "--name", name, appImage, "sh", "-c",
		`cp /bin/busybox /tmp/x && chmod 755 /tmp/x && echo "login ok, token=$0" && echo ready && exec sleep 3600`, runToken)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	for i := 0; ; i++ {
		if strings.Contains(mustDocker(t, "logs", name), "ready") {
			return name
		}
		if i > 100 {
			t.Fatalf("container %s never got ready", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestExportedBundle(t *testing.T) {
	name := startDropper(t)
	bundle := filepath.Join(t.TempDir(), "web.tar.gz")
	if res := run(t, "docker", "forensic", "export", "-q", "--image", "-o", bundle, name); res.code != 0 {
		t.Fatalf("export failed: exit %d", res.code)
	}
	r, res := analyzeJSON(t, bundle)
	if res.code != 0 || !r.Complete || r.Input.Kind != analyze.KindBundle || r.Bundle == nil || !r.Bundle.Intact || len(r.Timeline) == 0 {
		t.Fatalf("exit %d, complete %v, kind %s, bundle %+v, problems %q", res.code, r.Complete, r.Input.Kind, r.Bundle, r.Problems)
	}
	checkImage(t, r)
	last := r.Timeline[len(r.Timeline)-1]
	if last.Kind != analyze.StageContainer || last.Started == nil {
		t.Fatalf("last stage %+v, want the container with its start time", last)
	}
	started := mustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", name)
	if want, _ := time.Parse(time.RFC3339Nano, started); !last.Started.Equal(want) {
		t.Errorf("container started %v, docker inspect says %s", last.Started, started)
	}
	var added []string
	for _, f := range last.Added {
		added = append(added, f.Path)
	}
	if !contains(added, "/tmp/x") {
		t.Errorf("container stage adds %q, want /tmp/x", added)
	}
	for _, f := range last.Added {
		if f.Path == "/tmp/x" && (f.Mode != "-rwxr-xr-x" || f.MTime.Before(last.Started.Truncate(time.Second))) {
			t.Errorf("/tmp/x: mode %s, mtime %v before the start %v", f.Mode, f.MTime, last.Started)
		}
	}
	tests := []struct {
		rule, path, where string
		severity          analyze.Severity
	}{
		{"added-after-build", "/tmp/x", "container filesystem", analyze.High},
		{"exec-in-tmp", "/tmp/x", "container filesystem", analyze.High},
		{"github-token", "", "logs/stdout.log", analyze.High},
		{"github-token", "", "container command", analyze.High},
	}
	for _, tt := range tests {
		var got *analyze.Finding
		for i, f := range r.Findings {
			if f.Rule == tt.rule && f.Path == tt.path && f.Where == tt.where {
				got = &r.Findings[i]
			}
		}
		if got == nil || got.Severity != tt.severity {
			t.Errorf("no %s %s finding in %s with severity %s; findings: %q", tt.rule, tt.path, tt.where, tt.severity, ruleList(r))
		}
	}
	// What the image brought is reported once, on its layer, not again on
	// the container.
	for _, f := range r.Findings {
		if f.Where == "container filesystem" && (f.Path == "/usr/local/bin/helper" || f.Path == "/tmp/dropper") {
			t.Errorf("image finding repeated on the container: %+v", f)
		}
	}
	if c := r.Container; c == nil || c.Name != name || c.Added == 0 || len(c.Logs) == 0 || strings.Contains(strings.Join(c.Command, " "), runToken) {
		t.Errorf("container = %+v", r.Container)
	}

	// The same bundle through the kubectl plugin.
	res = run(t, kubectl, "analyze", bundle)
	if res.code != 0 || !strings.Contains(res.stdout, "added-after-build") || !strings.Contains(res.stdout, "is intact and complete") {
		t.Errorf("kubectl forensic analyze: exit %d\n%s", res.code, res.stdout)
	}

	// An altered copy is still analysed, and says so.
	altered := filepath.Join(t.TempDir(), "altered.tar.gz")
	alterBundle(t, bundle, altered)
	r, res = analyzeJSON(t, altered)
	if r.Bundle == nil {
		t.Fatalf("altered bundle analysed as %s, not as a bundle", r.Input.Kind)
	}
	if res.code != 2 || r.Complete || r.Bundle.Intact || find(r, "bundle-not-intact", "") == nil || find(r, "exec-in-tmp", "/tmp/x") == nil {
		t.Errorf("altered bundle: exit %d, complete %v, intact %v, findings %q", res.code, r.Complete, r.Bundle.Intact, ruleList(r))
	}
}

// alterBundle rewrites one log line of a bundle, keeping its size, the way
// someone tampering with evidence would.
func alterBundle(t *testing.T, in, out string) {
	t.Helper()
	dir := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", in, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v: %s", err, b)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "logs", "stdout.log"))
	if len(logs) != 1 {
		t.Fatalf("no stdout.log in the bundle")
	}
	b, _ := os.ReadFile(logs[0])
	os.WriteFile(logs[0], []byte(strings.Replace(string(b), "login ok", "login OK", 1)), 0o600)
	root := filepath.Base(filepath.Dir(filepath.Dir(logs[0])))
	if b, err := exec.Command("tar", "-czf", out, "-C", dir, root).CombinedOutput(); err != nil {
		t.Fatalf("tar -c: %v: %s", err, b)
	}
}

func TestExportedFilesystem(t *testing.T) {
	name := startDropper(t)
	fs := filepath.Join(t.TempDir(), "fs.tar")
	mustDocker(t, "export", "-o", fs, name)
	r, res := analyzeJSON(t, fs)
	if res.code != 0 || r.Input.Kind != analyze.KindFilesystem || len(r.Timeline) != 1 {
		t.Fatalf("exit %d, kind %s, timeline %d stages", res.code, r.Input.Kind, len(r.Timeline))
	}
	for _, k := range [][2]string{{"exec-in-tmp", "/tmp/x"}, {"exec-in-tmp", "/tmp/dropper"}, {"setuid", "/usr/local/bin/helper"},
		{"private-key", "/root/.ssh/id_ed25519"}, {"aws-secret-access-key", "/app/.env"}} {
		if find(r, k[0], k[1]) == nil {
			t.Errorf("no %s finding for %s; findings %q", k[0], k[1], ruleList(r))
		}
	}
	newest := r.Timeline[0].Newest
	if len(newest) == 0 || !contains(pathsOf(newest), "/tmp/x") {
		t.Errorf("newest files %q lack /tmp/x", pathsOf(newest))
	}
}

func pathsOf(fs []analyze.File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
