package criu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// Image magics (CRIU's criu/include/magic.h, as go-criu's magic package
// lists them).
const (
	magicCommon     = 0x54564319
	magicService    = 0x55105940
	MagicInventory  = 0x58313116
	MagicPstree     = 0x50273030
	MagicCore       = 0x55053847
	MagicMM         = 0x57492820
	MagicPagemap    = 0x56084025
	MagicFiles      = 0x56303138
	MagicFdinfo     = 0x56213732
	MagicFS         = 0x51403912
	MagicIDs        = 0x54432030
	MagicMnts       = 0x55563928
	MagicStats      = 0x57093306
	MagicRemapFpath = 0x59133954
)

// Limits on what one image may make this package allocate.
const (
	// MaxEntry is the largest protobuf entry read. CRIU's largest entries
	// are a task's mm (every VMA of the process, 40-odd bytes each) and a
	// thread's core (registers and FPU state): a few MiB at most.
	MaxEntry = 16 << 20
	// MaxImage bounds the protobuf bytes read from one image.
	MaxImage = 64 << 20
	// MaxEntries bounds the entries of one image.
	MaxEntries = 1 << 20
)

// ErrTruncated is returned when an image ends inside an entry.
var ErrTruncated = errors.New("image ends inside an entry")

// readMagic reads the image's magic, skipping the common or service prefix.
func readMagic(r io.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("reading the magic: %w", err)
	}
	m := binary.LittleEndian.Uint32(b[:])
	if m == magicCommon || m == magicService {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("reading the magic: %w", err)
		}
		m = binary.LittleEndian.Uint32(b[:])
	}
	return m, nil
}

// Entries reads an image of protobuf entries from r, whose size is size:
// the magic, which must be want, then each entry's 4-byte length and
// message. next returns the message to decode the i-th entry into
// (pagemap's first entry differs from the others). It returns the number
// of entries read; on an error the entries before it were delivered.
func Entries(r io.Reader, size int64, want uint32, next func(i int) proto.Message) (int, error) {
	m, err := readMagic(r)
	if err != nil {
		return 0, err
	}
	if m != want {
		return 0, fmt.Errorf("magic 0x%08x, want 0x%08x: not the image its name says", m, want)
	}
	left := size - 4
	if left > 4 {
		left -= 4 // with the common prefix; checked again by ReadFull below
	}
	var total int64
	buf := make([]byte, 0, 4096)
	for i := 0; ; i++ {
		var b [4]byte
		n, err := io.ReadFull(r, b[:])
		if err == io.EOF {
			return i, nil
		}
		if err != nil {
			if n > 0 {
				return i, ErrTruncated
			}
			return i, err
		}
		if i >= MaxEntries {
			return i, fmt.Errorf("more than %d entries", MaxEntries)
		}
		l := int64(binary.LittleEndian.Uint32(b[:]))
		if l > MaxEntry {
			return i, fmt.Errorf("entry %d claims %d bytes, more than the %d a CRIU entry can have", i, l, MaxEntry)
		}
		if size >= 0 && l > size {
			return i, fmt.Errorf("entry %d claims %d bytes, more than the image's %d: %w", i, l, size, ErrTruncated)
		}
		total += l
		if total > MaxImage {
			return i, fmt.Errorf("more than %d bytes of entries", MaxImage)
		}
		if int64(cap(buf)) < l {
			buf = make([]byte, l)
		}
		buf = buf[:l]
		if _, err := io.ReadFull(r, buf); err != nil {
			return i, ErrTruncated
		}
		msg := next(i)
		if msg == nil {
			return i + 1, nil
		}
		if err := proto.Unmarshal(buf, msg); err != nil {
			return i, fmt.Errorf("entry %d: %w", i, err)
		}
	}
}
