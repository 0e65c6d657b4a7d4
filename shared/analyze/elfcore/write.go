package elfcore

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Process describes one process to write as a core.
type Process struct {
	PID, PPID, PGID, SID int
	UID, GID             uint32
	Comm                 string
	// Args is the command line, joined with spaces.
	Args    string
	Threads []ThreadRegs
	// Auxv is the auxiliary vector, as pairs of words.
	Auxv     []uint64
	Mappings []Mapping
	// Memory reads the process's memory at a virtual address; an error
	// leaves the rest of the page zero.
	Memory func(p []byte, addr uint64) (int, error)
}

// ThreadRegs is one thread with its x86-64 general registers in the
// kernel's user_regs_struct order (r15, r14, r13, r12, rbp, rbx, r11,
// r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp,
// ss, fs_base, gs_base, ds, es, fs, gs).
type ThreadRegs struct {
	TID  int
	Regs [27]uint64
}

// writeChunk is the buffer memory is copied through.
const writeChunk = 1 << 20

// Write writes p as an x86-64 ELF core to w. Mappings without read
// permission, and [vvar] and [vsyscall], get no file bytes (gdb reads
// them as zeros, as the kernel's cores do); the others are written whole,
// with the pages Memory cannot read left zero. w's holes stay sparse.
func Write(w io.WriterAt, p *Process) error {
	le := binary.LittleEndian
	var loads []Mapping
	for _, m := range p.Mappings {
		if m.End > m.Start {
			loads = append(loads, m)
		}
	}
	if len(loads)+1 > 0xfffe {
		return fmt.Errorf("%d mappings: more than an ELF core without extended numbering holds", len(loads))
	}
	notes := p.notes()
	phnum := 1 + len(loads)
	noteOff := int64(64 + 56*phnum)
	dataOff := (noteOff + int64(len(notes)) + 4095) &^ 4095
	hdr := make([]byte, 64)
	copy(hdr, elf.ELFMAG)
	hdr[4], hdr[5], hdr[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(hdr[16:], uint16(elf.ET_CORE))
	le.PutUint16(hdr[18:], uint16(elf.EM_X86_64))
	le.PutUint32(hdr[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(hdr[32:], 64)
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], 56)
	le.PutUint16(hdr[56:], uint16(phnum))
	ph := make([]byte, 56*phnum)
	le.PutUint32(ph, uint32(elf.PT_NOTE))
	le.PutUint64(ph[8:], uint64(noteOff))
	le.PutUint64(ph[32:], uint64(len(notes)))
	le.PutUint64(ph[48:], 4)
	off := dataOff
	type place struct {
		m   Mapping
		off int64
		sz  uint64
	}
	var places []place
	for i, m := range loads {
		e := ph[56*(i+1):]
		var flags elf.ProgFlag
		if strings.Contains(m.Perms, "r") {
			flags |= elf.PF_R
		}
		if strings.Contains(m.Perms, "w") {
			flags |= elf.PF_W
		}
		if strings.Contains(m.Perms, "x") {
			flags |= elf.PF_X
		}
		size := m.End - m.Start
		filesz := size
		if flags&elf.PF_R == 0 || m.File == "[vvar]" || m.File == "[vsyscall]" {
			filesz = 0
		}
		le.PutUint32(e, uint32(elf.PT_LOAD))
		le.PutUint32(e[4:], uint32(flags))
		le.PutUint64(e[8:], uint64(off))
		le.PutUint64(e[16:], m.Start)
		le.PutUint64(e[32:], filesz)
		le.PutUint64(e[40:], size)
		le.PutUint64(e[48:], 4096)
		places = append(places, place{m, off, filesz})
		off += int64(filesz)
	}
	for _, b := range []struct {
		at int64
		b  []byte
	}{{0, hdr}, {64, ph}, {noteOff, notes}} {
		if _, err := w.WriteAt(b.b, b.at); err != nil {
			return err
		}
	}
	buf := make([]byte, writeChunk)
	for _, pl := range places {
		for done := uint64(0); done < pl.sz; {
			n := min(uint64(len(buf)), pl.sz-done)
			chunk := buf[:n]
			clear(chunk)
			got := 0
			if p.Memory != nil {
				// Pages the checkpoint lacks stay zero; skip to the next page.
				for got < len(chunk) {
					k, err := p.Memory(chunk[got:], pl.m.Start+done+uint64(got))
					got += k
					if err != nil {
						got = (got + 4096) &^ 4095
					}
				}
			}
			if !allZero(chunk) {
				if _, err := w.WriteAt(chunk, pl.off+int64(done)); err != nil {
					return err
				}
			}
			done += n
		}
	}
	// Holes at the end are not written: the file is made as long as its
	// segments say.
	if t, ok := w.(interface{ Truncate(int64) error }); ok {
		return t.Truncate(off)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func note(out []byte, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	var h [12]byte
	le.PutUint32(h[:], 5)
	le.PutUint32(h[4:], uint32(len(desc)))
	le.PutUint32(h[8:], typ)
	out = append(out, h[:]...)
	out = append(out, "CORE\x00\x00\x00\x00"...)
	out = append(out, desc...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

func (p *Process) notes() []byte {
	le := binary.LittleEndian
	var out []byte
	// NT_PRPSINFO first, then the threads (the main one first), as the kernel writes them.
	ps := make([]byte, 136)
	ps[1] = 'R'
	le.PutUint32(ps[16:], p.UID)
	le.PutUint32(ps[20:], p.GID)
	le.PutUint32(ps[24:], uint32(p.PID))
	le.PutUint32(ps[28:], uint32(p.PPID))
	le.PutUint32(ps[32:], uint32(p.PGID))
	le.PutUint32(ps[36:], uint32(p.SID))
	copy(ps[40:55], p.Comm)
	copy(ps[56:135], p.Args)
	threads := append([]ThreadRegs(nil), p.Threads...)
	for i, t := range threads {
		if t.TID == p.PID && i > 0 {
			threads[0], threads[i] = threads[i], threads[0]
		}
	}
	for i, t := range threads {
		st := make([]byte, 336)
		le.PutUint32(st[32:], uint32(t.TID))
		le.PutUint32(st[36:], uint32(p.PPID))
		le.PutUint32(st[40:], uint32(p.PGID))
		le.PutUint32(st[44:], uint32(p.SID))
		for j, r := range t.Regs {
			le.PutUint64(st[112+8*j:], r)
		}
		out = note(out, ntPRStatus, st)
		if i == 0 {
			out = note(out, ntPRPSInfo, ps)
			if len(p.Auxv) > 0 {
				av := make([]byte, 8*len(p.Auxv))
				for k, v := range p.Auxv {
					le.PutUint64(av[8*k:], v)
				}
				out = note(out, ntAuxv, av)
			}
			out = note(out, ntFile, p.fileNote())
		}
	}
	return out
}

func (p *Process) fileNote() []byte {
	le := binary.LittleEndian
	var ents, names []byte
	n := 0
	for _, m := range p.Mappings {
		if m.File == "" || strings.HasPrefix(m.File, "[") {
			continue
		}
		var e [24]byte
		le.PutUint64(e[:], m.Start)
		le.PutUint64(e[8:], m.End)
		le.PutUint64(e[16:], m.Offset/4096)
		ents = append(ents, e[:]...)
		name := m.File
		if m.Deleted {
			name += " (deleted)"
		}
		names = append(append(names, name...), 0)
		n++
	}
	out := make([]byte, 16, 16+len(ents)+len(names))
	le.PutUint64(out, uint64(n))
	le.PutUint64(out[8:], 4096)
	return append(append(out, ents...), names...)
}

// ErrNoThreads is returned by callers that have no registers to write.
var ErrNoThreads = errors.New("no thread registers")
