package tarscan

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// ErrLimit is wrapped by the error Walk returns when a Budget ran out.
var ErrLimit = errors.New("limit reached")

// Default limits, generous for real images and small enough to stop a bomb.
const (
	DefaultMaxEntries = 1_000_000
	DefaultMaxBytes   = 64 << 30
	// DefaultMaxRatio is how many times larger than the compressed input
	// the content may grow once past ratioGrace bytes; ordinary images
	// compress 2 to 10 times, a bomb a thousand times or more.
	DefaultMaxRatio = 200
	ratioGrace      = 1 << 30
)

// Budget bounds the work of one analysis across every stream it reads,
// nested ones included. It is safe for concurrent use.
type Budget struct {
	// MaxEntries is the number of entries allowed over all streams.
	MaxEntries int64
	// MaxBytes is the number of content bytes allowed over all streams.
	MaxBytes int64
	// MaxRatio bounds content bytes against Input() once past 1 GiB;
	// 0 disables the check.
	MaxRatio int64
	// Input reports how many bytes of the file on disk were read so far;
	// nil disables the ratio check.
	Input func() int64

	entries atomic.Int64
	bytes   atomic.Int64
}

// NewBudget returns a Budget with the default limits.
func NewBudget(input func() int64) *Budget {
	return &Budget{MaxEntries: DefaultMaxEntries, MaxBytes: DefaultMaxBytes, MaxRatio: DefaultMaxRatio, Input: input}
}

// Entries is the number of entries counted so far.
func (b *Budget) Entries() int64 { return b.entries.Load() }

// Bytes is the number of content bytes counted so far.
func (b *Budget) Bytes() int64 { return b.bytes.Load() }

func (b *Budget) addEntry(e *Entry, sized bool) error {
	n := b.entries.Add(1)
	if b.MaxEntries > 0 && n > b.MaxEntries {
		return fmt.Errorf("%w: more than %d entries in all (a tar bomb, or raise --max-entries)", ErrLimit, b.MaxEntries)
	}
	if sized && b.MaxBytes > 0 && e.Size > b.MaxBytes-b.bytes.Load() {
		return fmt.Errorf("%w: %s declares %d bytes, over the %d left of --max-bytes (a tar bomb, or raise the limit)", ErrLimit, e.Name, e.Size, b.MaxBytes-b.bytes.Load())
	}
	return nil
}

func (b *Budget) addBytes(n int64) error {
	total := b.bytes.Add(n)
	if b.MaxBytes > 0 && total > b.MaxBytes {
		return fmt.Errorf("%w: more than %d content bytes read (raise --max-bytes)", ErrLimit, b.MaxBytes)
	}
	if b.MaxRatio > 0 && b.Input != nil && total > ratioGrace {
		if in := b.Input(); in > 0 && total/in > b.MaxRatio {
			return fmt.Errorf("%w: %d bytes inflated from %d bytes of input, a ratio over %d: a compression bomb", ErrLimit, total, in, b.MaxRatio)
		}
	}
	return nil
}

// Stats count what one Walk read.
type Stats struct {
	Entries int64
	Bytes   int64
}

// Handler is called for every usable entry. body yields the content of a
// regular file (nothing for other types); what the handler does not read
// is drained by Walk. Returning an error stops the walk with that error.
type Handler func(e *Entry, body io.Reader) error

// Walker reads tar streams.
type Walker struct {
	// Budget is shared by every walk of one analysis; nil means no limits.
	Budget *Budget
	// OnIssue receives every Issue; nil drops them.
	OnIssue func(Issue)
	// Uncharged tells entries whose content is not charged to the
	// Budget's byte count, because a nested walk reading it charges the
	// content itself; nil charges every entry.
	Uncharged func(e *Entry) bool
	// Buf, when set, is the buffer used to skip content; walks that do
	// not run at the same time may share one.
	Buf []byte
}

const drainBufSize = 256 << 10

// Walk reads the tar stream r to its end, calling fn for every entry whose
// path stays inside the root. It returns an error wrapping ErrLimit when
// the Budget ran out, the context's error when cancelled, and an error
// saying after how many entries the stream broke when it is truncated or
// corrupt. Entries read before any error have been handed to fn.
func (w *Walker) Walk(ctx context.Context, r io.Reader, fn Handler) (Stats, error) {
	var st Stats
	if w.Buf == nil {
		w.Buf = make([]byte, drainBufSize)
	}
	tr := tar.NewReader(r)
	body := &countingBody{ctx: ctx, tr: tr, budget: w.Budget, st: &st}
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return st, nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && h != nil) {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return st, fmt.Errorf("archive is truncated after %d entries", st.Entries)
			}
			return st, fmt.Errorf("archive is corrupt after %d entries: %w", st.Entries, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		st.Entries++
		e, issues, ok := Normalize(h)
		if w.OnIssue != nil {
			for _, is := range issues {
				w.OnIssue(is)
			}
		}
		charged := w.Budget
		if w.Uncharged != nil && ok && w.Uncharged(&e) {
			charged = nil
		}
		if w.Budget != nil {
			// Every declared byte will be read, used or not, so it is
			// checked before reading.
			if err := w.Budget.addEntry(&e, charged != nil); err != nil {
				return st, err
			}
		}
		body.budget = charged
		if !ok {
			if err := body.drain(w.Buf); err != nil {
				return st, err
			}
			continue
		}
		body.err = nil
		var rd io.Reader = eofReader{}
		if e.Type == Regular {
			rd = body
		}
		if err := fn(&e, rd); err != nil {
			return st, err
		}
		if body.err != nil {
			return st, body.err
		}
		if err := body.drain(w.Buf); err != nil {
			return st, err
		}
	}
}

// countingBody is the reader a Handler gets: it charges the Budget as
// bytes are read and turns a short entry into a truncation error.
type countingBody struct {
	ctx    context.Context
	tr     *tar.Reader
	budget *Budget
	st     *Stats
	err    error // a budget error, returned by Walk after the handler
}

// Read implements io.Reader.
func (c *countingBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	// A large entry can take seconds: Ctrl-C must not wait for its end.
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.tr.Read(p)
	if n > 0 {
		c.st.Bytes += int64(n)
		if c.budget != nil {
			if berr := c.budget.addBytes(int64(n)); berr != nil {
				c.err = berr
				return n, berr
			}
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("archive is truncated inside entry %d", c.st.Entries)
		c.err = err
	}
	return n, err
}

// drain reads what the handler left of the entry, with a large buffer so
// that nested streams are read in big pieces.
func (c *countingBody) drain(buf []byte) error {
	for {
		_, err := c.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

type eofReader struct{}

// Read implements io.Reader for an empty stream.
func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
