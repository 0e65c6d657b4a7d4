//go:build e2e

package docker_e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/memcore"
)

// memImage is the memory-capture target: test/images/memtarget, static,
// alone in an image that runs it as user 65534.
const memImage = "forensic-test/memtarget:1.0"

var (
	memOnce   sync.Once
	memBinary string
	memErr    error
)

// memTarget builds the image once and starts a container of it (args go
// before the image, extra after it), and returns the container's name,
// its host pid and the marker it made.
func memTarget(t *testing.T, extra ...string) (name string, pid int, marker string) {
	t.Helper()
	memOnce.Do(func() {
		dir, err := os.MkdirTemp("", "forensic-e2e-memtarget-")
		if err != nil {
			memErr = err
			return
		}
		memBinary = filepath.Join(dir, "memtarget")
		build := exec.Command("go", "build", "-o", memBinary, "./test/images/memtarget")
		build.Dir = repoRoot
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			memErr = fmt.Errorf("building memtarget: %v\n%s", err, out)
			return
		}
		memErr = importDir(dir, memImage, `ENTRYPOINT ["/memtarget"]`, "USER 65534:65534")
	})
	if memErr != nil {
		t.Fatal(memErr)
	}
	for _, tool := range []string{"gdb", "readelf", "curl", "nsenter", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (test/run deps installs gdb and binutils)", tool)
		}
	}
	name = startContainer(t, append([]string{memImage}, extra...)...)
	waitLog(t, name, "marker ")
	logs := mustDocker(t, "logs", name)
	m := regexp.MustCompile(`marker (FORENSIC-MEMORY-MARKER-[0-9a-f]+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no marker in the logs: %s", logs)
	}
	pid, err := strconv.Atoi(mustDocker(t, "inspect", "-f", "{{.State.Pid}}", name))
	if err != nil {
		t.Fatal(err)
	}
	if u := mustDocker(t, "inspect", "-f", "{{.Config.User}}", name); u != "65534:65534" {
		t.Fatalf("target runs as %q, want 65534:65534", u)
	}
	return name, pid, m[1]
}

// nsThreads returns the thread ids of host pid as its own process
// namespace numbers them (NSpid), as the agent and the core see them.
func nsThreads(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, e.Name()))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
				id, _ := strconv.Atoi(f[len(f)-1])
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// hostState is "t" or "T" when any thread of pid is stopped, else the
// main thread's state.
func hostState(t *testing.T, pid int) string {
	t.Helper()
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	state := "?"
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			continue
		}
		s := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0]
		if state == "?" || s == "t" || s == "T" {
			state = s
		}
	}
	return state
}

// answers checks that the target still runs: its state is not stopped
// and its loopback listener answers a request from its own network
// namespace.
func answers(t *testing.T, pid int, path string) {
	t.Helper()
	if s := hostState(t, pid); s == "t" || s == "T" {
		t.Errorf("target left stopped: state %s", s)
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "curl", "-sS", "--max-time", "5", "http://127.0.0.1:8080"+path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "memtarget answers "+path) {
		t.Errorf("target does not answer %s: %v: %s", path, err, out)
	}
}

// loads are the PT_LOAD headers as readelf -lW prints them.
type loadHdr struct{ off, vaddr, filesz, memsz uint64 }

func readLoads(t *testing.T, core string) []loadHdr {
	t.Helper()
	out, err := exec.Command("readelf", "-lW", core).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf -l %s: %v\n%s", core, err, out)
	}
	var ls []loadHdr
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || f[0] != "LOAD" {
			continue
		}
		var h loadHdr
		for i, p := range []*uint64{&h.off, &h.vaddr, nil, &h.filesz, &h.memsz} {
			if p != nil {
				*p, _ = strconv.ParseUint(strings.TrimPrefix(f[1+i], "0x"), 16, 64)
			}
		}
		ls = append(ls, h)
	}
	return ls
}

// TestMemoryDistroless captures the memory of a distroless target running
// as user 65534 through the sidecar, and reads the core with gdb and the
// target's binary: every thread, and the marker the target made at run
// time at the addresses where grep finds it in the core. The target
// answers afterwards, and custody says when and how long it was stopped.
func TestMemoryDistroless(t *testing.T) {
	name, pid, marker := memTarget(t)
	before := nsThreads(t, pid)
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--memory", "-o", "mem.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("export --memory: exit %d", r.code)
	}
	after := nsThreads(t, pid)
	answers(t, pid, "/after-memory")
	root := extract(t, filepath.Join(dir, "mem.tar.gz"))
	sha256sumCheck(t, root)
	core := filepath.Join(root, "memory/1-memtarget.core")
	var rep memcore.Report
	readJSON(t, filepath.Join(root, "memory/1-memtarget.json"), &rep)
	if !rep.Complete || rep.PID != 1 || rep.StoppedSeconds <= 0 || rep.Stopped.IsZero() {
		t.Errorf("report: complete %v pid %d stopped %v for %vs", rep.Complete, rep.PID, rep.Stopped, rep.StoppedSeconds)
	}

	// gdb with the target's binary: every thread.
	out, err := exec.Command("gdb", "-batch", "-nx", "-ex", "info threads", memBinary, core).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	t.Logf("gdb info threads:\n%s", out)
	var lwps []int
	for _, m := range regexp.MustCompile(`(?m)^[* ]\s*\d+\s+(?:Thread \S+ \()?LWP (\d+)`).FindAllStringSubmatch(string(out), -1) {
		id, _ := strconv.Atoi(m[1])
		lwps = append(lwps, id)
	}
	slices.Sort(lwps)
	for _, id := range before {
		if !slices.Contains(lwps, id) {
			t.Errorf("gdb lacks thread %d: shows %v, /proc/%d/task had %v before and %v after", id, lwps, pid, before, after)
		}
	}
	for _, id := range lwps {
		if !slices.Contains(after, id) {
			t.Errorf("gdb shows thread %d that /proc/%d/task does not have (%v)", id, pid, after)
		}
	}
	if len(lwps) != len(rep.Threads) {
		t.Errorf("gdb shows %d threads, the report lists %d", len(lwps), len(rep.Threads))
	}
	if !strings.Contains(string(out), "main.") && !strings.Contains(string(out), "runtime.") {
		t.Errorf("gdb resolved no Go symbol in the threads' frames")
	}

	// The marker: where grep finds it in the core, mapped back to an
	// address through the PT_LOAD headers, gdb reads it.
	out, _ = exec.Command("grep", "-boa", marker, core).CombinedOutput()
	loads := readLoads(t, core)
	var addrs []uint64
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		off, err := strconv.ParseUint(strings.SplitN(l, ":", 2)[0], 10, 64)
		if err != nil {
			continue
		}
		for _, h := range loads {
			if off >= h.off && off < h.off+h.filesz {
				addrs = append(addrs, h.vaddr+off-h.off)
			}
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("marker %s found in memory at %#x, want it on the heap and on a goroutine's stack (grep: %s)", marker, addrs, out)
	}
	args := []string{"-batch", "-nx"}
	for _, a := range addrs {
		args = append(args, "-ex", fmt.Sprintf("x/s %#x", a))
	}
	out, err = exec.Command("gdb", append(args, memBinary, core)...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb x/s: %v\n%s", err, out)
	}
	for _, a := range addrs {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%#x[^:]*:\s+"%s`, a, marker)).Match(out) {
			t.Errorf("gdb x/s %#x does not print the marker:\n%s", a, out)
		}
	}

	out, err = exec.Command("readelf", "-n", core).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf -n: %v\n%s", err, out)
	}
	for _, n := range []string{"NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE", "NT_SIGINFO", "NT_FPREGSET"} {
		if !strings.Contains(string(out), n) {
			t.Errorf("readelf -n does not list %s", n)
		}
	}
	if n := strings.Count(string(out), "NT_PRSTATUS"); n != len(lwps) {
		t.Errorf("readelf lists %d NT_PRSTATUS, gdb %d threads", n, len(lwps))
	}

	custody := filepath.Join(root, "custody.json")
	if got := jq(t, custody, `[.actions[] | select(.what == "stopped process to read its memory" and (.detail | contains("process 1 (memtarget)")) and .until > .at)] | length`); got != "1" {
		t.Errorf("custody lacks the stop of process 1 with its times: %s", jq(t, custody, ".actions"))
	}
	if got := jq(t, filepath.Join(root, "manifest.json"), `[.artifacts[].path | select(startswith("memory/"))] | sort | join(",")`); got != "memory/1-memtarget.core,memory/1-memtarget.json" {
		t.Errorf("memory artifacts in the manifest: %s", got)
	}
}

