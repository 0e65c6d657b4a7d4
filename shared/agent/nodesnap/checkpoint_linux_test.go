//go:build linux

package nodesnap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckpoints: an archive to delete is streamed byte for byte (its
// SHA-256 computed on the node matches) and then removed; one to keep
// stays; a missing one is an error in the report, the session fails but
// still ends with the report.
func TestCheckpoints(t *testing.T) {
	root := t.TempDir()
	dir := "/var/lib/kubelet/checkpoints"
	del := bytes.Repeat([]byte("criu"), 50000)
	keep := []byte("keep me")
	writeFile(t, root, dir+"/checkpoint-a.tar", del)
	writeFile(t, root, dir+"/checkpoint-b.tar", keep)
	req := testRequest()
	req.Containers = nil
	req.Checkpoints = []Checkpoint{
		{Container: "app", Path: dir + "/checkpoint-a.tar", Delete: true},
		{Container: "side", Path: dir + "/checkpoint-b.tar"},
		{Container: "gone", Path: dir + "/checkpoint-c.tar", Delete: true},
	}
	r := runSnap(t, Config{Request: req, HostRoot: root})
	if r.err == nil || !strings.Contains(r.err.Error(), "checkpoint/gone.tar") {
		t.Errorf("Run error %v, want one naming checkpoint/gone.tar", r.err)
	}
	sum := sha256.Sum256(del)
	if a := r.artByNm["checkpoint/app.tar"]; a.SHA256 != hex.EncodeToString(sum[:]) || !a.Verified() || a.DeclaredSHA256 != a.SHA256 {
		t.Errorf("checkpoint/app.tar: %+v", a)
	}
	if !bytes.Equal(r.read(t, "checkpoint/side.tar"), keep) {
		t.Error("checkpoint/side.tar differs")
	}
	if _, err := os.Stat(filepath.Join(root, dir, "checkpoint-a.tar")); !os.IsNotExist(err) {
		t.Errorf("checkpoint-a.tar still on the node: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, dir, "checkpoint-b.tar")); err != nil {
		t.Errorf("checkpoint-b.tar: %v", err)
	}
	cps := r.rep.Checkpoints
	if len(cps) != 3 || !cps[0].Deleted || cps[0].Bytes != int64(len(del)) || cps[1].Deleted || cps[1].DeleteRequested ||
		cps[2].Deleted || !strings.Contains(cps[2].Error, "kept on the node") {
		t.Errorf("checkpoints report %+v", cps)
	}
}

// TestCRIULogs: CRIU's log of a failed checkpoint is streamed byte for
// byte, kept on the node, and its "Error (" lines are in the report; a
// missing log is a report line and no failure of the session.
func TestCRIULogs(t *testing.T) {
	root := t.TempDir()
	log := "(00.002) Dumping task\n(00.010) Error (criu/sk-inet.c:191): inet: Can't dump a listening socket\n(00.011) Error (criu/cr-dump.c:1650): Dump files failed\n"
	p := "/run/ctr/k8s.io/abc/criu-dump.log"
	writeFile(t, root, p, []byte(log))
	req := testRequest()
	req.Containers = nil
	req.CRIULogs = []CRIULog{{Container: "app", Path: p}, {Container: "side", Path: "/run/ctr/k8s.io/gone/criu-dump.log"}}
	r := runSnap(t, Config{Request: req, HostRoot: root})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if got := string(r.read(t, "checkpoint/app.criu-dump.log")); got != log {
		t.Errorf("criu log %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, p)); err != nil {
		t.Errorf("the criu log is gone from the node: %v", err)
	}
	logs := r.rep.CRIULogs
	if len(logs) != 2 || len(logs[0].ErrorLines) != 2 || !strings.Contains(logs[0].ErrorLines[0], "listening socket") ||
		logs[1].Artifact != "" || !strings.Contains(logs[1].Error, "no such file") {
		t.Errorf("criu logs report %+v", logs)
	}
}
