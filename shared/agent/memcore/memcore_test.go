//go:build linux

package memcore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/internal/testutil"
	"golang.org/x/sys/unix"
)

// The test binary doubles as the target (MEMCORE_TEST_TARGET) and as a
// process that holds a target stopped (MEMCORE_TEST_HOLD=PID) or dumps it
// (MEMCORE_TEST_DUMP=PID).
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("MEMCORE_TEST_TARGET") == "1":
		runTarget()
		os.Exit(0)
	case os.Getenv("MEMCORE_TEST_HOLD") != "":
		pid, _ := strconv.Atoi(os.Getenv("MEMCORE_TEST_HOLD"))
		runtime.LockOSThread()
		t := &tracer{pid: pid, proc: filepath.Join("/proc", strconv.Itoa(pid))}
		if err := t.stopAll(10 * time.Second); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("HELD")
		select {}
	case os.Getenv("MEMCORE_TEST_DUMP") != "":
		pid, _ := strconv.Atoi(os.Getenv("MEMCORE_TEST_DUMP"))
		_, err := Dump(context.Background(), io.Discard, Options{PID: pid})
		fmt.Println("ERROR", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// keep holds the target's marker on the heap where the compiler cannot
// drop it.
var keep [][]byte

// runTarget is a process with a marker made at run time on its heap and
// on a thread's stack, a PROT_NONE guard region, a file mapping past the
// end of its file (pages that cannot be read), and several OS threads.
func runTarget() {
	var rnd [8]byte
	rand.Read(rnd[:])
	marker := fmt.Sprintf("MEMCORE-MARKER-%x", rnd)
	heap := []byte(marker)
	keep = append(keep, heap)
	guard, err := unix.Mmap(-1, 0, 16*4096, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(err)
	}
	f, err := os.CreateTemp("", "memcore-target-*")
	if err != nil {
		panic(err)
	}
	f.Write(bytes.Repeat([]byte("F"), 4096))
	past, err := unix.Mmap(int(f.Fd()), 0, 3*4096, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	os.Remove(f.Name())
	dd, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(err)
	}
	copy(dd, marker)
	if err := unix.Madvise(dd, unix.MADV_DONTDUMP); err != nil {
		panic(err)
	}
	stackAddr := make(chan uintptr)
	for i := range 3 {
		go func() {
			runtime.LockOSThread()
			var onStack [64]byte
			copy(onStack[:], marker)
			if i == 0 {
				stackAddr <- uintptr(unsafePointer(&onStack[0]))
			}
			for {
				time.Sleep(time.Millisecond * time.Duration(5+i))
				runtime.KeepAlive(&onStack)
			}
		}()
	}
	sa := <-stackAddr
	fmt.Printf("READY %s %#x %#x %#x %#x %#x\n", marker, uintptr(unsafePointer(&heap[0])), sa,
		uintptr(unsafePointer(&guard[0])), uintptr(unsafePointer(&past[0])), uintptr(unsafePointer(&dd[0])))
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(past)
}

type target struct {
	cmd                         *exec.Cmd
	stdin                       io.WriteCloser
	pid                         int
	marker                      string
	heap, stack, guard, pastEOF uint64
	dontDump                    uint64
}

func startTarget(t *testing.T) *target {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "MEMCORE_TEST_TARGET=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("target: %v", err)
	}
	tg := &target{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid}
	if _, err := fmt.Sscanf(line, "READY %s %v %v %v %v %v", &tg.marker, &tg.heap, &tg.stack, &tg.guard, &tg.pastEOF, &tg.dontDump); err != nil {
		t.Fatalf("target said %q: %v", line, err)
	}
	return tg
}

