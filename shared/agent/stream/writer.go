package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"sync"
)

// ErrClosed is returned by writes to an artifact or stream already closed.
var ErrClosed = errors.New("stream or artifact already closed")

// Writer multiplexes artifacts onto one byte stream. It is safe for
// concurrent use: each frame is written whole under one mutex. The first
// error from the underlying writer is sticky and returned by every later
// call, so that producers notice a client that went away.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	n      int64
	h      hash.Hash
	err    error
	nextID uint32
	open   map[uint32]*ArtifactWriter
	ended  bool
	buf    []byte
	sum    []byte
	// endCount is the count declared in END.
	endCount int64
}

// NewWriter writes the stream header to out and returns a Writer.
func NewWriter(out io.Writer) (*Writer, error) {
	w := &Writer{
		out:  out,
		h:    sha256.New(),
		open: make(map[uint32]*ArtifactWriter),
		buf:  make([]byte, frameHeaderSize+MaxDataSize),
	}
	var hdr [headerSize]byte
	copy(hdr[:], signature[:])
	binary.BigEndian.PutUint16(hdr[8:10], Version)
	if err := w.emit(hdr[:], true); err != nil {
		return nil, fmt.Errorf("writing stream header: %w", err)
	}
	return w, nil
}

// emit writes b and, when hashed, adds it to the stream digest. The caller
// holds w.mu.
func (w *Writer) emit(b []byte, hashed bool) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.out.Write(b)
	w.n += int64(n)
	if hashed {
		w.h.Write(b[:n])
	}
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("writing stream: %w", err)
	}
	return w.err
}

// frame writes one frame in a single Write call. The caller holds w.mu.
func (w *Writer) frame(typ byte, id uint32, payload []byte) error {
	need := frameHeaderSize + len(payload)
	if cap(w.buf) < need {
		w.buf = make([]byte, need)
	}
	b := w.buf[:need]
	putFrameHeader(b, typ, id, len(payload))
	copy(b[frameHeaderSize:], payload)
	return w.emit(b, typ != frameEnd)
}

// Open starts a new artifact. The name must pass ValidName and must not be
// in use by another open artifact; meta may be nil.
func (w *Writer) Open(name string, meta Meta) (*ArtifactWriter, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	payload, err := encodeOpen(name, meta)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return nil, fmt.Errorf("opening artifact %s: %w", name, ErrClosed)
	}
	for _, a := range w.open {
		if a.name == name {
			return nil, fmt.Errorf("opening artifact %s: an artifact of that name is open", name)
		}
	}
	w.nextID++
	a := &ArtifactWriter{w: w, id: w.nextID, name: name, h: sha256.New()}
	if err := w.frame(frameOpen, a.id, payload); err != nil {
		return nil, fmt.Errorf("opening artifact %s: %w", name, err)
	}
	w.open[a.id] = a
	return a, nil
}

// Close ends the stream with an END frame. Artifacts still open are first
// closed with an error saying so, and Close then returns an error too.
func (w *Writer) Close() error { return w.CloseWithError(nil) }

// CloseWithError ends the stream like Close, recording cause (if not nil)
// in the END frame as the reason the session failed.
func (w *Writer) CloseWithError(cause error) error {
	w.mu.Lock()
	var left []*ArtifactWriter
	for _, a := range w.open {
		left = append(left, a)
	}
	w.mu.Unlock()
	sort.Slice(left, func(i, j int) bool { return left[i].id < left[j].id })
	var names []string
	for _, a := range left {
		names = append(names, a.name)
		_ = a.Finish(nil, errors.New("stream ended before the artifact was finished"))
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return ErrClosed
	}
	w.ended = true
	var info endInfo
	if cause != nil {
		info.Error = cause.Error()
	}
	w.sum = w.h.Sum(nil)
	w.endCount = w.n
	payload, err := encodeSummary(w.n, w.sum, info)
	if err != nil {
		info.Error = truncateText(info.Error, MaxControlSize/2)
		if payload, err = encodeSummary(w.n, w.sum, info); err != nil {
			return fmt.Errorf("ending stream: %w", err)
		}
	}
	if err := w.frame(frameEnd, 0, payload); err != nil {
		return fmt.Errorf("ending stream: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("ending stream: artifacts still open: %s", strings.Join(names, ", "))
	}
	return nil
}

// Err returns the first error writing the stream, after which nothing more
// can be sent: the client went away.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Sum returns the byte count and SHA-256 of the stream so far; after Close,
// those the END frame declared: every byte before END.
func (w *Writer) Sum() (int64, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sum != nil {
		return w.endCount, w.sum
	}
	return w.n, w.h.Sum(nil)
}

// ArtifactWriter is one artifact of a stream. Write splits what it is given
// into DATA frames of at most MaxDataSize bytes. One artifact should be
// written by one goroutine at a time; different artifacts may be written
// concurrently.
type ArtifactWriter struct {
	w      *Writer
	id     uint32
	name   string
	mu     sync.Mutex
	n      int64
	h      hash.Hash
	closed bool
}

// Name returns the artifact's name.
func (a *ArtifactWriter) Name() string { return a.name }

// Count returns the number of bytes written to the artifact so far.
func (a *ArtifactWriter) Count() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// Write sends p as one or more DATA frames.
func (a *ArtifactWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, fmt.Errorf("writing artifact %s: %w", a.name, ErrClosed)
	}
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > MaxDataSize {
			chunk = chunk[:MaxDataSize]
		}
		a.w.mu.Lock()
		err := a.w.frame(frameData, a.id, chunk)
		a.w.mu.Unlock()
		if err != nil {
			return written, err
		}
		a.h.Write(chunk)
		a.n += int64(len(chunk))
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// Close finishes the artifact without error.
func (a *ArtifactWriter) Close() error { return a.Finish(nil, nil) }

// Finish sends the artifact's CLOSE frame with its byte count and SHA-256,
// the metadata learned during capture (may be nil) and, when cause is not
// nil, the reason the capture failed or was cut short.
func (a *ArtifactWriter) Finish(meta Meta, cause error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("closing artifact %s: %w", a.name, ErrClosed)
	}
	a.closed = true
	info := closeInfo{Meta: meta}
	if cause != nil {
		info.Error = cause.Error()
	}
	payload, err := encodeSummary(a.n, a.h.Sum(nil), info)
	if err != nil {
		info.Meta = Meta{"meta_error": err.Error()}
		info.Error = truncateText(info.Error, MaxControlSize/2)
		if payload, err = encodeSummary(a.n, a.h.Sum(nil), info); err != nil {
			return fmt.Errorf("closing artifact %s: %w", a.name, err)
		}
	}
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	delete(a.w.open, a.id)
	if err := a.w.frame(frameClose, a.id, payload); err != nil {
		return fmt.Errorf("closing artifact %s: %w", a.name, err)
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
