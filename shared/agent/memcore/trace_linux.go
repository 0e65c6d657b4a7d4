//go:build linux

package memcore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tracer holds every thread of one process stopped. All its ptrace
// requests must come from the OS thread that attached (the kernel ties a
// tracee to the tracing thread, not to the process): Dump runs it on a
// goroutine locked to its thread.
//
// If the agent is killed while the threads are stopped (SIGKILL, the
// container removed, the node's OOM killer), nothing of the agent runs
// again, and nothing has to: when a tracer thread exits, the kernel
// detaches every tracee it holds (exit_ptrace), and a tracee that was
// seized and interrupted goes back to running (or to the group stop it
// was in before). TestKilledTracerLetsTargetRun checks that claim by
// killing a process that holds a target stopped. For the same reason Dump
// never unlocks its goroutine from the OS thread: that thread then ends
// with the goroutine, and anything it still traced is let go by the
// kernel.
type tracer struct {
	pid  int
	proc string // /proc/PID
	// threads in the order they were seized; the first is the process's
	// main thread when it still runs.
	threads []*thread
	// stopped is when the first thread was asked to stop.
	stopped time.Time
}

type thread struct {
	tid int
	// stopped is true while the thread is in a ptrace stop this tracer
	// can detach from.
	stopped bool
	// gone is true when the thread exited while seized.
	gone bool
	// sig is a signal the thread was about to receive when it stopped
	// (a signal-delivery stop); it is handed back on detach.
	sig unix.Signal
	// kind says how the thread stopped: interrupt, group-stop, signal.
	kind string
}

func ptrace(req, pid int, addr, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// tasks lists the thread ids of the process.
func (t *tracer) tasks() ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(t.proc, "task"))
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	// The main thread first: gdb takes the first NT_PRSTATUS as the
	// current thread.
	slices.SortFunc(tids, func(a, b int) int {
		switch {
		case a == t.pid:
			return -1
		case b == t.pid:
			return 1
		}
		return a - b
	})
	return tids, nil
}

// stopAll seizes and interrupts every thread, then lists the threads
// again until no new one appeared: a thread that was created while the
// others were being stopped is caught by the next round, and once all are
// stopped none can be created.
func (t *tracer) stopAll(timeout time.Duration) error {
	seen := map[int]bool{}
	for {
		tids, err := t.tasks()
		if err != nil {
			return fmt.Errorf("listing threads: %w", err)
		}
		var fresh []*thread
		for _, tid := range tids {
			if seen[tid] {
				continue
			}
			seen[tid] = true
			if err := ptrace(unix.PTRACE_SEIZE, tid, 0, 0); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // exited meanwhile
				}
				if errors.Is(err, unix.EPERM) {
					return fmt.Errorf("attaching to thread %d: %w: the agent needs CAP_SYS_PTRACE (docker: --cap-add SYS_PTRACE; kubernetes: a PodSecurity level that allows it) and a Yama ptrace_scope that allows attaching (%s)", tid, err, yamaScope())
				}
				return fmt.Errorf("attaching to thread %d: %w", tid, err)
			}
			th := &thread{tid: tid}
			t.threads = append(t.threads, th)
			if t.stopped.IsZero() {
				t.stopped = time.Now()
			}
			if err := ptrace(unix.PTRACE_INTERRUPT, tid, 0, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("interrupting thread %d: %w", tid, err)
			}
			fresh = append(fresh, th)
		}
		if len(fresh) == 0 {
			return nil
		}
		for _, th := range fresh {
			if err := t.waitStop(th, timeout); err != nil {
				return err
			}
		}
	}
}

// waitStop waits for th's stop, polling so that a thread stuck in the
// kernel (state D) cannot hold the agent forever.
func (t *tracer) waitStop(th *thread, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	sleep := 50 * time.Microsecond
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(th.tid, &ws, unix.WALL|unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			th.gone = true
			return nil
		case err != nil:
			return fmt.Errorf("waiting for thread %d to stop: %w", th.tid, err)
		case wpid == th.tid:
			switch {
			case ws.Exited() || ws.Signaled():
				th.gone = true
				return nil
			case ws.Stopped():
				th.stopped = true
				event := (uint32(ws) >> 16) & 0xff
				switch {
				case event == unix.PTRACE_EVENT_STOP && ws.StopSignal() == unix.SIGTRAP:
					th.kind = "interrupt"
				case event == unix.PTRACE_EVENT_STOP:
					th.kind = "group-stop"
				case event == 0:
					// A signal arrived first: keep it for detach,
					// which delivers it.
					th.kind, th.sig = "signal", ws.StopSignal()
				default:
					th.kind = "event"
				}
				return nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thread %d did not stop within %s (state %s): it may be blocked in the kernel", th.tid, timeout, taskState(t.proc, th.tid))
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 5*time.Millisecond)
	}
}

// detachAll lets every thread run again. A thread that was seized but
// has not stopped yet cannot be detached (the kernel answers ESRCH until
// it is in a ptrace stop): detachAll waits for it up to a bound, and past
// that the agent's exit lets it go (see tracer).
func (t *tracer) detachAll() []error {
	var errs []error
	for _, th := range t.threads {
		if th.gone {
			continue
		}
		if !th.stopped {
			if err := t.waitStop(th, 30*time.Second); err != nil {
				errs = append(errs, err)
				continue
			}
			if th.gone {
				continue
			}
		}
		err := ptrace(unix.PTRACE_DETACH, th.tid, 0, uintptr(th.sig))
		if err != nil {
			// Exited while stopped (SIGKILL): reap the traced zombie so
			// the real parent can.
			var ws unix.WaitStatus
			unix.Wait4(th.tid, &ws, unix.WALL|unix.WNOHANG, nil)
			if !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("detaching from thread %d: %w", th.tid, err))
			}
		}
		th.stopped = false
	}
	return errs
}

// getRegset reads one register set of a stopped thread into buf and
// returns the part the kernel filled.
func getRegset(tid int, typ uint32, buf []byte) ([]byte, error) {
	if len(buf) == 0 {
		return nil, unix.EINVAL
	}
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	if err := ptrace(unix.PTRACE_GETREGSET, tid, uintptr(typ), uintptr(unsafe.Pointer(&iov))); err != nil {
		return nil, err
	}
	return buf[:iov.Len], nil
}

// getSiginfo reads the siginfo of a stopped thread's stop (128 bytes).
func getSiginfo(tid int) ([]byte, error) {
	buf := make([]byte, 128)
	if err := ptrace(unix.PTRACE_GETSIGINFO, tid, 0, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return nil, err
	}
	return buf, nil
}

// yamaScope describes the Yama ptrace_scope setting, for error messages.
func yamaScope() string {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return "no Yama here"
	}
	return "kernel.yama.ptrace_scope is " + string(trimNL(b))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// taskState is the one-letter state of a thread, or "?".
func taskState(proc string, tid int) string {
	st, err := readStat(filepath.Join(proc, "task", strconv.Itoa(tid), "stat"))
	if err != nil {
		return "?"
	}
	return st.state
}