// state is the one-letter state of pid.
func state(t *testing.T, pid int) string {
	t.Helper()
	st, err := readStat(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	return st.state
}

// running checks that pid is not left stopped (t or T), polling briefly:
// a thread can take a moment to leave its stop.
func running(t *testing.T, pid int) {
	t.Helper()
	var s string
	for range 200 {
		s = "R"
		for _, tid := range tasksOf(t, pid) {
			st, err := readStat(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
			if err == nil && (st.state == "t" || st.state == "T") {
				s = st.state
			}
		}
		if s != "t" && s != "T" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d is still stopped (state %s)", pid, s)
}

func tasksOf(t *testing.T, pid int) []int {
	tr := &tracer{pid: pid, proc: fmt.Sprintf("/proc/%d", pid)}
	tids, err := tr.tasks()
	if err != nil {
		t.Fatal(err)
	}
	return tids
}

func dumpFile(t *testing.T, o Options) (string, *Report, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "core")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Dump(context.Background(), f, o)
	return path, r, err
}

// readAt reads n bytes at vaddr from the core through its PT_LOADs.
func readAt(f *elf.File, vaddr uint64, n int) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && vaddr >= p.Vaddr && vaddr+uint64(n) <= p.Vaddr+p.Filesz {
			b := make([]byte, n)
			_, err := p.ReadAt(b, int64(vaddr-p.Vaddr))
			return b, err
		}
	}
	return nil, fmt.Errorf("no PT_LOAD with data holds %#x", vaddr)
}

type elfNote struct {
	name string
	typ  uint32
	desc []byte
}

func parseNotes(t *testing.T, f *elf.File) []elfNote {
	t.Helper()
	var out []elfNote
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			t.Fatal(err)
		}
		for len(b) >= 12 {
			nsz, dsz, typ := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
			b = b[12:]
			name := string(bytes.TrimRight(b[:nsz], "\x00"))
			b = b[pad4(int(nsz)):]
			out = append(out, elfNote{name, typ, b[:dsz]})
			b = b[pad4(int(dsz)):]
		}
	}
	return out
}

