//go:build linux

package memcore

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options say which process to dump and how.
type Options struct {
	// ProcRoot is the proc filesystem; empty means "/proc".
	ProcRoot string
	// PID is the process, as ProcRoot numbers it.
	PID int
	// SkipFileBacked leaves out the data of file mappings that cannot
	// have changed: not writable, and no page copied on write (smaps
	// "Anonymous: 0 kB"). They keep their PT_LOAD with no data and are
	// listed in NT_FILE, so gdb reads them from the file.
	SkipFileBacked bool
	// MaxBytes bounds the memory data of the core; 0 means no limit, a
	// negative value no data at all (a budget already spent). Past it
	// the mappings keep their PT_LOAD without data and the report says
	// Truncated.
	MaxBytes int64
	// StopTimeout bounds the wait for each thread to stop; 0 means 10s.
	StopTimeout time.Duration
	// ChunkSize is how much memory is read and written at a time; 0
	// means 1 MiB. It is all the memory Dump holds.
	ChunkSize int
}

// Report says what a Dump read, left out and wrote: the artifact
// memory/<pid>-<comm>.json.
type Report struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	Exe  string `json:"exe,omitempty"`
	// Stopped is when the first thread was stopped, Resumed when the last
	// was let go; StoppedFor is the time between, as the target lived it.
	Stopped        time.Time `json:"stopped,omitzero"`
	Resumed        time.Time `json:"resumed,omitzero"`
	StoppedFor     string    `json:"stopped_for,omitempty"`
	StoppedSeconds float64   `json:"stopped_seconds"`
	Threads        []Thread  `json:"threads"`
	Mappings       []Mapping `json:"mappings"`
	// CoreBytes is the size of the core written; MemoryBytes the part of
	// it that is memory data.
	CoreBytes   int64 `json:"core_bytes"`
	MemoryBytes int64 `json:"memory_bytes"`
	// Complete is true when every mapping that was to be read was read
	// and written. Truncated says MaxBytes cut the core; Incomplete that
	// the dump stopped before the end (Errors say why: the process exited,
	// the session was stopped, the writer failed).
	Complete   bool     `json:"complete"`
	Truncated  bool     `json:"truncated,omitempty"`
	Incomplete bool     `json:"incomplete,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// Thread is one thread as it was stopped.
type Thread struct {
	TID int `json:"tid"`
	// Stop is how it stopped: interrupt (PTRACE_INTERRUPT), group-stop
	// (it was already stopped by a signal), signal (a signal was being
	// delivered; it is delivered on detach).
	Stop   string `json:"stop,omitempty"`
	Exited bool   `json:"exited,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Mapping is one line of /proc/PID/maps and what the core holds of it.
type Mapping struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Perms  string `json:"perms"`
	Offset string `json:"offset"`
	Dev    string `json:"dev"`
	Inode  uint64 `json:"inode"`
	Path   string `json:"path,omitempty"`
	// CoreOffset is where the mapping's data starts in the core, Bytes
	// how much of it the core holds (the PT_LOAD's p_filesz).
	CoreOffset uint64 `json:"core_offset"`
	Bytes      uint64 `json:"bytes"`
	// Skipped says why the core holds none (or, with Bytes > 0, not
	// all) of the mapping's data.
	Skipped string `json:"skipped,omitempty"`
	// Unreadable lists the pages that could not be read: the core holds
	// zeros there.
	Unreadable []Range `json:"unreadable,omitempty"`
}

// Range is an address range, end excluded.
type Range struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Error string `json:"error"`
}

