package elfcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Note types (linux/elf.h).
const (
	ntPRStatus = 1
	ntPRPSInfo = 3
	ntAuxv     = 6
	ntFile     = 0x46494c45

	atSysinfoEHdr = 33 // the vDSO's address in the auxiliary vector
	vsyscallAddr  = 0xffffffffff600000
)

// Limits on what Read keeps.
const (
	maxSegments = 1 << 16
	maxNotes    = 64 << 20
	maxThreads  = 1 << 14
	maxFiles    = 1 << 18
)

// Core is a process core.
type Core struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid,omitempty"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	// Comm and Args are NT_PRPSINFO's (the arguments are cut at 80 bytes
	// by the kernel).
	Comm     string    `json:"comm,omitempty"`
	Args     string    `json:"args,omitempty"`
	Threads  []Thread  `json:"threads"`
	Mappings []Mapping `json:"mappings"`
	// Problems say what could not be read.
	Problems []string `json:"problems,omitempty"`

	segs  []segment
	files []fileNote
	vdso  uint64
	r     io.ReaderAt
}

// Thread is one thread of the core.
type Thread struct {
	TID     int    `json:"tid"`
	IP      uint64 `json:"ip"`
	SP      uint64 `json:"sp"`
	Mapping string `json:"mapping,omitempty"`
}

// Mapping is one memory segment, with the file NT_FILE says is mapped there.
type Mapping struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
	Perms string `json:"perms"`
	File  string `json:"file,omitempty"`
	// Offset is the file offset mapped at Start.
	Offset uint64 `json:"offset,omitempty"`
	// Dumped is how many bytes of the mapping the core holds.
	Dumped  uint64 `json:"dumped"`
	Deleted bool   `json:"deleted,omitempty"`
}

type segment struct {
	vaddr, filesz, memsz uint64
	off                  int64
	flags                elf.ProgFlag
}

// Read reads the core in r, of the given size. An error is returned when
// it is not an ELF core at all; damage inside is in Core.Problems.
func Read(r io.ReaderAt, size int64) (*Core, error) {
	var ident [18]byte
	if _, err := r.ReadAt(ident[:], 0); err != nil {
		return nil, fmt.Errorf("reading the ELF header: %w", err)
	}
	if !IsCore(ident[:]) {
		return nil, errors.New("not an ELF core")
	}
	var phnum uint16
	var hdr [64]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("reading the ELF header: %w", err)
	}
	if elf.Class(hdr[4]) != elf.ELFCLASS64 || elf.Data(hdr[5]) != elf.ELFDATA2LSB {
		return nil, errors.New("only 64-bit little-endian cores are read")
	}
	le := binary.LittleEndian
	phoff := le.Uint64(hdr[32:])
	phentsize := le.Uint16(hdr[54:])
	phnum = le.Uint16(hdr[56:])
	if phentsize != 56 {
		return nil, fmt.Errorf("program header size %d, want 56", phentsize)
	}
	c := &Core{r: r}
	if phoff > uint64(size) || uint64(phnum)*56 > uint64(size)-phoff {
		return nil, fmt.Errorf("program headers (%d at %d) lie past the end of the file (%d bytes): truncated", phnum, phoff, size)
	}
	ph := make([]byte, int(phnum)*56)
	if _, err := r.ReadAt(ph, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading the program headers: %w", err)
	}
	var notes []byte
	for i := 0; i < int(phnum); i++ {
		p := ph[i*56:]
		typ := elf.ProgType(le.Uint32(p))
		s := segment{flags: elf.ProgFlag(le.Uint32(p[4:])), off: int64(le.Uint64(p[8:])), vaddr: le.Uint64(p[16:]),
			filesz: le.Uint64(p[32:]), memsz: le.Uint64(p[40:])}
		if s.off < 0 || uint64(s.off) > uint64(size) {
			c.problem("segment %d starts past the end of the file", i)
			continue
		}
		if s.filesz > uint64(size)-uint64(s.off) {
			c.problem("segment %d at %#x holds %d bytes but the file ends after %d: truncated", i, s.vaddr, s.filesz, uint64(size)-uint64(s.off))
			s.filesz = uint64(size) - uint64(s.off)
		}
		switch typ {
		case elf.PT_NOTE:
			if s.filesz > maxNotes || uint64(len(notes))+s.filesz > maxNotes {
				c.problem("notes larger than %d bytes are not read", maxNotes)
				continue
			}
			b := make([]byte, s.filesz)
			if _, err := r.ReadAt(b, s.off); err != nil && err != io.EOF {
				c.problem("reading the notes: %v", err)
				continue
			}
			notes = append(notes, b...)
			c.notes(b)
		case elf.PT_LOAD:
			if s.vaddr+s.memsz < s.vaddr {
				c.problem("segment %d at %#x wraps around the address space", i, s.vaddr)
				continue
			}
			if s.filesz > s.memsz {
				s.filesz = s.memsz
			}
			c.segs = append(c.segs, s)
		}
	}
	sort.SliceStable(c.segs, func(i, j int) bool { return c.segs[i].vaddr < c.segs[j].vaddr })
	out := c.segs[:0]
	for _, s := range c.segs {
		if len(out) > 0 && out[len(out)-1].vaddr+out[len(out)-1].memsz > s.vaddr {
			c.problem("segment at %#x overlaps the one before: dropped", s.vaddr)
			continue
		}
		out = append(out, s)
	}
	c.segs = out
	c.mappings()
	for i := range c.Threads {
		c.Threads[i].Mapping = c.MappingAt(c.Threads[i].IP)
	}
	return c, nil
}

