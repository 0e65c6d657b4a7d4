package evidence

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zip"
	"github.com/mholt/archives"
)

// backend stores files in one archive format.
type backend interface {
	// put stores one regular file. size is its exact length when known,
	// or -1. r returns io.EOF at the end, never another error (see
	// hashingReader), so every error put returns is an output error.
	put(name string, size int64, mtime time.Time, r io.Reader) (int64, error)
	// finish writes the archive's end.
	finish() error
	// abort gives up on the archive: what compressors hold is flushed to
	// the output, the archive is not ended, and every goroutine the
	// backend started is let go.
	abort()
}

// copyBufSize is large enough to keep syscalls and compressor calls few.
const copyBufSize = 256 << 10

// newBackend returns the backend of a bundle format, as the format table
// describes it (format.go); serial: see Options.Serial.
func newBackend(f Format, out io.Writer, spoolDir string, serial bool) (backend, error) {
	if f.Bundle() {
		switch info := f.info(); info.backend {
		case BackendTar:
			comp := info.comp
			if serial && info.serial != nil {
				comp = info.serial
			}
			return &tarBackend{out: out, comp: comp, spoolDir: spoolDir}, nil
		case BackendZip:
			return &zipBackend{zw: zip.NewWriter(out)}, nil
		}
	}
	return nil, fmt.Errorf("unsupported bundle format %s", f)
}

// removeOpenFile unlinks a file that is still open. A variable, so that
// tests can act like Windows, where that fails.
var removeOpenFile = os.Remove

// tarBackend writes a tar stream, optionally compressed. It writes tar
// headers with archive/tar and the content itself, so that content of
// unknown size can be spooled already compressed (see put).
type tarBackend struct {
	out      io.Writer
	comp     archives.Compressor // nil for a plain tar
	member   io.WriteCloser      // the open compressed member, if any
	spoolDir string
	buf      []byte
	peek     []byte // see smallStream
}

// stream returns where the next tar bytes go: the open compressed member
// (opened on demand) or the output itself.
func (t *tarBackend) stream() (io.Writer, error) {
	if t.comp == nil {
		return t.out, nil
	}
	if t.member == nil {
		m, err := t.comp.OpenWriter(t.out)
		if err != nil {
			return nil, fmt.Errorf("starting compressor: %w", err)
		}
		t.member = m
	}
	return t.member, nil
}

// endMember finishes the open compressed member, if any.
func (t *tarBackend) endMember() error {
	if t.member == nil {
		return nil
	}
	err := closeCompressor(t.member)
	t.member = nil
	return err
}

// closeCompressor closes c and, should that fail, resets it so that its
// goroutines end: pgzip keeps one waiting after a failed write until then.
func closeCompressor(c io.WriteCloser) error {
	err := c.Close()
	if err != nil {
		if r, ok := c.(interface{ Reset(io.Writer) }); ok {
			r.Reset(io.Discard)
		}
	}
	return err
}

// Buffers are shared by the bundles of a process in turn: a capture of
// many pods writes thousands of bundles, and each would otherwise make
// its own (1.25 MiB a bundle) for the collector to clear.
var (
	copyPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
	peekPool = sync.Pool{New: func() any { b := make([]byte, smallStream); return &b }}
)

func (t *tarBackend) copyBuf() []byte {
	if t.buf == nil {
		t.buf = *copyPool.Get().(*[]byte)
	}
	return t.buf
}

// release gives the buffers back once the bundle is written.
func (t *tarBackend) release() {
	if b := t.buf; b != nil {
		copyPool.Put(&b)
		t.buf = nil
	}
	if b := t.peek; b != nil {
		peekPool.Put(&b)
		t.peek = nil
	}
}

// smallStream is the most of a stream of unknown size that is held in
// memory to find out whether it is small: a stream that ends within it is
// written like one of known size, with no spool file and no compressor of
// its own (many container logs are small).
const smallStream = 1 << 20

func (t *tarBackend) put(name string, size int64, mtime time.Time, r io.Reader) (int64, error) {
	if size >= 0 {
		return t.putKnown(name, size, mtime, r)
	}
	if t.peek == nil {
		t.peek = *peekPool.Get().(*[]byte)
	}
	n, err := io.ReadFull(r, t.peek)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return t.putKnown(name, int64(n), mtime, bytes.NewReader(t.peek[:n]))
	}
	if err != nil {
		return 0, err
	}
	return t.putSpooled(name, mtime, t.peek[:n], r)
}

