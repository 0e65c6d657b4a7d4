//go:build linux

package memcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	// pnXNum is e_phnum's escape value: the real count is in the first
	// section header's sh_info (ELF gABI, "extended numbering").
	pnXNum = 0xffff
	// ntFile and ntSiginfo are the Linux note types debug/elf does not
	// name ("CORE" notes, include/uapi/linux/elf.h).
	ntFile    = 0x46494c45
	ntSiginfo = 0x53494749
	ntAuxv    = 6
)

// note is one ELF note of the core's PT_NOTE segment.
type note struct {
	name string
	typ  uint32
	desc []byte
}

func pad4(n int) int { return (n + 3) &^ 3 }

// size is the note's encoded size.
func (n note) size() int { return 12 + pad4(len(n.name)+1) + pad4(len(n.desc)) }

func (n note) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n.name)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n.desc)))
	b = binary.LittleEndian.AppendUint32(b, n.typ)
	name := make([]byte, pad4(len(n.name)+1))
	copy(name, n.name)
	b = append(b, name...)
	b = append(b, n.desc...)
	return append(b, make([]byte, pad4(len(n.desc))-len(n.desc))...)
}

// load is one PT_LOAD: a mapping, and how much of it the core holds.
type load struct {
	vaddr, memsz uint64
	flags        elf.ProgFlag
	// offset is where its data starts in the core; filesz is how many
	// bytes of it the core holds (0: none, the mapping is only listed).
	offset, filesz uint64
}

// layout is the core's shape, fixed before any memory is read: the ELF
// header, the program headers, the notes, then each load's data at its
// page-aligned offset.
type layout struct {
	notes []byte
	loads []load
	// noteOff is where the notes start; size is the whole file's size.
	noteOff, size uint64
}

// newLayout places the notes and the loads; filesz of each load must be
// set, offsets are filled in.
func newLayout(notes []note, loads []load, pageSize uint64) *layout {
	l := &layout{loads: loads}
	for _, n := range notes {
		l.notes = n.append(l.notes)
	}
	nph := uint64(len(loads) + 1)
	l.noteOff = ehdrSize + nph*phdrSize
	if nph >= pnXNum {
		l.noteOff += shdrSize
	}
	l.size = l.noteOff + uint64(len(l.notes))
	off := align(l.size, pageSize)
	for i := range l.loads {
		l.loads[i].offset = off
		if l.loads[i].filesz > 0 {
			l.size = off + l.loads[i].filesz
			off = align(l.size, pageSize)
		}
	}
	return l
}

func align(n, a uint64) uint64 { return (n + a - 1) / a * a }

// header encodes the ELF header, the program headers and the notes: the
// first noteOff+len(notes) bytes of the core.
func (l *layout) header() []byte {
	var b bytes.Buffer
	nph := len(l.loads) + 1
	phnum := uint16(nph)
	var shoff uint64
	var shnum uint16
	if nph >= pnXNum {
		phnum, shoff, shnum = pnXNum, uint64(ehdrSize+nph*phdrSize), 1
	}
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(elf.ELFOSABI_NONE)}
	binary.Write(&b, binary.LittleEndian, elf.Header64{
		Ident: ident, Type: uint16(elf.ET_CORE), Machine: uint16(elfMachine), Version: uint32(elf.EV_CURRENT),
		Phoff: ehdrSize, Shoff: shoff, Ehsize: ehdrSize, Phentsize: phdrSize, Phnum: phnum,
		Shentsize: shdrSize, Shnum: shnum,
	})
	binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_NOTE), Off: l.noteOff, Filesz: uint64(len(l.notes)), Align: 4})
	for _, ld := range l.loads {
		binary.Write(&b, binary.LittleEndian, elf.Prog64{
			Type: uint32(elf.PT_LOAD), Flags: uint32(ld.flags), Off: ld.offset, Vaddr: ld.vaddr,
			Filesz: ld.filesz, Memsz: ld.memsz, Align: 0x1000,
		})
	}
	if shnum == 1 {
		binary.Write(&b, binary.LittleEndian, elf.Section64{Info: uint32(nph)})
	}
	b.Write(l.notes)
	return b.Bytes()
}

// offsetWriter counts what was written, so that the data of each load
// lands at its offset.
type offsetWriter struct {
	w   io.Writer
	off uint64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.off += uint64(n)
	if err != nil {
		return n, fmt.Errorf("writing the core: %w", err)
	}
	return n, nil
}

var zeros [64 << 10]byte

// padTo writes zeros up to offset off.
func (o *offsetWriter) padTo(off uint64) error {
	for o.off < off {
		n := min(off-o.off, uint64(len(zeros)))
		if _, err := o.Write(zeros[:n]); err != nil {
			return err
		}
	}
	return nil
}
