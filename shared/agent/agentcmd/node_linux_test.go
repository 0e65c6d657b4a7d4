//go:build linux

package agentcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent/nodesnap"
	"github.com/forensic-tools/forensic/shared/agent/stream"
)

const nodeReq = `{"namespace":"default","pod":"web-0","pod_uid":"u1","containers":[{"name":"app","container_id":"containerd://0000000000000000000000000000000000000000000000000000000000c0ffee"}],"pod_logs_dir":"/logs","cri_endpoint":"unix:///run/none.sock","since":"2026-12-06T20:00:00Z"}`

func TestNodeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node"}, "give --request JSON"},
		{[]string{"node", "--request", "{"}, "decoding the request"},
		{[]string{"node", "--request", `{"namespace":"a"}`}, "needs namespace, pod and pod_uid"},
		{[]string{"node", "--request", nodeReq, "--host-root", filepath.Join(dir, "none")}, "is not a directory"},
		{[]string{"node", "--request", nodeReq, "extra"}, "unexpected arguments"},
	} {
		out, errf, read := files(t)
		if code := run(tc.args, strings.NewReader(""), out, errf); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		o, e := read()
		if !strings.Contains(e, tc.want) || o != "" || strings.Count(e, "\n") != 1 {
			t.Errorf("%q: stdout %q, stderr %q: want one line with %q", tc.args, o, e, tc.want)
		}
	}
}

// TestNodeStdinClosedBeforeStart: as for run, nothing is read or written
// without the start byte.
func TestNodeStdinClosedBeforeStart(t *testing.T) {
	out, errf, read := files(t)
	code := run([]string{"node", "--request", nodeReq, "--host-root", t.TempDir()}, strings.NewReader(""), out, errf)
	o, e := read()
	if code != exitFailed || o != "" || !strings.Contains(e, "stdin closed before the start byte") {
		t.Errorf("exit %d, stdout %d bytes, stderr %q", code, len(o), e)
	}
}

// TestNodeStream: after the start byte the command streams the session,
// info first and the report last, and the report says what it could not
// find (no log folder, no CRI socket) while the session itself succeeds.
func TestNodeStream(t *testing.T) {
	out, errf, read := files(t)
	// The start byte, and stdin left open: its end would stop the session.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	pw.Write([]byte("x"))
	code := run([]string{"node", "--request", nodeReq, "--host-root", t.TempDir()}, pr, out, errf)
	_, e := read()
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, e)
	}
	var f *os.File
	f, err = os.Open(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	sum, err := stream.Demux(f, stream.ExtractTo(dir), nil)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	n := len(sum.Artifacts)
	if n < 2 || sum.Artifacts[0].Name != "agent/info.json" || sum.Artifacts[n-1].Name != nodesnap.ArtifactReport {
		t.Fatalf("artifacts %+v", sum.Artifacts)
	}
	rep, _ := os.ReadFile(filepath.Join(dir, nodesnap.ArtifactReport))
	if !strings.Contains(string(rep), "no log folder /logs/default_web-0_u1/app") || !strings.Contains(string(rep), "cri ContainerStatus 0000000000000000000000000000000000000000000000000000000000c0ffee") {
		t.Errorf("report:\n%s", rep)
	}
}
