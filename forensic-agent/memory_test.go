//go:build e2e && linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/memcore"
	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// procState is the one-letter state of every thread of pid: "t" if any
// is stopped by a tracer, "T" if any by a signal, else the main one's.
func procState(t *testing.T, pid int) string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	state := ""
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			continue
		}
		s := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))[0]
		if state == "" || s == "t" || s == "T" {
			state = s
		}
	}
	return state
}

// waitState polls until pid's state is (want true) or is not (want
// false) one of states.
func waitState(t *testing.T, pid int, want bool, states ...string) string {
	t.Helper()
	var s string
	for range 1000 {
		s = procState(t, pid)
		has := false
		for _, x := range states {
			has = has || s == x
		}
		if has == want {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d state %q: want in %v = %v", pid, s, states, want)
	return s
}

// TestAgentMemory dumps the target's memory and opens the core with gdb
// and the target's binary: every thread is there; the target serves
// requests afterwards and is not left stopped; the report says when the
// target was stopped and for how long.
func TestAgentMemory(t *testing.T) {
	requireE2E(t, "gdb", "readelf", "curl", "nsenter")
	tg := startTarget(t)
	curl(t, tg.pid, "/before-memory")
	ra := startAgent(t, nil, "run", "--wait-stdin=false", "--target-pid", strconv.Itoa(tg.pid),
		"--memory", "--memory-pid", strconv.Itoa(tg.pid))
	code, sum, err := ra.wait(t)
	verifiedAll(t, sum, err)
	if code != 0 {
		t.Fatalf("exit code %d:\n%s", code, ra.stderr)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", tg.pid))
	must(t, err)
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", tg.pid))
	core, rep := agent.MemoryArtifacts(tg.pid, strings.TrimSpace(string(comm)))
	var meta stream.Meta
	for _, a := range sum.Artifacts {
		if a.Name == core {
			meta = a.CloseMeta
		}
	}
	if meta == nil || meta["complete"] != true || meta["stopped_seconds"] == nil || meta["stopped"] == nil {
		t.Errorf("close metadata of %s: %v", core, meta)
	}
	var r memcore.Report
	readJSON(t, filepath.Join(ra.dir, rep), &r)
	if r.PID != tg.pid || !r.Complete || r.StoppedSeconds <= 0 || len(r.Threads) != len(tasks) {
		t.Errorf("report: pid %d complete %v stopped %vs, %d threads for %d tasks", r.PID, r.Complete, r.StoppedSeconds, len(r.Threads), len(tasks))
	}

	out, err := exec.Command("gdb", "-batch", "-nx", "-ex", "info threads", os.Args[0], filepath.Join(ra.dir, core)).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	lwps := regexp.MustCompile(`(?m)^[* ]\s*\d+\s+.*LWP (\d+)`).FindAllSubmatch(out, -1)
	if len(lwps) != len(tasks) {
		t.Errorf("gdb shows %d threads, /proc/%d/task has %d:\n%s", len(lwps), tg.pid, len(tasks), out)
	}
	t.Logf("gdb info threads:\n%s", out)
	if strings.Contains(string(out), "not in executable format") || strings.Contains(string(out), "is not a core dump") {
		t.Errorf("gdb did not take the core:\n%s", out)
	}
	out, err = exec.Command("readelf", "-n", filepath.Join(ra.dir, core)).CombinedOutput()
	must(t, err)
	for _, n := range []string{"NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE", "NT_SIGINFO"} {
		if !strings.Contains(string(out), n) {
			t.Errorf("readelf -n does not list %s", n)
		}
	}
	if s := procState(t, tg.pid); s == "t" || s == "T" {
		t.Errorf("target left stopped: state %s", s)
	}
	curl(t, tg.pid, "/after-memory")
}

// startGated starts the agent with its stdout in a pipe nobody reads yet:
// the agent blocks writing the core while the target is stopped.
func startGated(t *testing.T, pid int) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(agentBin, "run", "--wait-stdin=false", "--target-pid", strconv.Itoa(pid),
		"--memory", "--memory-pid", strconv.Itoa(pid))
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// TestAgentMemoryCtrlC: Ctrl-C while the target is stopped and its core
// half written: the target runs again, the stream ends with the core
// marked as failed and the agent exits 1.
func TestAgentMemoryCtrlC(t *testing.T) {
	requireE2E(t, "curl", "nsenter")
	tg := startTarget(t)
	cmd, out := startGated(t, tg.pid)
	waitState(t, tg.pid, true, "t")
	cmd.Process.Signal(syscall.SIGINT)
	sum, err := stream.Demux(bufio.NewReader(out), func(a *stream.Artifact) error { _, err := io.Copy(io.Discard, a); return err }, nil)
	if err != nil || !sum.Ended {
		t.Fatalf("demux: %v (ended %v)", err, sum != nil && sum.Ended)
	}
	werr := cmd.Wait()
	if ee, ok := werr.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("agent exit: %v, want status 1", werr)
	}
	errs := strings.Join(sum.AgentErrors(), "\n")
	if !strings.Contains(errs, "context canceled") || !strings.Contains(errs, "memory/") {
		t.Errorf("agent errors %q, want the core cut short", errs)
	}
	if s := waitState(t, tg.pid, false, "t", "T"); s == "" {
		t.Fatal("no state")
	}
	curl(t, tg.pid, "/after-ctrl-c")
}

// TestAgentMemoryKilled: the agent is killed (SIGKILL) while it holds the
// target stopped: the kernel lets the target run.
func TestAgentMemoryKilled(t *testing.T) {
	requireE2E(t, "curl", "nsenter")
	tg := startTarget(t)
	cmd, _ := startGated(t, tg.pid)
	waitState(t, tg.pid, true, "t")
	cmd.Process.Kill()
	cmd.Wait()
	waitState(t, tg.pid, false, "t", "T")
	curl(t, tg.pid, "/after-kill")
}