// TestMemoryMatchesGcore is the oracle: gdb's own gcore of the same
// process maps the same address ranges as the agent's core, except the
// ranges the agent lists as skipped (here: unchanged file mappings with
// --memory-skip-file-backed, which gcore's default coredump_filter also
// leaves out, [vvar]).
//
// The two cores are taken one after the other, so they agree only if the
// process's mappings did not change in between: a Go program maps more
// heap or thread stacks while it starts up or grows (on a loaded machine
// that can still happen after its first log line). So the test waits for
// the target to serve, gdb saves /proc/PID/maps while it holds the process
// stopped for gcore, and the comparison is made only when those mappings
// are exactly the ones the agent recorded while it held the process
// stopped; otherwise both cores are taken again (the process changed, not
// a fault of either tool), at most three times.
func TestMemoryMatchesGcore(t *testing.T) {
	name, pid, _ := memTarget(t)
	answers(t, pid, "/before-memory")
	const attempts = 3
	for attempt := 1; ; attempt++ {
		changed := compareWithGcore(t, name, pid, attempt)
		if changed == "" {
			break
		}
		if attempt == attempts {
			t.Fatalf("the target's mappings changed between the agent's core and gcore %d times in a row; last time:\n%s", attempts, changed)
		}
		t.Logf("attempt %d: the target's mappings changed between the two cores, taking both again:\n%s", attempt, changed)
	}
	answers(t, pid, "/after-gcore")
}