// Reasons a mapping's data is left out.
const (
	SkipNoRead     = "no read permission (guard page or reserved address space)"
	SkipFileBacked = "unchanged read-only file mapping: its data is the file's (--memory-skip-file-backed)"
	SkipMaxBytes   = "over the size limit (--memory-max-bytes)"
	// SkipDontDump is a mapping the process excluded from core dumps
	// (madvise MADV_DONTDUMP, smaps VmFlags "dd"), such as the vDSO
	// getrandom state: the kernel's core dumps and gdb's gcore leave it
	// out too.
	SkipDontDump   = "excluded from core dumps by the process (MADV_DONTDUMP)"
	SkipNotReached = "not reached: the dump stopped before this mapping"
)

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// Skipped lists the mappings whose data the core does not hold in full.
func (r *Report) Skipped() []Mapping {
	var out []Mapping
	for _, m := range r.Mappings {
		if m.Skipped != "" || len(m.Unreadable) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// Dump stops every thread of o.PID, writes its ELF core to w and lets it
// run again, on every path. The report is never nil: it says what was
// written even when Dump fails. A failure to attach (no CAP_SYS_PTRACE,
// Yama) writes nothing. Canceling ctx stops the dump between two chunks;
// the core is then short and the report marked incomplete.
func Dump(ctx context.Context, w io.Writer, o Options) (*Report, error) {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 20
	}
	r := &Report{PID: o.PID, Threads: []Thread{}, Mappings: []Mapping{}}
	if prstatusSize == 0 {
		return r, fmt.Errorf("memory capture is not supported on %s", runtime.GOARCH)
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: see tracer.
		runtime.LockOSThread()
		done <- dump(ctx, w, o, r)
	}()
	err := <-done
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	r.Complete = err == nil && !r.Incomplete && !r.Truncated && len(r.Errors) == 0
	return r, err
}

func dump(ctx context.Context, w io.Writer, o Options, r *Report) (err error) {
	proc := filepath.Join(o.ProcRoot, strconv.Itoa(o.PID))
	comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
	r.Comm = string(trimNL(comm))
	r.Exe, _ = os.Readlink(filepath.Join(proc, "exe"))
	// Read before stopping, while the state is the target's own.
	pst, err := readStat(filepath.Join(proc, "stat"))
	if err != nil {
		return fmt.Errorf("reading process %d: %w", o.PID, err)
	}
	cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))

	t := &tracer{pid: o.PID, proc: proc}
	defer func() {
		for _, e := range t.detachAll() {
			r.Errors = append(r.Errors, e.Error())
		}
		if !t.stopped.IsZero() {
			r.Stopped, r.Resumed = t.stopped.UTC(), time.Now().UTC()
			d := r.Resumed.Sub(r.Stopped)
			r.StoppedFor, r.StoppedSeconds = d.String(), d.Seconds()
		}
		for _, th := range t.threads {
			r.Threads = append(r.Threads, Thread{TID: th.tid, Stop: th.kind, Exited: th.gone})
		}
	}()
	if err := t.stopAll(o.StopTimeout); err != nil {
		return err
	}

	b, err := os.ReadFile(filepath.Join(proc, "maps"))
	if err != nil {
		return fmt.Errorf("reading the mappings: %w", err)
	}
	maps, err := parseMaps(b)
	if err != nil {
		return err
	}
	sm, err := os.ReadFile(filepath.Join(proc, "smaps"))
	if err != nil {
		return fmt.Errorf("reading smaps: %w", err)
	}
	smaps := parseSmaps(sm)
	mem, err := unix.Open(filepath.Join(proc, "mem"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the memory: %w", err)
	}
	defer unix.Close(mem)

	pageSize := uint64(os.Getpagesize())
	loads := make([]load, len(maps))
	var budget uint64 = 1<<64 - 1
	if o.MaxBytes != 0 {
		budget = uint64(max(o.MaxBytes, 0))
	}
	probe := make([]byte, 1)
	for i, m := range maps {
		rm := Mapping{Start: hex(m.start), End: hex(m.end), Perms: m.perms, Offset: hex(m.offset), Dev: m.dev, Inode: m.inode, Path: m.path}
		ld := load{vaddr: m.start, memsz: m.end - m.start, flags: progFlags(m.perms)}
		switch {
		case m.perms[0] != 'r':
			rm.Skipped = SkipNoRead
		case smaps[m.start].dontDump:
			rm.Skipped = SkipDontDump
		case o.SkipFileBacked && m.file() && m.perms[1] != 'w' && smaps[m.start].anonKB == 0:
			rm.Skipped = SkipFileBacked
		default:
			if _, err := unix.Pread(mem, probe, int64(m.start)); err != nil {
				rm.Skipped = "unreadable: " + err.Error()
				break
			}
			ld.filesz = min(ld.memsz, budget)
			if ld.filesz < ld.memsz {
				ld.filesz -= ld.filesz % pageSize
				rm.Skipped = SkipMaxBytes
				r.Truncated = true
			}
			budget -= ld.filesz
		}
		loads[i] = ld
		r.Mappings = append(r.Mappings, rm)
	}

	notes, nerr := t.notes(proc, pst, cmdline, maps, pageSize)
	if nerr != nil {
		r.Errors = append(r.Errors, nerr.Error())
	}
	l := newLayout(notes, loads, pageSize)
	for i := range r.Mappings {
		r.Mappings[i].CoreOffset, r.Mappings[i].Bytes = loads[i].offset, loads[i].filesz
	}

	ow := &offsetWriter{w: w}
	defer func() { r.CoreBytes = int64(ow.off) }()
	if _, err := ow.Write(l.header()); err != nil {
		r.Incomplete = true
		return err
	}
	buf := make([]byte, o.ChunkSize)
	for i, ld := range l.loads {
		if ld.filesz == 0 {
			continue
		}
		if err := ow.padTo(ld.offset); err != nil {
			r.Incomplete = true
			return err
		}
		if err := copyMapping(ctx, ow, mem, ld, buf, pageSize, &r.Mappings[i], proc); err != nil {
			r.Incomplete = true
			for j := i + 1; j < len(l.loads); j++ {
				if l.loads[j].filesz > 0 {
					r.Mappings[j].Skipped = SkipNotReached
				}
			}
			return err
		}
		r.MemoryBytes += int64(ld.filesz)
	}
	return nil
}

