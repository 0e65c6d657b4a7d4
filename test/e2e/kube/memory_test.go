//go:build e2e

package kubee2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/agent/memcore"
)

// MemtargetImage is test/images/memtarget alone in an image
// (test/k8s/images.d/memtarget.sh).
const MemtargetImage = "forensic-test/memtarget:1.0"

var (
	memBinOnce sync.Once
	memBin     string
	memBinErr  error
)

// memtargetBinary builds test/images/memtarget as the image hook does
// (-trimpath, symbols kept): the same file as in the image, for gdb.
func memtargetBinary(t *testing.T) string {
	t.Helper()
	memBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kube-e2e-memtarget-")
		if err != nil {
			memBinErr = err
			return
		}
		memBin = filepath.Join(dir, "memtarget")
		cmd := exec.Command("go", "build", "-trimpath", "-o", memBin, "./test/images/memtarget")
		cmd.Dir = "../../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			memBinErr = fmt.Errorf("building memtarget: %v\n%s", err, out)
		}
	})
	if memBinErr != nil {
		t.Fatal(memBinErr)
	}
	return memBin
}

// memPod is the target: memtarget as 65534:65534, non-root.
func memPod() *corev1.Pod {
	pod := NewPod("mem", corev1.Container{Name: "target", Image: MemtargetImage})
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}
	return pod
}

// memMarker waits for the target's marker in its log.
func memMarker(t *testing.T, e *Env, ns string) string {
	t.Helper()
	logs, err := e.WaitForLog(t.Context(), ns, "mem", "target", "marker ")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`marker (FORENSIC-MEMORY-MARKER-[0-9a-f]+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no marker in the log: %s", logs)
	}
	return m[1]
}

// memHostPID finds the target's process on this machine (the node): the
// memtarget process whose cgroup names the pod's UID.
func memHostPID(t *testing.T, uid string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	key := strings.ReplaceAll(uid, "-", "_")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if strings.TrimSpace(string(comm)) == "memtarget" && (strings.Contains(string(cg), uid) || strings.Contains(string(cg), key)) {
			return pid
		}
	}
	t.Fatalf("no memtarget process of pod %s on this node", uid)
	return 0
}

// memAnswers checks the target runs: not stopped, and its loopback
// listener answers from inside its network namespace.
func memAnswers(t *testing.T, pid int, path string) {
	t.Helper()
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			continue
		}
		if s := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))[0]; s == "t" || s == "T" {
			t.Errorf("thread %s of the target left stopped (state %s)", e.Name(), s)
		}
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "curl", "-sS", "--max-time", "5", "http://127.0.0.1:8080"+path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "memtarget answers "+path) {
		t.Errorf("target does not answer %s: %v: %s", path, err, out)
	}
}

// TestLiveCaptureMemory captures the memory of a distroless, non-root
// target through the ephemeral agent container: the core opens in gdb with
// the target's binary, every thread is there and the marker the target
// made at run time is read where grep finds it; custody says when the
// process was stopped and for how long; the target still answers.
func TestLiveCaptureMemory(t *testing.T) {
	t.Parallel()
	e := Require(t)
	for _, tool := range []string{"gdb", "readelf", "grep", "nsenter", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (test/run deps)", tool)
		}
	}
	bin := memtargetBinary(t)
	ns := e.Namespace(t)
	running := e.CreatePod(t, ns, memPod(), 2*time.Minute)
	marker := memMarker(t, e, ns)
	hostPID := memHostPID(t, string(running.UID))
	threads, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", hostPID))

	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/mem", "--memory", "--yes")
	b := kfOneBundle(t, dir, r, 0)
	core := filepath.Join(b.Root, "memory/1-memtarget.core")
	var rep memcore.Report
	raw, err := os.ReadFile(filepath.Join(b.Root, "memory/1-memtarget.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || rep.StoppedSeconds <= 0 {
		t.Errorf("report: complete %v, stopped %vs, errors %v", rep.Complete, rep.StoppedSeconds, rep.Errors)
	}
	out, err := exec.Command("gdb", "-batch", "-nx", "-ex", "info threads", bin, core).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	lwps := regexp.MustCompile(`(?m)^[* ]\s*\d+\s+(?:Thread \S+ \()?LWP (\d+)`).FindAllStringSubmatch(string(out), -1)
	if len(lwps) != len(rep.Threads) || len(lwps) < len(threads) {
		t.Errorf("gdb shows %d threads, the report %d, /proc/%d/task had %d:\n%s", len(lwps), len(rep.Threads), hostPID, len(threads), out)
	}
	if !strings.Contains(string(out), "runtime.") {
		t.Errorf("gdb resolved no Go symbol:\n%s", out)
	}
	// The marker, where grep finds it, through the PT_LOAD headers.
	grep, _ := exec.Command("grep", "-boa", marker, core).CombinedOutput()
	rl, err := exec.Command("readelf", "-lW", core).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf -l: %v", err)
	}
	var addrs []uint64
	for _, g := range strings.Fields(string(grep)) {
		off, err := strconv.ParseUint(strings.SplitN(g, ":", 2)[0], 10, 64)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(rl), "\n") {
			f := strings.Fields(l)
			if len(f) < 6 || f[0] != "LOAD" {
				continue
			}
			o, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
			v, _ := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
			n, _ := strconv.ParseUint(strings.TrimPrefix(f[4], "0x"), 16, 64)
			if off >= o && off < o+n {
				addrs = append(addrs, v+off-o)
			}
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("marker found in memory at %#x, want the heap and a goroutine's stack", addrs)
	}
	args := []string{"-batch", "-nx"}
	for _, a := range addrs {
		args = append(args, "-ex", fmt.Sprintf("x/s %#x", a))
	}
	out, _ = exec.Command("gdb", append(args, bin, core)...).CombinedOutput()
	if n := strings.Count(string(out), `"`+marker); n < len(addrs) {
		t.Errorf("gdb x/s printed the marker %d times for %d addresses:\n%s", n, len(addrs), out)
	}
	notes, err := exec.Command("readelf", "-n", core).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf -n: %v", err)
	}
	for _, n := range []string{"NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE", "NT_SIGINFO"} {
		if !strings.Contains(string(notes), n) {
			t.Errorf("readelf -n does not list %s", n)
		}
	}
	if got := b.JQ(t, "custody.json", `[.actions[] | select(.what == "stopped process to read its memory" and (.detail | contains("process 1 (memtarget)")) and .until > .at)] | length`); got != "1" {
		t.Errorf("custody lacks the stop with its times: %s", b.JQ(t, "custody.json", ".actions"))
	}
	if got := b.JQ(t, "agent/transfer.json", `.ephemeral_container.security_context.capabilities.add | index("SYS_PTRACE") != null`); got != "true" {
		t.Errorf("agent security context: %s", b.JQ(t, "agent/transfer.json", ".ephemeral_container.security_context"))
	}
	memAnswers(t, hostPID, "/after-memory")
}

