package elfcore

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// buf is an in-memory io.WriterAt.
type buf struct{ b []byte }

func (w *buf) WriteAt(p []byte, off int64) (int, error) {
	if need := int(off) + len(p); need > len(w.b) {
		w.b = append(w.b, make([]byte, need-len(w.b))...)
	}
	return copy(w.b[off:], p), nil
}

func (w *buf) Truncate(n int64) error {
	if int(n) > len(w.b) {
		w.b = append(w.b, make([]byte, int(n)-len(w.b))...)
	}
	w.b = w.b[:n]
	return nil
}

func sample() *Process {
	mem := map[uint64][]byte{0x10000: []byte("hello marker")}
	return &Process{PID: 42, PPID: 1, Comm: "app", Args: "app --serve",
		Threads: []ThreadRegs{{TID: 43, Regs: [27]uint64{16: 0x10010, 19: 0x7000}}, {TID: 42, Regs: [27]uint64{16: 0x10008}}},
		Auxv:    []uint64{atSysinfoEHdr, 0x30000, 0, 0},
		Mappings: []Mapping{
			{Start: 0x10000, End: 0x12000, Perms: "r-xp", File: "/usr/bin/app"},
			{Start: 0x20000, End: 0x21000, Perms: "rw-p", File: "/tmp/gone", Deleted: true},
			{Start: 0x30000, End: 0x31000, Perms: "r-xp"},
		},
		Memory: func(p []byte, addr uint64) (int, error) {
			if b, ok := mem[addr]; ok {
				return copy(p, b), ErrNotDumped
			}
			return 0, ErrNotDumped
		},
	}
}

func TestRoundTrip(t *testing.T) {
	var w buf
	if err := Write(&w, sample()); err != nil {
		t.Fatal(err)
	}
	c, err := Read(bytes.NewReader(w.b), int64(len(w.b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) > 0 || c.PID != 42 || c.Comm != "app" || c.Args != "app --serve" || len(c.Threads) != 2 || c.Threads[0].TID != 42 {
		t.Fatalf("read back %+v", c)
	}
	if c.Threads[1].IP != 0x10010 || !strings.HasPrefix(c.Threads[1].Mapping, "/usr/bin/app") {
		t.Errorf("thread %+v: want IP 0x10010 in /usr/bin/app", c.Threads[1])
	}
	if len(c.Mappings) != 3 || !c.Mappings[1].Deleted || c.Mappings[1].File != "/tmp/gone" || c.Mappings[2].File != "[vdso]" {
		t.Errorf("mappings %+v", c.Mappings)
	}
	b := make([]byte, 12)
	if _, err := c.ReadAt(b, 0x10000); err != nil || string(b) != "hello marker" {
		t.Errorf("ReadAt %q %v", b, err)
	}
}

func TestHostile(t *testing.T) {
	var w buf
	Write(&w, sample())
	le := binary.LittleEndian
	ph := func(b []byte, i int) []byte { return b[64+56*i:] } // 0 is the notes
	tests := []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"overlapping segments", func(b []byte) []byte { le.PutUint64(ph(b, 2)[16:], 0x10000); return b }, "overlaps the one before"},
		{"enormous segment", func(b []byte) []byte {
			le.PutUint64(ph(b, 3)[32:], 1<<62)
			le.PutUint64(ph(b, 3)[40:], 1<<62)
			return b
		}, "truncated"},
		{"wrapping segment", func(b []byte) []byte {
			le.PutUint64(ph(b, 3)[40:], 1<<63+1<<62)
			le.PutUint64(ph(b, 3)[16:], 1<<63)
			return b
		}, "wraps around"},
		{"note past its segment", func(b []byte) []byte {
			off := le.Uint64(ph(b, 0)[8:])
			le.PutUint32(b[off+4:], 1<<30)
			return b
		}, "more bytes than its segment"},
		{"NT_FILE count", func(b []byte) []byte {
			i := bytes.Index(b, []byte("ELIF")) // NT_FILE's type, little-endian
			if i < 0 {
				t.Fatal("no NT_FILE in the sample")
			}
			le.PutUint64(b[i+4+8:], 1<<40) // after the type, the name "CORE" padded to 8

			return b
		}, "claims 1099511627776 files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(append([]byte(nil), w.b...))
			c, err := Read(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(c.Problems, "\n"), tt.want) {
				t.Errorf("problems %q lack %q", c.Problems, tt.want)
			}
		})
	}
	short := w.b[:100]
	if _, err := Read(bytes.NewReader(short), int64(len(short))); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a core cut in its program headers: %v", err)
	}
}

// FuzzRead reads arbitrary cores and their memory.
func FuzzRead(f *testing.F) {
	var w buf
	Write(&w, sample())
	f.Add(w.b[:min(len(w.b), 4096)]) // the headers and notes: the data pages only slow the mutator
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		b := make([]byte, 4096)
		for _, m := range c.Mappings {
			c.ReadAt(b, m.Start)
			c.MappingAt(m.End - 1)
		}
	})
}