// IsCore tells whether head starts an ELF core.
func IsCore(head []byte) bool {
	if len(head) < 18 || !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return false
	}
	var t uint16
	if head[5] == byte(elf.ELFDATA2MSB) {
		t = binary.BigEndian.Uint16(head[16:])
	} else {
		t = binary.LittleEndian.Uint16(head[16:])
	}
	return elf.Type(t) == elf.ET_CORE
}

func (c *Core) problem(format string, args ...any) {
	if len(c.Problems) < 100 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

type fileNote struct {
	start, end, off uint64
	name            string
}

// notes parses one PT_NOTE segment.
func (c *Core) notes(b []byte) {
	le := binary.LittleEndian
	for len(b) >= 12 {
		namesz, descsz, typ := uint64(le.Uint32(b)), uint64(le.Uint32(b[4:])), le.Uint32(b[8:])
		b = b[12:]
		nameEnd := (namesz + 3) &^ 3
		descEnd := (descsz + 3) &^ 3
		if nameEnd > uint64(len(b)) || descEnd > uint64(len(b))-nameEnd {
			c.problem("a note claims more bytes than its segment holds")
			return
		}
		desc := b[nameEnd : nameEnd+descsz]
		b = b[nameEnd+descEnd:]
		switch typ {
		case ntPRStatus:
			if len(desc) < 272 || len(c.Threads) >= maxThreads {
				continue
			}
			t := Thread{TID: int(int32(le.Uint32(desc[32:]))), IP: le.Uint64(desc[112+16*8:]), SP: le.Uint64(desc[112+19*8:])}
			if c.PPID == 0 && len(c.Threads) == 0 {
				c.PPID = int(int32(le.Uint32(desc[36:])))
			}
			c.Threads = append(c.Threads, t)
		case ntPRPSInfo:
			if len(desc) < 136 {
				continue
			}
			c.UID, c.GID = le.Uint32(desc[16:]), le.Uint32(desc[20:])
			c.PID, c.PPID = int(int32(le.Uint32(desc[24:]))), int(int32(le.Uint32(desc[28:])))
			c.Comm = cstr(desc[40:56])
			c.Args = strings.TrimSpace(cstr(desc[56:136]))
		case ntFile:
			c.fileNote(desc)
		case ntAuxv:
			for i := 0; i+16 <= len(desc); i += 16 {
				if le.Uint64(desc[i:]) == atSysinfoEHdr {
					c.vdso = le.Uint64(desc[i+8:])
				}
			}
		}
	}
}

func (c *Core) fileNote(d []byte) {
	le := binary.LittleEndian
	if len(d) < 16 {
		return
	}
	count, pageSize := le.Uint64(d), le.Uint64(d[8:])
	if count > maxFiles || count*24 > uint64(len(d))-16 {
		c.problem("NT_FILE claims %d files, more than it holds", count)
		return
	}
	names := strings.Split(string(d[16+count*24:]), "\x00")
	for i := uint64(0); i < count; i++ {
		e := d[16+i*24:]
		fn := fileNote{start: le.Uint64(e), end: le.Uint64(e[8:]), off: le.Uint64(e[16:]) * pageSize}
		if int(i) < len(names) {
			fn.name = names[i]
		}
		c.files = append(c.files, fn)
	}
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// mappings joins the segments with NT_FILE's names.
func (c *Core) mappings() {
	sort.Slice(c.files, func(i, j int) bool { return c.files[i].start < c.files[j].start })
	for _, s := range c.segs {
		m := Mapping{Start: s.vaddr, End: s.vaddr + s.memsz, Perms: permString(s.flags), Dumped: s.filesz}
		i := sort.Search(len(c.files), func(i int) bool { return c.files[i].end > s.vaddr })
		if i < len(c.files) && c.files[i].start <= s.vaddr {
			f := c.files[i]
			m.File, m.Offset = f.name, f.off+(s.vaddr-f.start)
			if strings.HasSuffix(m.File, " (deleted)") {
				m.File, m.Deleted = strings.TrimSuffix(m.File, " (deleted)"), true
			}
		}
		switch {
		case m.File == "" && c.vdso != 0 && m.Start <= c.vdso && c.vdso < m.End:
			m.File = "[vdso]"
		case m.File == "" && m.Start == vsyscallAddr:
			m.File = "[vsyscall]"
		}
		c.Mappings = append(c.Mappings, m)
	}
	// Files mapped but not dumped (gcore and the kernel leave out text
	// that is unchanged from the file) are mappings too, with no bytes.
	for _, f := range c.files {
		i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].vaddr+c.segs[i].memsz > f.start })
		if i < len(c.segs) && c.segs[i].vaddr < f.end {
			continue
		}
		m := Mapping{Start: f.start, End: f.end, Perms: "?", File: f.name, Offset: f.off}
		if strings.HasSuffix(m.File, " (deleted)") {
			m.File, m.Deleted = strings.TrimSuffix(m.File, " (deleted)"), true
		}
		c.Mappings = append(c.Mappings, m)
	}
	sort.Slice(c.Mappings, func(i, j int) bool { return c.Mappings[i].Start < c.Mappings[j].Start })
}