// copyMapping streams one mapping's data, chunk by chunk. A chunk that
// cannot be read is read again page by page: the pages that fail are
// written as zeros and listed (a file mapping past the end of its file,
// device memory). A read that fails because the process is gone ends
// the dump.
func copyMapping(ctx context.Context, ow *offsetWriter, mem int, ld load, buf []byte, pageSize uint64, rm *Mapping, proc string) error {
	for off := uint64(0); off < ld.filesz; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped at %s: %w", hex(ld.vaddr+off), err)
		}
		n := min(uint64(len(buf)), ld.filesz-off)
		chunk := buf[:n]
		addr := ld.vaddr + off
		if err := preadFull(mem, chunk, addr); err != nil {
			if !alive(proc) {
				return fmt.Errorf("process exited while its memory was read, at %s: %w", hex(addr), err)
			}
			for p := uint64(0); p < n; p += pageSize {
				page := chunk[p:min(p+pageSize, n)]
				if err := preadFull(mem, page, addr+p); err != nil {
					clear(page)
					addRange(rm, addr+p, addr+p+uint64(len(page)), err)
				}
			}
			if !alive(proc) {
				return fmt.Errorf("process exited while its memory was read, at %s", hex(addr))
			}
		}
		if _, err := ow.Write(chunk); err != nil {
			return err
		}
		off += n
	}
	return nil
}

func preadFull(fd int, b []byte, addr uint64) error {
	for len(b) > 0 {
		n, err := unix.Pread(fd, b, int64(addr))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n == 0:
			return io.ErrUnexpectedEOF
		}
		b, addr = b[n:], addr+uint64(n)
	}
	return nil
}

// addRange lists an unreadable page, merged with the previous one when
// they touch and failed the same way.
func addRange(rm *Mapping, start, end uint64, err error) {
	if k := len(rm.Unreadable); k > 0 {
		last := &rm.Unreadable[k-1]
		if last.End == hex(start) && last.Error == err.Error() {
			last.End = hex(end)
			return
		}
	}
	rm.Unreadable = append(rm.Unreadable, Range{Start: hex(start), End: hex(end), Error: err.Error()})
}

// alive reports whether the process still has its memory: not gone, not
// a zombie.
func alive(proc string) bool {
	st, err := readStat(filepath.Join(proc, "stat"))
	return err == nil && st.state != "Z" && st.state != "X" && st.state != "x"
}

func progFlags(perms string) elf.ProgFlag {
	var f elf.ProgFlag
	if perms[0] == 'r' {
		f |= elf.PF_R
	}
	if perms[1] == 'w' {
		f |= elf.PF_W
	}
	if perms[2] == 'x' {
		f |= elf.PF_X
	}
	return f
}