// TestDumpIsACore dumps a live process and reads the result back with
// debug/elf and readelf: an ET_CORE for this machine, one NT_PRSTATUS per
// thread with its thread id, the other notes, one PT_LOAD per mapping, and
// the marker at its address on the heap and on a thread's stack. The
// process runs again afterwards.
func TestDumpIsACore(t *testing.T) {
	testutil.RequireRoot(t, "ptrace of a child is allowed for the same user, but the test also reads /proc/PID/mem like the agent does as root")
	tg := startTarget(t)
	// The Go runtime may start threads at any time (and ends none): the
	// threads before the dump must all be in the core, and the core's
	// must all be there after.
	before := tasksOf(t, tg.pid)
	path, r, err := dumpFile(t, Options{PID: tg.pid})
	if err != nil {
		t.Fatalf("Dump: %v (report errors %v)", err, r.Errors)
	}
	after := tasksOf(t, tg.pid)
	running(t, tg.pid)
	if !r.Complete || r.Incomplete || r.Truncated {
		t.Errorf("report complete=%v incomplete=%v truncated=%v, errors %v", r.Complete, r.Incomplete, r.Truncated, r.Errors)
	}
	if r.Stopped.IsZero() || r.StoppedSeconds <= 0 || r.Resumed.Before(r.Stopped) {
		t.Errorf("stop times: stopped %v resumed %v for %v", r.Stopped, r.Resumed, r.StoppedSeconds)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_CORE || f.Machine != elfMachine || f.Class != elf.ELFCLASS64 {
		t.Errorf("type %v machine %v class %v", f.Type, f.Machine, f.Class)
	}
	var loads int
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads++
		}
	}
	if loads != len(r.Mappings) || loads == 0 {
		t.Errorf("%d PT_LOAD for %d mappings", loads, len(r.Mappings))
	}
	notes := parseNotes(t, f)
	count := map[uint32]int{}
	var tids []int
	for _, n := range notes {
		if n.name != "CORE" {
			t.Errorf("note %#x named %q", n.typ, n.name)
		}
		count[n.typ]++
		if n.typ == uint32(elf.NT_PRSTATUS) {
			if len(n.desc) != prstatusSize {
				t.Errorf("NT_PRSTATUS of %d bytes, want %d", len(n.desc), prstatusSize)
			}
			tids = append(tids, int(binary.LittleEndian.Uint32(n.desc[32:])))
		}
	}
	if len(tids) == 0 || tids[0] != tg.pid || !subset(before, tids) || !subset(tids, after) {
		t.Errorf("NT_PRSTATUS for threads %v, the process had %v before and %v after (main thread first)", tids, before, after)
	}
	if len(r.Threads) != len(tids) {
		t.Errorf("report lists %d threads, the core %d", len(r.Threads), len(tids))
	}
	for _, typ := range []uint32{uint32(elf.NT_PRPSINFO), ntAuxv, ntFile, ntSiginfo} {
		if count[typ] != 1 {
			t.Errorf("%d notes of type %#x, want 1", count[typ], typ)
		}
	}
	if count[uint32(elf.NT_FPREGSET)] != len(tids) {
		t.Errorf("%d NT_FPREGSET for %d threads", count[uint32(elf.NT_FPREGSET)], len(tids))
	}
	for what, addr := range map[string]uint64{"heap": tg.heap, "stack": tg.stack} {
		b, err := readAt(f, addr, len(tg.marker))
		if err != nil || string(b) != tg.marker {
			t.Errorf("%s at %#x: %q, %v; want %q", what, addr, b, err, tg.marker)
		}
	}

	out, err := exec.Command("readelf", "-n", "-l", "-W", path).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf: %v\n%s", err, out)
	}
	for _, want := range []string{"Elf file type is CORE", "NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE", "NT_SIGINFO", "NT_FPREGSET", "NOTE", "LOAD"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("readelf -n -l does not show %s:\n%s", want, out)
		}
	}
	if n := bytes.Count(out, []byte("NT_PRSTATUS")); n != len(tids) {
		t.Errorf("readelf lists %d NT_PRSTATUS for %d threads", n, len(tids))
	}
}