// TestLiveCaptureMemoryBaseline: a namespace that enforces PodSecurity
// baseline forbids SYS_PTRACE: --memory is refused with the reason and the
// level that allows it, the processes are still captured, exit 2.
func TestLiveCaptureMemoryBaseline(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	liveEnforce(t, e, ns, "baseline")
	e.CreatePod(t, ns, memPod(), 2*time.Minute)
	memMarker(t, e, ns)
	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/mem", "--memory", "--processes", "--yes")
	reason := `namespace ` + ns + ` enforces PodSecurity "baseline", which forbids adding the SYS_PTRACE capability that reading process memory (ptrace) needs; PodSecurity level privileged allows it`
	if !strings.Contains(r.Stderr, reason) {
		t.Errorf("standard error lacks %q:\n%s", reason, r.Stderr)
	}
	b := kfOneBundle(t, dir, r, 2)
	if got := b.JQ(t, "manifest.json", `[.artifacts[] | select(.path | startswith("memory/")) | .error] | join("\n")`); !strings.Contains(got, reason) {
		t.Errorf("memory in the manifest: %q", got)
	}
	if got := b.JQ(t, "preflight.json", `[.checks[] | select(.step == "memory" or .step == "processes") | .step + ":" + .status] | join(",")`); got != "processes:ok,memory:cannot" {
		t.Errorf("preflight live rows: %s", got)
	}
	liveCheckTransfer(t, b, "proc/snapshot.json")
	if got := b.JQ(t, "proc/snapshot.json", `[.processes[] | select(.pid == 1 and .uids[0] == 65534)] | length`); got != "1" {
		t.Errorf("snapshot lacks the target as uid 65534: %s", b.JQ(t, "proc/snapshot.json", ".processes"))
	}
}