// notes builds the PT_NOTE content in the kernel's order: the main
// thread's NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, its
// NT_FPREGSET, then NT_PRSTATUS and NT_FPREGSET of every other thread.
func (t *tracer) notes(proc string, pst stat, cmdline []byte, maps []mapping, pageSize uint64) ([]note, error) {
	var errs []error
	var perThread [][]note
	var siginfo []byte
	for i, th := range t.threads {
		if th.gone || !th.stopped {
			continue
		}
		gregs, err := getRegset(th.tid, uint32(elf.NT_PRSTATUS), make([]byte, gregsSize))
		if err != nil {
			errs = append(errs, fmt.Errorf("registers of thread %d: %w", th.tid, err))
			continue
		}
		fp, fperr := getRegset(th.tid, uint32(elf.NT_FPREGSET), make([]byte, fpregsSize))
		var si []byte
		if i == 0 {
			if si, err = getSiginfo(th.tid); err == nil {
				siginfo = si
			}
		}
		tproc := filepath.Join(proc, "task", strconv.Itoa(th.tid))
		tst, _ := readStat(filepath.Join(tproc, "stat"))
		ts := readStatus(filepath.Join(tproc, "status"))
		sig := int(th.sig)
		if si != nil {
			sig = int(int32(binary.LittleEndian.Uint32(si)))
		}
		ns := []note{{"CORE", uint32(elf.NT_PRSTATUS), prstatus(th.tid, tst, ts, sig, gregs, fperr == nil)}}
		if fperr == nil {
			ns = append(ns, note{"CORE", uint32(elf.NT_FPREGSET), fp})
		}
		perThread = append(perThread, ns)
	}
	if len(perThread) == 0 {
		return nil, errors.Join(append(errs, errors.New("no thread's registers could be read"))...)
	}
	out := []note{perThread[0][0], {"CORE", uint32(elf.NT_PRPSINFO), prpsinfo(t.pid, pst, readStatus(filepath.Join(proc, "status")), proc, cmdline)}}
	if siginfo != nil {
		out = append(out, note{"CORE", ntSiginfo, siginfo})
	}
	if auxv, err := os.ReadFile(filepath.Join(proc, "auxv")); err == nil {
		out = append(out, note{"CORE", ntAuxv, auxv})
	} else {
		errs = append(errs, fmt.Errorf("reading auxv: %w", err))
	}
	out = append(out, note{"CORE", ntFile, ntFileDesc(maps, pageSize)})
	out = append(out, perThread[0][1:]...)
	for _, ns := range perThread[1:] {
		out = append(out, ns...)
	}
	return out, errors.Join(errs...)
}

var le = binary.LittleEndian

// prstatus encodes struct elf_prstatus (64-bit): elf_siginfo, cursig,
// pending and blocked signals, ids, times, registers, fpvalid.
func prstatus(tid int, st stat, ss status, sig int, gregs []byte, fpvalid bool) []byte {
	b := make([]byte, prstatusSize)
	le.PutUint32(b[0:], uint32(sig))
	le.PutUint16(b[12:], uint16(sig))
	le.PutUint64(b[16:], ss.sigPnd)
	le.PutUint64(b[24:], ss.sigBlk)
	le.PutUint32(b[32:], uint32(tid))
	le.PutUint32(b[36:], uint32(st.ppid))
	le.PutUint32(b[40:], uint32(st.pgrp))
	le.PutUint32(b[44:], uint32(st.sid))
	for i, ticks := range []uint64{st.utime, st.stime, st.cutime, st.cstime} {
		// USER_HZ is 100 on every Linux architecture this supports.
		le.PutUint64(b[48+16*i:], ticks/100)
		le.PutUint64(b[56+16*i:], ticks%100*10000)
	}
	copy(b[112:112+gregsSize], gregs)
	if fpvalid {
		le.PutUint32(b[112+gregsSize:], 1)
	}
	return b
}

// prpsinfo encodes struct elf_prpsinfo (64-bit).
func prpsinfo(pid int, st stat, ss status, proc string, cmdline []byte) []byte {
	b := make([]byte, 136)
	if st.state != "" {
		b[1] = st.state[0]
		if i := strings.IndexByte("RSDTZW", st.state[0]); i >= 0 {
			b[0] = byte(i)
		}
		b[2] = boolByte(st.state == "Z")
	}
	b[3] = byte(int8(st.nice))
	le.PutUint64(b[8:], st.flags)
	le.PutUint32(b[16:], ss.uid)
	le.PutUint32(b[20:], ss.gid)
	le.PutUint32(b[24:], uint32(pid))
	le.PutUint32(b[28:], uint32(st.ppid))
	le.PutUint32(b[32:], uint32(st.pgrp))
	le.PutUint32(b[36:], uint32(st.sid))
	comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
	copy(b[40:55], trimNL(comm))
	args := strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
	copy(b[56:135], args)
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// ntFileDesc encodes NT_FILE: the count, the page size, (start, end,
// file offset in pages) per file mapping, then their names.
func ntFileDesc(maps []mapping, pageSize uint64) []byte {
	var files []mapping
	for _, m := range maps {
		if m.file() {
			files = append(files, m)
		}
	}
	b := le.AppendUint64(nil, uint64(len(files)))
	b = le.AppendUint64(b, pageSize)
	for _, m := range files {
		b = le.AppendUint64(b, m.start)
		b = le.AppendUint64(b, m.end)
		b = le.AppendUint64(b, m.offset/pageSize)
	}
	for _, m := range files {
		b = append(append(b, m.path...), 0)
	}
	return b
}
