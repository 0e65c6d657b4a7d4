package gobuild

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime/debug"
	"strings"
	"unicode/utf8"
)

// magicString starts the build information blob.
const magicString = "\xff Go buildinf:"

var magic = []byte(magicString)

const (
	// align is the alignment of the blob in the file.
	align = 16
	// headerSize is the size of the blob's header: the magic, the
	// pointer size, the flags and, before Go 1.18, two pointers.
	headerSize = 32
	// flagInline marks the Go 1.18 layout, strings after the header.
	flagInline = 2
	// maxVersion bounds the Go version string ("go1.26.8", "devel
	// go1.27-abcdef Tue ...", "go1.24.1 X:boringcrypto").
	maxVersion = 1 << 10
	// MaxModInfo bounds the module information read; that of a program
	// with a thousand dependencies is about 150 KiB.
	MaxModInfo = 1 << 20
	// maxCandidates bounds the magics that turn out not to start a blob
	// (such as the magic as a string in the programs that read build
	// information), so that hostile input cannot make the search costly.
	maxCandidates = 64
)

var (
	// ErrNotFound is returned by Result when the stream held no build
	// information: not a Go program, or one whose blob is damaged,
	// truncated or hidden by a packer.
	ErrNotFound = errors.New("no Go build information")
	// ErrPointerFormat is returned by Result for programs built by Go
	// 1.17 or older, whose header points to the version and module
	// information rather than holding them.
	ErrPointerFormat = errors.New("Go build information of Go 1.17 or older (pointer layout): version unknown")
)

// errShort is what frame returns when the blob needs more bytes.
var errShort = errors.New("short")

// Scanner finds the Go build information in the bytes written to it,
// which must be a whole file from its first byte on. Its zero value is
// ready to use; a Scanner serves one file.
type Scanner struct {
	// off is the stream offset of the next byte written.
	off int64
	// tail holds the last bytes before off while searching, for a magic
	// split between two writes.
	tail  [len(magicString) - 1]byte
	ntail int
	// buf[start:] is the candidate blob while one is read; it starts at
	// stream offset candOff and must grow to need bytes before frame can
	// say more.
	buf     []byte
	start   int
	candOff int64
	need    int
	reading bool
	// rejected counts candidates that were not a blob.
	rejected int
	old      bool
	done     bool
	info     *debug.BuildInfo
}

// Write searches p, the next bytes of the file. It never fails; once the
// build information is found, or the search given up, it ignores what
// comes.
func (s *Scanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !s.done {
		if !s.reading {
			p = s.search(p)
			continue
		}
		k := min(len(p), s.need-(len(s.buf)-s.start))
		s.buf = append(s.buf, p[:k]...)
		s.off += int64(k)
		p = p[k:]
		s.check()
	}
	return n, nil
}

// Result returns the build information found, with GoVersion set, or
// ErrNotFound, or ErrPointerFormat for a program of Go 1.17 or older.
func (s *Scanner) Result() (*debug.BuildInfo, error) {
	switch {
	case s.info != nil:
		return s.info, nil
	case s.old:
		return nil, ErrPointerFormat
	}
	return nil, ErrNotFound
}

// search looks for an aligned magic in p, after the bytes kept in tail.
// It returns the rest of p from the magic on, having started a candidate
// there, or nil once all of p is searched.
func (s *Scanner) search(p []byte) []byte {
	if s.ntail > 0 {
		// Only a magic that starts in the tail and ends in p is new here.
		var w [2 * (len(magicString) - 1)]byte
		k := copy(w[:], s.tail[:s.ntail])
		m := copy(w[k:], p[:min(len(p), len(magic)-1)])
		if i := bytes.Index(w[:k+m], magic); i >= 0 && i < k {
			if at := s.off - int64(k-i); at%align == 0 {
				s.begin(at)
				s.buf = append(s.buf, w[i:k]...)
				return p
			}
		}
	}
	for i := 0; i < len(p); {
		j := bytes.Index(p[i:], magic)
		if j < 0 {
			break
		}
		j += i
		if at := s.off + int64(j); at%align == 0 {
			s.off = at
			s.begin(at)
			return p[j:]
		}
		i = j + 1
	}
	s.keepTail(p)
	s.off += int64(len(p))
	return nil
}

