//go:build linux

package agentcmd

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// files returns temporary stdout and stderr files and a reader of each.
func files(t *testing.T) (*os.File, *os.File, func() (string, string)) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close(); errf.Close() })
	return out, errf, func() (string, string) {
		o, _ := os.ReadFile(out.Name())
		e, _ := os.ReadFile(errf.Name())
		return string(o), string(e)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage:"},
		{[]string{"bogus"}, "unknown command"},
		{[]string{"run"}, "nothing to capture"},
		{[]string{"run", "--fs", "extra"}, "unexpected arguments"},
		{[]string{"run", "--pcap", "0"}, "--pcap-max-packets"},
		{[]string{"unpack"}, "--dir"},
		{[]string{"image"}, "-o FILE"},
	} {
		out, errf, read := files(t)
		if code := run(tc.args, strings.NewReader(""), out, errf); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if _, e := read(); !strings.Contains(e, tc.want) {
			t.Errorf("%q: stderr %q lacks %q", tc.args, e, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	out, errf, read := files(t)
	if code := run([]string{"version"}, nil, out, errf); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if o, _ := read(); !strings.HasPrefix(o, "forensic-agent dev (commit unknown") || !strings.Contains(o, "protocol 1") {
		t.Errorf("version %q", o)
	}
}

// TestStdinClosedBeforeStart: without a start byte nothing is captured and
// nothing is written to stdout.
func TestStdinClosedBeforeStart(t *testing.T) {
	out, errf, read := files(t)
	code := run([]string{"run", "--proc", "--target-pid", "1"}, strings.NewReader(""), out, errf)
	o, e := read()
	if code != exitFailed || o != "" || !strings.Contains(e, "stdin closed before the start byte") {
		t.Errorf("exit %d, stdout %d bytes, stderr %q", code, len(o), e)
	}
}

// TestUnpack round-trips a stream through the unpack command.
func TestUnpack(t *testing.T) {
	var s bytes.Buffer
	w, _ := stream.NewWriter(&s)
	a, _ := w.Open("proc/snapshot.json", nil)
	a.Write([]byte("{}\n"))
	a.Close()
	w.Close()
	dir := filepath.Join(t.TempDir(), "x")
	out, errf, read := files(t)
	if code := run([]string{"unpack", "--dir", dir}, &s, out, errf); code != exitOK {
		_, e := read()
		t.Fatalf("exit %d: %s", code, e)
	}
	b, err := os.ReadFile(filepath.Join(dir, "proc/snapshot.json"))
	if err != nil || string(b) != "{}\n" {
		t.Errorf("artifact %q, %v", b, err)
	}
	o, _ := read()
	var sum struct {
		Ended     bool
		Artifacts []struct {
			Name     string
			Verified bool
		}
	}
	if err := json.Unmarshal([]byte(o), &sum); err != nil || !sum.Ended || !sum.Artifacts[0].Verified {
		t.Errorf("summary %s: %v", o, err)
	}
}

func TestInvoked(t *testing.T) {
	for argv0, want := range map[string]bool{
		"/forensic-agent": true, "forensic-agent": true, "/x/y/forensic-agent": true,
		"docker-forensic": false, "/usr/libexec/docker/cli-plugins/docker-forensic": false, "forensic-agent-x": false,
	} {
		if got := Invoked(argv0); got != want {
			t.Errorf("Invoked(%q) = %v, want %v", argv0, got, want)
		}
	}
}

// TestImageLabels: the image command labels the image with the binary's
// SHA-256 and architecture, and refuses an --arch the binary is not for.
func TestImageLabels(t *testing.T) {
	out, errf, read := files(t)
	img := filepath.Join(t.TempDir(), "img.tar")
	other := map[string]string{"amd64": "arm64"}[runtime.GOARCH]
	if other == "" {
		other = "amd64"
	}
	if code := run([]string{"image", "-o", img, "--binary", "/bin/ls", "--arch", other}, nil, out, errf); code != exitFailed {
		t.Errorf("--arch %s for a %s binary: exit %d", other, runtime.GOARCH, code)
	}
	if _, e := read(); !strings.Contains(e, "built for linux/"+runtime.GOARCH) {
		t.Errorf("stderr %q", e)
	}
	if code := run([]string{"image", "-o", img, "--binary", "/bin/ls", "--name", "forensic/agent:t"}, nil, out, errf); code != exitOK {
		_, e := read()
		t.Fatalf("exit %d: %s", code, e)
	}
	b, err := exec.Command("tar", "-xOf", img, "manifest.json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var m []struct{ Config string }
	json.Unmarshal(b, &m)
	config, err := exec.Command("tar", "-xOf", img, m[0].Config).Output()
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := exec.Command("sha256sum", "/bin/ls").Output()
	for _, want := range []string{`"io.forensic-tools.agent.sha256":"` + strings.Fields(string(sum))[0] + `"`, `"io.forensic-tools.agent.arch":"` + runtime.GOARCH + `"`, `"org.opencontainers.image.title":"forensic-agent"`} {
		if !strings.Contains(string(config), want) {
			t.Errorf("config lacks %s: %s", want, config)
		}
	}
}