func subset(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// TestUnreadableMappingsAreListed: a PROT_NONE guard region, [vvar] and
// file pages past the end of the file do not stop the dump; each is
// listed with why. A page the process marked MADV_DONTDUMP is left out
// and listed, as the kernel and gcore do.
func TestUnreadableMappingsAreListed(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	_, r, err := dumpFile(t, Options{PID: tg.pid})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	running(t, tg.pid)
	find := func(addr uint64) *Mapping {
		for i, m := range r.Mappings {
			s, _ := strconv.ParseUint(strings.TrimPrefix(m.Start, "0x"), 16, 64)
			e, _ := strconv.ParseUint(strings.TrimPrefix(m.End, "0x"), 16, 64)
			if addr >= s && addr < e {
				return &r.Mappings[i]
			}
		}
		t.Fatalf("no mapping holds %#x", addr)
		return nil
	}
	if g := find(tg.guard); g.Skipped != SkipNoRead || g.Bytes != 0 {
		t.Errorf("guard region: skipped %q, %d bytes", g.Skipped, g.Bytes)
	}
	if d := find(tg.dontDump); d.Skipped != SkipDontDump || d.Bytes != 0 {
		t.Errorf("MADV_DONTDUMP page: skipped %q, %d bytes", d.Skipped, d.Bytes)
	}
	p := find(tg.pastEOF)
	if p.Bytes != 3*4096 || len(p.Unreadable) != 1 || p.Unreadable[0].Start != hex(tg.pastEOF+4096) || p.Unreadable[0].End != hex(tg.pastEOF+3*4096) {
		t.Errorf("file mapping past EOF: %d bytes, unreadable %+v; want pages 2 and 3 listed", p.Bytes, p.Unreadable)
	}
	var vvar bool
	for _, m := range r.Mappings {
		if m.Path == "[vvar]" {
			vvar = true
			// The kernel marks it do-not-dump, and it cannot be read.
			if !strings.HasPrefix(m.Skipped, "unreadable: ") && m.Skipped != SkipDontDump || m.Bytes != 0 {
				t.Errorf("[vvar]: skipped %q, %d bytes", m.Skipped, m.Bytes)
			}
		}
	}
	if !vvar {
		t.Log("no [vvar] mapping on this kernel")
	}
	if !r.Complete {
		t.Errorf("unreadable pages made the core incomplete: %v", r.Errors)
	}
}

// TestSkipFileBacked leaves out the executable's unchanged code and lists
// it; without the option the code is in the core.
func TestSkipFileBacked(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	for _, skip := range []bool{false, true} {
		_, r, err := dumpFile(t, Options{PID: tg.pid, SkipFileBacked: skip})
		if err != nil {
			t.Fatalf("Dump: %v", err)
		}
		var code *Mapping
		for i, m := range r.Mappings {
			if m.Path == r.Exe && m.Perms == "r-xp" {
				code = &r.Mappings[i]
			}
		}
		if code == nil {
			t.Fatalf("no r-xp mapping of %s in %+v", r.Exe, r.Mappings)
		}
		if skip && (code.Skipped != SkipFileBacked || code.Bytes != 0) || !skip && (code.Skipped != "" || code.Bytes == 0) {
			t.Errorf("skip=%v: code mapping skipped %q with %d bytes", skip, code.Skipped, code.Bytes)
		}
	}
	running(t, tg.pid)
}

// TestMaxBytesTruncates stops at the limit with a core that still parses
// and a report marked truncated.
func TestMaxBytesTruncates(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	const limit = 256 << 10
	path, r, err := dumpFile(t, Options{PID: tg.pid, MaxBytes: limit})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	running(t, tg.pid)
	if !r.Truncated || r.Complete || r.MemoryBytes > limit {
		t.Errorf("truncated=%v complete=%v memory bytes %d (limit %d)", r.Truncated, r.Complete, r.MemoryBytes, limit)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var data uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			data += p.Filesz
		}
	}
	fi, _ := os.Stat(path)
	if data > limit || uint64(r.CoreBytes) != uint64(fi.Size()) {
		t.Errorf("PT_LOAD data %d bytes (limit %d), core %d bytes, report says %d", data, limit, fi.Size(), r.CoreBytes)
	}
	var over int
	for _, m := range r.Mappings {
		if m.Skipped == SkipMaxBytes {
			over++
		}
	}
	if over == 0 {
		t.Error("no mapping is listed as over the limit")
	}
}

// cutWriter calls cut once more than after bytes went through it, and
// fails from then on when fail is set.
type cutWriter struct {
	w     io.Writer
	after int64
	n     int64
	once  sync.Once
	cut   func()
	fail  bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.n > c.after {
		c.once.Do(c.cut)
		if c.fail {
			return 0, errors.New("stream cut")
		}
	}
	c.n += int64(len(p))
	return c.w.Write(p)
}

// TestProcessExitsMidRead: the process is killed while its memory is
// read; the dump ends with the report incomplete and the error recorded.
func TestProcessExitsMidRead(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	cw := &cutWriter{w: io.Discard, after: 64 << 10, cut: func() { syscall.Kill(tg.pid, syscall.SIGKILL); time.Sleep(50 * time.Millisecond) }}
	done := make(chan struct{})
	var r *Report
	var err error
	go func() { r, err = Dump(context.Background(), cw, Options{PID: tg.pid, ChunkSize: 4096}); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Dump did not return after the process was killed")
	}
	if err == nil || !strings.Contains(err.Error(), "process exited") {
		t.Fatalf("Dump: %v, want the process exited", err)
	}
	if !r.Incomplete || r.Complete || len(r.Errors) == 0 {
		t.Errorf("incomplete=%v complete=%v errors %v", r.Incomplete, r.Complete, r.Errors)
	}
	ws, _ := tg.cmd.Process.Wait()
	if ws == nil || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("target ended with %v, want killed", ws)
	}
}