// begin starts a candidate blob at stream offset at.
func (s *Scanner) begin(at int64) {
	s.reading, s.buf, s.start, s.candOff, s.need, s.ntail = true, s.buf[:0], 0, at, headerSize, 0
}

// keepTail keeps the last bytes of the stream, which end with p, in tail.
func (s *Scanner) keepTail(p []byte) {
	if len(p) >= len(s.tail) {
		s.ntail = copy(s.tail[:], p[len(p)-len(s.tail):])
		return
	}
	drop := max(0, s.ntail+len(p)-len(s.tail))
	copy(s.tail[:], s.tail[drop:s.ntail])
	s.ntail -= drop
	s.ntail += copy(s.tail[s.ntail:], p)
}

// check looks at the candidate read so far: it asks for more bytes, or
// takes the blob, or rejects it and goes on with the next aligned magic
// among the bytes already read, or back to searching.
func (s *Scanner) check() {
	for s.reading && !s.done {
		c := s.buf[s.start:]
		n, err := frame(c)
		if err == errShort && n > len(c) {
			s.need = n
			return
		}
		if err == nil {
			if bi, ok := decode(c[:n]); ok {
				s.info, s.done, s.reading, s.buf = bi, true, false, nil
				return
			}
		}
		if err == ErrPointerFormat {
			s.old = true
		}
		s.rejected++
		if s.rejected >= maxCandidates {
			s.done, s.reading, s.buf = true, false, nil
			return
		}
		s.next()
	}
}

// next drops the rejected candidate: the next aligned magic in the bytes
// read since becomes the candidate, or, with none, the search goes on
// after them.
func (s *Scanner) next() {
	c := s.buf[s.start:]
	for i := 1; i < len(c); {
		j := bytes.Index(c[i:], magic)
		if j < 0 {
			break
		}
		j += i
		if (s.candOff+int64(j))%align == 0 {
			s.start += j
			s.candOff += int64(j)
			s.need = headerSize
			return
		}
		i = j + 1
	}
	s.reading = false
	s.ntail = 0
	s.keepTail(c)
	s.buf, s.start = s.buf[:0], 0
}

// frame returns the length of the blob that starts b, the magic already
// matched, or errShort with the length b must have to tell more, or an
// error when b is not a blob of the Go 1.18 layout.
func frame(b []byte) (int, error) {
	if len(b) < headerSize {
		return headerSize, errShort
	}
	if ptr := b[len(magic)]; ptr != 4 && ptr != 8 {
		return 0, ErrNotFound
	}
	if b[len(magic)+1]&flagInline == 0 {
		return 0, ErrPointerFormat
	}
	off := headerSize
	for _, limit := range []uint64{maxVersion, MaxModInfo} {
		l, k := binary.Uvarint(b[off:])
		switch {
		case k == 0 && len(b)-off < binary.MaxVarintLen64:
			return off + binary.MaxVarintLen64, errShort
		case k <= 0 || l > limit:
			return 0, ErrNotFound
		}
		off += k + int(l)
		if len(b) < off {
			return off, errShort
		}
	}
	return off, nil
}

// decode reads a whole blob of the Go 1.18 layout, as frame measured it.
func decode(b []byte) (*debug.BuildInfo, bool) {
	vers, rest := field(b[headerSize:])
	mod, _ := field(rest)
	if !plausibleVersion(vers) {
		return nil, false
	}
	// The sentinels of cmd/go's modload.infoStart and infoEnd; as in
	// debug/buildinfo, anything else is no module information.
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = nil
	}
	bi, err := debug.ParseBuildInfo(string(mod))
	if err != nil {
		return nil, false
	}
	bi.GoVersion = string(vers)
	return bi, true
}

// field splits a varint-prefixed string off b, which frame checked.
func field(b []byte) (s, rest []byte) {
	l, k := binary.Uvarint(b)
	return b[k : k+int(l)], b[k+int(l):]
}

// plausibleVersion tells a Go version ("go1.26.8", "devel go1.27-..."),
// from bytes that merely follow a stray magic.
func plausibleVersion(v []byte) bool {
	if !bytes.HasPrefix(v, []byte("go")) && !bytes.HasPrefix(v, []byte("devel")) || !utf8.Valid(v) {
		return false
	}
	return !strings.ContainsFunc(string(v), func(r rune) bool { return r < ' ' || r == 0x7f })
}
