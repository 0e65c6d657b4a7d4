package criu

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// PageSize is the page size of the checkpoints read (x86-64, arm64 with
// 4 KiB pages).
const PageSize = 4096

// Pagemap entry flags (criu/include/pagemap.h).
const (
	peParent  = 1 << 0
	peLazy    = 1 << 1
	pePresent = 1 << 2
)

// Run is a run of pages at a virtual address. Off is where its data lies
// in the pages file, or -1 when the checkpoint does not hold it (in a
// parent checkpoint, lazy, or past the end of the pages file).
type Run struct {
	Addr  uint64
	Pages uint64
	Off   int64
}

// End returns the address after the run.
func (r Run) End() uint64 { return r.Addr + r.Pages*PageSize }

// Memory is one process's dumped memory: the pagemap's index over the
// pages file. See the package documentation for why pages are indexed and
// not streamed.
type Memory struct {
	// Runs are sorted by address and do not overlap.
	Runs  []Run
	pages io.ReaderAt
	// PagesFile names the pages image.
	PagesFile string
}

// maxRuns bounds the pagemap entries of one process.
const maxRuns = 1 << 22

// pagemap reads pagemap-PID.img into the index, checking every run
// against the pages file and the address space.
func (c *Checkpoint) pagemap(p *Process) (*Memory, error) {
	name := fmt.Sprintf("pagemap-%d.img", p.PID)
	r, ok := c.files.Open(c.prefix + name)
	if !ok {
		return nil, fmt.Errorf("%s is missing: no memory", name)
	}
	var head pagemap.PagemapHead
	var entries []*pagemap.PagemapEntry
	_, err := Entries(r, r.Size(), MagicPagemap, func(i int) proto.Message {
		if i == 0 {
			return &head
		}
		if i > maxRuns {
			return nil
		}
		e := &pagemap.PagemapEntry{}
		entries = append(entries, e)
		return e
	})
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
		if len(entries) == 0 {
			return nil, err
		}
		c.problem("pid %d: %v", p.PID, err)
	}
	pf := fmt.Sprintf("pages-%d.img", head.GetPagesId())
	pr, ok := c.files.Open(c.prefix + pf)
	if !ok {
		return nil, fmt.Errorf("%s names %s, which is missing", name, pf)
	}
	m, perr := NewMemory(entries, pr, pr.Size())
	m.PagesFile = pf
	if perr != nil {
		return m, fmt.Errorf("%s: %w", name, perr)
	}
	return m, nil
}

// NewMemory builds the index of entries over a pages file of the given
// size. Runs that overflow the address space, overlap an earlier run or
// point past the pages file are cut or dropped, and said so in the error;
// the index is still usable.
func NewMemory(entries []*pagemap.PagemapEntry, pages io.ReaderAt, size int64) (*Memory, error) {
	m := &Memory{pages: pages}
	var off int64
	var errs []error
	for _, e := range entries {
		n := pageCount(e)
		addr := e.GetVaddr()
		if addr%PageSize != 0 || n == 0 || n > (math.MaxUint64-addr)/PageSize {
			errs = append(errs, fmt.Errorf("entry at %#x with %d pages is not a valid run", addr, n))
			continue
		}
		flags := e.GetFlags()
		if e.Flags == nil {
			flags = pePresent
			if e.GetInParent() {
				flags = peParent
			}
		}
		run := Run{Addr: addr, Pages: n, Off: -1}
		if flags&pePresent != 0 {
			run.Off = off
			off += int64(n * PageSize)
			if run.Off+int64(n*PageSize) > size {
				errs = append(errs, fmt.Errorf("pages at %#x point past the end of the pages (%d bytes)", addr, size))
				run.Off = -1
			}
		}
		m.Runs = append(m.Runs, run)
	}
	sort.SliceStable(m.Runs, func(i, j int) bool { return m.Runs[i].Addr < m.Runs[j].Addr })
	out := m.Runs[:0]
	for _, r := range m.Runs {
		if len(out) > 0 && out[len(out)-1].End() > r.Addr {
			errs = append(errs, fmt.Errorf("pages at %#x overlap the run before", r.Addr))
			continue
		}
		out = append(out, r)
	}
	m.Runs = out
	if len(errs) == 0 {
		return m, nil
	}
	// One line: problems are listed one a line.
	msg := errs[0].Error()
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more runs like it)", len(errs)-1)
	}
	return m, errors.New(msg)
}

// pageCount is the entry's number of pages: CRIU 4 writes the 64-bit
// nr_pages (field 5) where the 32-bit field 2 (compat_nr_pages, which
// go-criu v7 calls nr_pages) cannot hold it; v7's message keeps field 5
// among its unknown fields.
func pageCount(e *pagemap.PagemapEntry) uint64 {
	b := e.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == 5 && typ == protowire.VarintType {
			v, k := protowire.ConsumeVarint(b)
			if k > 0 {
				return v
			}
			break
		}
		k := protowire.ConsumeFieldValue(num, typ, b)
		if k < 0 {
			break
		}
		b = b[k:]
	}
	return uint64(e.GetNrPages())
}

// Bytes is the memory the checkpoint holds for the process.
func (m *Memory) Bytes() int64 {
	var n int64
	for _, r := range m.Runs {
		if r.Off >= 0 {
			n += int64(r.Pages * PageSize)
		}
	}
	return n
}

// ErrNotDumped is returned for addresses the checkpoint holds no page for.
var ErrNotDumped = errors.New("address not in the checkpoint's pages")

// ReadAt reads len(p) bytes at the virtual address addr. Pages that are
// not in the checkpoint end the read with ErrNotDumped.
func (m *Memory) ReadAt(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		i := sort.Search(len(m.Runs), func(i int) bool { return m.Runs[i].End() > a })
		if i == len(m.Runs) || m.Runs[i].Addr > a || m.Runs[i].Off < 0 {
			return n, ErrNotDumped
		}
		r := m.Runs[i]
		chunk := min(uint64(len(p)-n), r.End()-a)
		k, err := m.pages.ReadAt(p[n:n+int(chunk)], r.Off+int64(a-r.Addr))
		n += k
		if err != nil && !(err == io.EOF && k == int(chunk)) {
			return n, err
		}
	}
	return n, nil
}

// Range reads [start, end) when it is at most limit bytes.
func (m *Memory) Range(start, end uint64, limit int) ([]byte, error) {
	if end < start || end-start > uint64(limit) {
		return nil, fmt.Errorf("range %#x-%#x is not a plausible size", start, end)
	}
	b := make([]byte, end-start)
	n, err := m.ReadAt(b, start)
	return b[:n], err
}