// compareWithGcore takes the agent's core and gcore's of pid once. It
// returns how the process's mappings differ between the two (the agent's
// record against /proc/PID/maps read while gdb held the process), or, when
// they are the same, compares the cores' PT_LOAD ranges and returns "".
func compareWithGcore(t *testing.T, name string, pid, attempt int) string {
	t.Helper()
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--memory", "--memory-skip-file-backed", "-o", "mem.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("export --memory: exit %d", r.code)
	}
	gcore, gmaps := filepath.Join(dir, "gcore"), filepath.Join(dir, "gcore.maps")
	if out, err := exec.Command("gdb", "-p", strconv.Itoa(pid), "-batch", "-nx",
		"-ex", fmt.Sprintf("shell cat /proc/%d/maps > %s", pid, gmaps),
		"-ex", "gcore "+gcore).CombinedOutput(); err != nil {
		t.Fatalf("gcore: %v\n%s", err, out)
	}
	root := extract(t, filepath.Join(dir, "mem.tar.gz"))
	var rep memcore.Report
	readJSON(t, filepath.Join(root, "memory/1-memtarget.json"), &rep)

	// The process's mappings as each tool saw them while it was stopped.
	agentMaps, gdbMaps := map[string]bool{}, map[string]bool{}
	for _, m := range rep.Mappings {
		agentMaps[m.Start+"-"+m.End+" "+m.Perms+" "+m.Path] = true
	}
	b, err := os.ReadFile(gmaps)
	if err != nil || len(b) == 0 {
		t.Fatalf("gdb saved no /proc/%d/maps: %v", pid, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		s, e, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(s, 16, 64)
		end, _ := strconv.ParseUint(e, 16, 64)
		path := ""
		if len(f) > 5 {
			path = strings.Join(f[5:], " ")
		}
		gdbMaps[fmt.Sprintf("%#x-%#x %s %s", start, end, f[1], path)] = true
	}
	var changed []string
	for k := range agentMaps {
		if !gdbMaps[k] {
			changed = append(changed, "  agent only: "+k)
		}
	}
	for k := range gdbMaps {
		if !agentMaps[k] {
			changed = append(changed, "  gdb only:   "+k)
		}
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		return strings.Join(changed, "\n")
	}

	skipped := map[string]string{}
	for _, m := range rep.Skipped() {
		if m.Skipped != "" {
			skipped[m.Start+"-"+m.End] = m.Skipped
		}
	}
	rng := func(h loadHdr) string { return fmt.Sprintf("%#x-%#x", h.vaddr, h.vaddr+h.memsz) }
	ours, theirs := map[string]bool{}, map[string]bool{}
	for _, h := range readLoads(t, filepath.Join(root, "memory/1-memtarget.core")) {
		ours[rng(h)] = true
	}
	for _, h := range readLoads(t, gcore) {
		theirs[rng(h)] = true
	}
	os.Remove(gcore)
	for k := range theirs {
		if !ours[k] {
			t.Errorf("gcore maps %s, the agent's core does not", k)
		}
	}
	var onlyOurs []string
	for k := range ours {
		if !theirs[k] {
			onlyOurs = append(onlyOurs, k+" ("+skipped[k]+")")
			if skipped[k] == "" {
				t.Errorf("the agent's core maps %s with data, gcore does not map it", k)
			}
		}
	}
	t.Logf("attempt %d: the same %d mappings for both tools; %d ranges in both cores, only in the agent's core (skipped): %v", attempt, len(agentMaps), len(theirs), onlyOurs)
	if len(skipped) == 0 || len(theirs) == 0 {
		t.Errorf("nothing to compare: %d skipped, %d gcore ranges", len(skipped), len(theirs))
	}
	return ""
}

// TestMemoryInterrupt: Ctrl-C while the target is stopped and its core
// streams: the target runs again, the bundle is marked incomplete (exit
// 2), and custody still records the stop.
func TestMemoryInterrupt(t *testing.T) {
	name, pid, _ := memTarget(t, "-ballast", "400")
	dir := t.TempDir()
	cmd := exec.Command("docker", "forensic", "export", "--memory", "-o", "int.tar.gz", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	deadline := time.Now().Add(60 * time.Second)
	for hostState(t, pid) != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("the target was never seen stopped by the agent:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	t.Logf("stderr:\n%s", stderr.String())
	if code != 2 {
		t.Errorf("interrupted export: exit %d, want 2", code)
	}
	answers(t, pid, "/after-interrupt")
	root := extract(t, filepath.Join(dir, "int.tar.gz"))
	sha256sumCheck(t, root)
	if got := jq(t, filepath.Join(root, "manifest.json"), `.complete`); got != "false" {
		t.Errorf("complete = %s", got)
	}
	if got := jq(t, filepath.Join(root, "custody.json"), `[.actions[] | select(.what == "stopped process to read its memory")] | length`); got != "1" {
		t.Errorf("custody lacks the stop: %s", jq(t, filepath.Join(root, "custody.json"), ".actions"))
	}
}
