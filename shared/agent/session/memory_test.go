//go:build linux

package session

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/forensic-tools/forensic/internal/testutil"
	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// killAfter passes writes through and kills a process once more than n
// bytes went by.
type killAfter struct {
	w    io.Writer
	n    int
	pid  int
	once sync.Once
}

func (k *killAfter) Write(p []byte) (int, error) {
	if k.n -= len(p); k.n < 0 {
		k.once.Do(func() { syscall.Kill(k.pid, syscall.SIGKILL) })
	}
	return k.w.Write(p)
}

// TestMemoryGoesOn: the first process exits (killed) while its memory is
// read, and a named pid does not exist: both are recorded, and the other
// process's core still arrives complete.
func TestMemoryGoesOn(t *testing.T) {
	testutil.RequireRoot(t, "the agent reads other processes' memory with ptrace")
	var pids []int
	for range 2 {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	o := agent.DefaultRunOptions()
	o.TargetPID, o.WaitStdin, o.Memory = pids[0], false, true
	o.MemoryPIDs = []int{pids[0], pids[1], 1 << 22}
	var out bytes.Buffer
	_, err := Run(context.Background(), &killAfter{w: &out, n: 64 << 10, pid: pids[0]}, Config{RunOptions: o})
	if err == nil {
		t.Fatal("no error for the killed process and the missing pid")
	}
	sum, derr := stream.Demux(&out, func(a *stream.Artifact) error { _, err := io.Copy(io.Discard, a); return err }, nil)
	if derr != nil {
		t.Fatal(derr)
	}
	res := map[string]stream.ArtifactResult{}
	for _, a := range sum.Artifacts {
		res[a.Name] = a
	}
	first, _ := agent.MemoryArtifacts(pids[0], "sleep")
	second, secondJSON := agent.MemoryArtifacts(pids[1], "sleep")
	if a := res[first]; !strings.Contains(a.AgentError, "process exited") || a.CloseMeta["incomplete"] != true {
		t.Errorf("%s: error %q, meta %v; want the exit recorded", first, a.AgentError, a.CloseMeta)
	}
	if a := res[second]; !a.Verified() || a.AgentError != "" || a.CloseMeta["complete"] != true {
		t.Errorf("%s: %+v; want it complete", second, a)
	}
	if _, ok := res[secondJSON]; !ok {
		t.Errorf("no %s", secondJSON)
	}
	if errs := strings.Join(sum.AgentErrors(), "\n"); !strings.Contains(errs, "process "+strconv.Itoa(1<<22)+": not found") {
		t.Errorf("agent errors %q lack the missing pid", errs)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pids[1])); err != nil {
		t.Errorf("the second process is gone: %v", err)
	}
}