func permString(f elf.ProgFlag) string {
	b := []byte("---p")
	if f&elf.PF_R != 0 {
		b[0] = 'r'
	}
	if f&elf.PF_W != 0 {
		b[1] = 'w'
	}
	if f&elf.PF_X != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// MappingAt names the mapping holding addr.
func (c *Core) MappingAt(addr uint64) string {
	i := sort.Search(len(c.Mappings), func(i int) bool { return c.Mappings[i].End > addr })
	if i < len(c.Mappings) && c.Mappings[i].Start <= addr {
		m := c.Mappings[i]
		f := m.File
		if f == "" {
			f = "anonymous"
		}
		return f + " " + m.Perms
	}
	return ""
}

// ErrNotDumped is returned for addresses the core holds no bytes for.
var ErrNotDumped = errors.New("address not in the core")

// ReadAt reads memory at the virtual address addr.
func (c *Core) ReadAt(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].vaddr+c.segs[i].filesz > a })
		if i == len(c.segs) || c.segs[i].vaddr > a {
			return n, ErrNotDumped
		}
		s := c.segs[i]
		chunk := min(uint64(len(p)-n), s.vaddr+s.filesz-a)
		k, err := c.r.ReadAt(p[n:n+int(chunk)], s.off+int64(a-s.vaddr))
		n += k
		if err != nil && !(err == io.EOF && k == int(chunk)) {
			return n, err
		}
	}
	return n, nil
}

// Dumped lists the address ranges the core holds bytes for.
func (c *Core) Dumped() [][2]uint64 {
	var out [][2]uint64
	for _, s := range c.segs {
		if s.filesz > 0 {
			out = append(out, [2]uint64{s.vaddr, s.vaddr + s.filesz})
		}
	}
	return out
}