// putSpooled writes a stream larger than smallStream: head, already read,
// then the rest of r.
func (t *tarBackend) putSpooled(name string, mtime time.Time, head []byte, r io.Reader) (int64, error) {
	// A tar header carries the size, and it comes before the content. For a
	// stream whose size is unknown until its end we spool to a temporary
	// file, as the format needs. So that each byte of the source is still
	// read once and compressed once, the spool holds the content already
	// compressed, as a compressed member of its own: once the size is known
	// we write the header, end the current member, copy the spooled member
	// verbatim and start a new member for the padding. A gzip file of
	// several members (RFC 1952, 2.2) and a zstd stream of several frames
	// both decompress as one stream, so the result is an ordinary .tar.gz
	// or .tar.zst. The spool file is unlinked at once where the system
	// allows it, so that nothing is left behind even on a crash; Windows
	// does not remove an open file, so there it is removed once closed.
	tmp, err := os.CreateTemp(t.spoolDir, ".forensic-spool-*")
	if err != nil {
		return 0, fmt.Errorf("creating spool file: %w", err)
	}
	unlinked := removeOpenFile(tmp.Name()) == nil
	defer func() {
		tmp.Close()
		if !unlinked {
			os.Remove(tmp.Name())
		}
	}()
	var dst io.Writer = tmp
	var cw io.WriteCloser // open until the spooled member is complete
	defer func() {
		if cw != nil {
			closeCompressor(cw)
		}
	}()
	if t.comp != nil {
		if cw, err = t.comp.OpenWriter(tmp); err != nil {
			cw = nil
			return 0, fmt.Errorf("starting compressor: %w", err)
		}
		dst = cw
	}
	if _, err := dst.Write(head); err != nil {
		return 0, fmt.Errorf("spooling: %w", err)
	}
	// r's own WriteTo (see pump) hands its chunks over without a copy.
	rest, err := io.CopyBuffer(writerOnly{dst}, r, t.copyBuf())
	n := int64(len(head)) + rest
	if err != nil {
		return n, fmt.Errorf("spooling: %w", err)
	}
	if cw != nil {
		err := closeCompressor(cw)
		cw = nil
		if err != nil {
			return n, fmt.Errorf("spooling: %w", err)
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return n, fmt.Errorf("rewinding spool file: %w", err)
	}
	if err := t.header(name, n, mtime); err != nil {
		return n, err
	}
	if err := t.endMember(); err != nil {
		return n, err
	}
	if _, err := io.CopyBuffer(writerOnly{t.out}, readerOnly{tmp}, t.copyBuf()); err != nil {
		return n, fmt.Errorf("copying spooled %s: %w", name, err)
	}
	return n, t.pad(n)
}

// putKnown writes a file whose size is known: header, content, padding.
// Should r end early, the header has already promised size bytes and tar
// cannot take that back: the entry is filled up with zeros, which keeps
// the archive readable, and a *shortError tells the caller, which records
// the artifact as failed and the zeros as no evidence.
func (t *tarBackend) putKnown(name string, size int64, mtime time.Time, r io.Reader) (int64, error) {
	if err := t.header(name, size, mtime); err != nil {
		return 0, err
	}
	w, err := t.stream()
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(writerOnly{w}, io.LimitReader(r, size), t.copyBuf())
	if err != nil {
		return n, err
	}
	if n < size {
		if _, err := io.CopyBuffer(writerOnly{w}, io.LimitReader(zeroReader{}, size-n), t.copyBuf()); err != nil {
			return n, err
		}
		if err := t.pad(size); err != nil {
			return n, err
		}
		return n, &shortError{name: name, got: n, want: size, fill: size - n}
	}
	return n, t.pad(n)
}

// shortError is returned by put when r ended before the size it was given.
// The entry holds the got bytes read, then fill zeros where the format
// needs the size announced (tar); it is not an output error.
type shortError struct {
	name            string
	got, want, fill int64
}

func (e *shortError) Error() string {
	return fmt.Sprintf("%s ended after %d of %d bytes", e.name, e.got, e.want)
}

func (t *tarBackend) header(name string, size int64, mtime time.Time) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  mtime.UTC().Truncate(time.Second), // never in the future for tar(1)
	}
	// archive/tar encodes the header (and a PAX record when the name or
	// size needs one); the writer is dropped before the content, which we
	// write ourselves.
	var b bytes.Buffer
	if err := tar.NewWriter(&b).WriteHeader(hdr); err != nil {
		return fmt.Errorf("encoding tar header for %s: %w", name, err)
	}
	w, err := t.stream()
	if err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// pad writes the zeros that round an entry of n bytes up to tar's 512-byte blocks.