// TestStreamCutLetsTargetRun: the writer fails mid-core; Dump returns the
// error and the process runs again.
func TestStreamCutLetsTargetRun(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	var stopped string
	cw := &cutWriter{w: io.Discard, after: 64 << 10, fail: true, cut: func() { stopped = state(t, tg.pid) }}
	r, err := Dump(context.Background(), cw, Options{PID: tg.pid, ChunkSize: 4096})
	if err == nil || !strings.Contains(err.Error(), "stream cut") {
		t.Fatalf("Dump: %v, want the writer's error", err)
	}
	if stopped != "t" {
		t.Errorf("target state while the core was written: %q, want t (stopped by the tracer)", stopped)
	}
	if !r.Incomplete || r.Complete {
		t.Errorf("incomplete=%v complete=%v", r.Incomplete, r.Complete)
	}
	running(t, tg.pid)
}

// TestCancelLetsTargetRun: Ctrl-C (ctx canceled) mid-core; Dump stops,
// marks the report incomplete, and the process runs again.
func TestCancelLetsTargetRun(t *testing.T) {
	testutil.RequireRoot(t, "reads /proc/PID/mem like the agent")
	tg := startTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cw := &cutWriter{w: io.Discard, after: 64 << 10, cut: cancel}
	r, err := Dump(ctx, cw, Options{PID: tg.pid, ChunkSize: 4096})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dump: %v, want context.Canceled", err)
	}
	if !r.Incomplete || r.Complete || r.StoppedSeconds <= 0 {
		t.Errorf("incomplete=%v complete=%v stopped %vs", r.Incomplete, r.Complete, r.StoppedSeconds)
	}
	var notReached bool
	for _, m := range r.Mappings {
		notReached = notReached || m.Skipped == SkipNotReached
	}
	if !notReached {
		t.Error("no mapping is listed as not reached")
	}
	running(t, tg.pid)
}

// TestKilledTracerLetsTargetRun checks what tracer's comment claims: a
// process that holds a target stopped (seized and interrupted) is killed,
// and the kernel lets the target run.
func TestKilledTracerLetsTargetRun(t *testing.T) {
	testutil.RequireRoot(t, "another process attaches to the target")
	tg := startTarget(t)
	holder := exec.Command(os.Args[0])
	holder.Env = append(os.Environ(), "MEMCORE_TEST_HOLD="+strconv.Itoa(tg.pid))
	out, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "HELD\n" {
		t.Fatalf("holder said %q", line)
	}
	for _, tid := range tasksOf(t, tg.pid) {
		if s := taskState(fmt.Sprintf("/proc/%d", tg.pid), tid); s != "t" {
			t.Fatalf("thread %d is %q while held, want t", tid, s)
		}
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	running(t, tg.pid)
	// And it really runs: it still reads its stdin and exits at its end.
	tg.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- tg.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("target: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("target did not exit at the end of its stdin")
	}
}

// TestNoPtracePermission: without CAP_SYS_PTRACE (here: another user),
// one line names what is missing and nothing is written.
func TestNoPtracePermission(t *testing.T) {
	testutil.RequireRoot(t, "runs the dump as user 65534")
	tg := startTarget(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "memcore.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "MEMCORE_TEST_DUMP="+strconv.Itoa(tg.pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !bytes.Contains(out, []byte("CAP_SYS_PTRACE")) || !bytes.Contains(out, []byte("operation not permitted")) || bytes.Count(out, []byte("\n")) != 1 {
		t.Errorf("dump as another user said %q, want one line naming CAP_SYS_PTRACE", out)
	}
	running(t, tg.pid)
}
