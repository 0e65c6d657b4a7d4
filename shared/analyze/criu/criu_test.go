package criu

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pstree"
	"google.golang.org/protobuf/proto"
)

// image builds a CRIU image: the common prefix, the magic, then each
// message with its length.
func image(magic uint32, msgs ...proto.Message) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(magicCommon))
	binary.Write(&b, binary.LittleEndian, magic)
	for _, m := range msgs {
		raw, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		binary.Write(&b, binary.LittleEndian, uint32(len(raw)))
		b.Write(raw)
	}
	return b.Bytes()
}

func u32(v uint32) *uint32 { return &v }
func u64(v uint64) *uint64 { return &v }

// tarOf lays files out as an uncompressed tar and indexes it.
func tarOf(t testing.TB, files map[string][]byte) *Files {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	r := bytes.NewReader(b.Bytes())
	fs, err := IndexTar(r, r, int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func pst(pid, ppid uint32) *pstree.PstreeEntry {
	return &pstree.PstreeEntry{Pid: u32(pid), Ppid: u32(ppid), Pgid: u32(pid), Sid: u32(pid), Threads: []uint32{pid}}
}

func TestEntriesBounds(t *testing.T) {
	good := image(MagicPstree, pst(1, 0))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"huge entry", append(image(MagicPstree), 0xff, 0xff, 0xff, 0xff), "claims 4294967295 bytes"},
		{"entry longer than the image", append(image(MagicPstree), 0x00, 0x10, 0x00, 0x00, 1, 2, 3), "more than the image's"},
		{"cut inside an entry", good[:len(good)-2], ErrTruncated.Error()},
		{"cut inside a length", append(append([]byte{}, good...), 1, 0), ErrTruncated.Error()},
		{"wrong magic", image(MagicCore, pst(1, 0)), "not the image its name says"},
		{"not protobuf", append(image(MagicPstree), 3, 0, 0, 0, 0xff, 0xff, 0xff), "entry 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Entries(bytes.NewReader(tt.data), int64(len(tt.data)), MagicPstree, func(int) proto.Message { return &pstree.PstreeEntry{} })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	n, err := Entries(bytes.NewReader(good), int64(len(good)), MagicPstree, func(int) proto.Message { return &pstree.PstreeEntry{} })
	if n != 1 || err != nil {
		t.Errorf("a good image: %d entries, %v", n, err)
	}
}

// A pstree where two processes are each other's parent, one listed twice
// and one claiming a huge thread list: Open reports it and does not loop.
func TestOpenHostileTree(t *testing.T) {
	threads := &pstree.PstreeEntry{Pid: u32(3), Ppid: u32(1), Pgid: u32(3), Sid: u32(3), Threads: make([]uint32, 1<<15)}
	fs := tarOf(t, map[string][]byte{
		"inventory.img": image(MagicInventory),
		"pstree.img":    image(MagicPstree, pst(1, 2), pst(2, 1), pst(2, 1), threads),
	})
	c, err := Open(fs)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(c.Problems, "\n")
	for _, want := range []string{"has a loop", "lists pid 2 twice", "claims 32768 threads"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems %q lack %q", c.Problems, want)
		}
	}
	if len(c.Roots()) == 0 {
		t.Errorf("no root after the loop was cut")
	}
}

func TestMemoryIndex(t *testing.T) {
	pages := bytes.Repeat([]byte("A"), 2*PageSize)
	copy(pages[PageSize:], "marker")
	entries := []*pagemap.PagemapEntry{
		{Vaddr: u64(0x10000), NrPages: u32(2), Flags: u32(pePresent)},
		{Vaddr: u64(0x20000), NrPages: u32(1), Flags: u32(peParent)},        // not in this checkpoint
		{Vaddr: u64(0x30000), NrPages: u32(1 << 20), Flags: u32(pePresent)}, // past the pages
		{Vaddr: u64(0x10000), NrPages: u32(1), Flags: u32(peLazy)},          // overlaps the first
		{Vaddr: u64(0xfffffffffffff000), NrPages: u32(2)},                   // wraps
	}
	m, err := NewMemory(entries, bytes.NewReader(pages), int64(len(pages)))
	if err == nil || !strings.Contains(err.Error(), "past the end of the pages") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v, want one line saying the pages end early", err)
	}
	if m.Bytes() != 2*PageSize {
		t.Errorf("Bytes %d, want %d", m.Bytes(), 2*PageSize)
	}
	b := make([]byte, 6)
	if _, err := m.ReadAt(b, 0x11000); err != nil || string(b) != "marker" {
		t.Errorf("ReadAt %q, %v", b, err)
	}
	for _, addr := range []uint64{0x20000, 0x30000, 0x5000} {
		if _, err := m.ReadAt(b, addr); !errors.Is(err, ErrNotDumped) {
			t.Errorf("ReadAt %#x: %v, want ErrNotDumped", addr, err)
		}
	}
}

// FuzzEntries feeds the image decoder arbitrary images.
func FuzzEntries(f *testing.F) {
	f.Add(image(MagicPstree, pst(1, 0), pst(2, 1)))
	f.Add(image(MagicPagemap, &pagemap.PagemapHead{PagesId: u32(1)}, &pagemap.PagemapEntry{Vaddr: u64(4096), NrPages: u32(1)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		Entries(bytes.NewReader(data), int64(len(data)), MagicPstree, func(int) proto.Message { return &pstree.PstreeEntry{} })
		var es []*pagemap.PagemapEntry
		Entries(bytes.NewReader(data), int64(len(data)), MagicPagemap, func(i int) proto.Message {
			if i == 0 {
				return &pagemap.PagemapHead{}
			}
			e := &pagemap.PagemapEntry{}
			es = append(es, e)
			return e
		})
		m, _ := NewMemory(es, bytes.NewReader(data), int64(len(data)))
		b := make([]byte, 64)
		for _, r := range m.Runs {
			m.ReadAt(b, r.Addr)
		}
	})
}

// FuzzCheckpoint opens a checkpoint whose every image is the fuzzed data.
func FuzzCheckpoint(f *testing.F) {
	f.Add(image(MagicPstree, pst(1, 0)), image(MagicPagemap, &pagemap.PagemapHead{PagesId: u32(1)}, &pagemap.PagemapEntry{Vaddr: u64(4096), NrPages: u32(1)}))
	f.Fuzz(func(t *testing.T, tree, other []byte) {
		fs := tarOf(t, map[string][]byte{
			"inventory.img": other, "pstree.img": tree, "core-1.img": other, "mm-1.img": other,
			"pagemap-1.img": other, "pages-1.img": other, "files.img": other, "fdinfo-2.img": other, "fs-1.img": other, "ids-1.img": other,
		})
		c, err := Open(fs)
		if err != nil {
			return
		}
		for _, p := range c.Processes {
			c.CoreProcess(p)
		}
	})
}