func (t *tarBackend) pad(n int64) error {
	rem := n % 512
	if rem == 0 {
		return nil
	}
	w, err := t.stream()
	if err != nil {
		return err
	}
	_, err = w.Write(make([]byte, 512-rem))
	return err
}

func (t *tarBackend) abort() {
	defer t.release()
	if t.member != nil {
		closeCompressor(t.member)
		t.member = nil
	}
}

func (t *tarBackend) finish() error {
	defer t.release()
	w, err := t.stream()
	if err != nil {
		return err
	}
	if _, err := w.Write(make([]byte, 1024)); err != nil {
		return err
	}
	return t.endMember()
}

// zipBackend writes a zip archive. Zip entries can be streamed without
// knowing their size first (data descriptors), so nothing is spooled. It
// uses the zip writer directly, not mholt/archives' ArchiveAsync, which
// runs the writer in a goroutine of its own and drops the error of
// closing it, that is of writing the central directory.
type zipBackend struct {
	zw  *zip.Writer
	buf []byte
}

func (z *zipBackend) put(name string, size int64, mtime time.Time, r io.Reader) (int64, error) {
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
	hdr.SetMode(0o644)
	w, err := z.zw.CreateHeader(hdr)
	if err != nil {
		return 0, err
	}
	if z.buf == nil {
		z.buf = make([]byte, copyBufSize)
	}
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size)
	}
	// r's own WriteTo (see pump) hands its chunks over without a copy.
	n, err := io.CopyBuffer(writerOnly{w}, src, z.buf)
	if err != nil {
		return n, err
	}
	if size >= 0 && n < size {
		// The sizes are recorded after the content: nothing to fill.
		return n, &shortError{name: name, got: n, want: size}
	}
	return n, nil
}

func (z *zipBackend) finish() error { return z.zw.Close() }

// abort flushes the finished entries and leaves the archive without its
// central directory, like a tar archive without its end.
func (z *zipBackend) abort() { z.zw.Flush() }

// countingWriter counts and hashes the bytes of the archive file itself,
// so that the bundle's own SHA-256 is known when it is closed without
// reading it again. Hashing runs in a goroutine of its own, on copies of
// what was written, so that it overlaps with the writing.
type countingWriter struct {
	w      io.Writer
	n      atomic.Int64
	h      hash.Hash
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	// mu orders Write and sum: a compressor's goroutine may still write
	// when the bundle is aborted, and must then find the writer stopped,
	// not send on a closed channel.
	mu      sync.Mutex
	stopped bool
}

// errStopped is what a write gets once the archive was finished or aborted.
var errStopped = errors.New("writing to a bundle archive that is already closed")

func newCountingWriter(w io.Writer) *countingWriter {
	c := &countingWriter{w: w, h: sha256.New(), chunks: make(chan []byte, 8), free: make(chan []byte, 8), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for b := range c.chunks {
			c.h.Write(b)
			select {
			case c.free <- b[:0]:
			default:
			}
		}
	}()
	return c
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, errStopped
	}
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	if n > 0 {
		var b []byte
		select {
		case b = <-c.free:
		default:
		}
		c.chunks <- append(b, p[:n]...)
	}
	return n, err
}

// sum stops the hashing goroutine and returns the digest of all writes.
// Later writes fail with errStopped and reach neither hash nor output.
func (c *countingWriter) sum() []byte {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.chunks)
	}
	c.mu.Unlock()
	<-c.done
	return c.h.Sum(nil)
}

// writerOnly and readerOnly hide ReadFrom and WriteTo, so that
// io.CopyBuffer uses our buffer and our hashing reader sees every byte.
type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
