//go:build linux

package session

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// TestSessionOnFixture runs --proc --fs against the procsnap fixture tree,
// whose target has a root but no mountinfo: every artifact arrives and
// verifies, and the missing mountinfo is reported, not fatal.
func TestSessionOnFixture(t *testing.T) {
	o := agent.DefaultRunOptions()
	o.Proc, o.FS, o.WaitStdin = true, true, false
	var out bytes.Buffer
	var logs []string
	res, err := Run(context.Background(), &out, Config{RunOptions: o, ProcRoot: "../procsnap/testdata/proc",
		Logf: func(f string, a ...any) { logs = append(logs, f) }})
	if err == nil || !strings.Contains(err.Error(), agent.ArtifactFSMounts) {
		t.Errorf("error %v, want one naming %s", err, agent.ArtifactFSMounts)
	}
	got := map[string][]byte{}
	sum, derr := stream.Demux(&out, func(a *stream.Artifact) error {
		b, err := io.ReadAll(a)
		got[a.Name] = b
		return err
	}, nil)
	if derr != nil {
		t.Fatal(derr)
	}
	var names []string
	for _, r := range sum.Artifacts {
		names = append(names, r.Name)
		if !r.Verified() {
			t.Errorf("%s not verified", r.Name)
		}
	}
	want := []string{agent.ArtifactInfo, agent.ArtifactProcSnapshot, agent.ArtifactFSMounts, agent.ArtifactFSTar, agent.ArtifactFSReport}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("artifacts %v, want %v", names, want)
	}
	if sum.Bytes != res.Bytes || sum.SHA256 != res.SHA256 || !strings.Contains(sum.AgentError, "fs/mounts.json") {
		t.Errorf("summary %+v, result %+v", sum, res)
	}
	if errs := sum.AgentErrors(); len(errs) != 2 || !strings.Contains(errs[0], "mountinfo") {
		t.Errorf("agent errors %q", errs)
	}
	var snap struct {
		Processes []struct{ PID int } `json:"processes"`
	}
	if err := json.Unmarshal(got[agent.ArtifactProcSnapshot], &snap); err != nil || len(snap.Processes) != 3 {
		t.Errorf("snapshot: %v, %d processes", err, len(snap.Processes))
	}
	tr := tar.NewReader(bytes.NewReader(got[agent.ArtifactFSTar]))
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found = found || h.Name == "etc/passwd"
	}
	if !found {
		t.Error("etc/passwd missing from the tar")
	}
	var info map[string]any
	if err := json.Unmarshal(got[agent.ArtifactInfo], &info); err != nil || info["version"] != "dev" {
		t.Errorf("info %v %v", info, err)
	}
	if len(logs) == 0 {
		t.Error("nothing logged")
	}
}

func TestSessionRejectsMissingTarget(t *testing.T) {
	o := agent.DefaultRunOptions()
	o.Proc, o.TargetPID = true, 4242
	var out bytes.Buffer
	_, err := Run(context.Background(), &out, Config{RunOptions: o, ProcRoot: "../procsnap/testdata/proc"})
	if err == nil || !strings.Contains(err.Error(), "target process 4242") || out.Len() != 0 {
		t.Errorf("error %v, %d bytes written", err, out.Len())
	}
}

// TestSessionStopsWhenClientGoes makes the stream fail: the session must
// end promptly with an error rather than keep capturing.
func TestSessionStopsWhenClientGoes(t *testing.T) {
	o := agent.DefaultRunOptions()
	o.Proc, o.FS = true, true
	_, err := Run(context.Background(), &brokenPipe{n: 300}, Config{RunOptions: o, ProcRoot: "../procsnap/testdata/proc"})
	if err == nil {
		t.Fatal("session over a broken stream succeeded")
	}
}

type brokenPipe struct{ n int }

func (b *brokenPipe) Write(p []byte) (int, error) {
	if len(p) > b.n {
		return 0, errors.New("broken pipe")
	}
	b.n -= len(p)
	return len(p), nil
}
