package stream

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Version is the protocol version this package writes and reads.
const Version = 1

// Frame types.
const (
	frameOpen  byte = 1
	frameData  byte = 2
	frameClose byte = 3
	frameEnd   byte = 4

	// frameFirstExtension is the first type a reader may skip when it does
	// not know it.
	frameFirstExtension byte = 0x80
)

// Size limits.
const (
	// MaxDataSize is the largest payload of one DATA frame.
	MaxDataSize = 64 << 10
	// MaxControlSize is the largest payload of an OPEN, CLOSE, END or
	// extension frame.
	MaxControlSize = 1 << 20
	// MaxNameLength is the longest artifact name, in bytes.
	MaxNameLength = 1024
)

const (
	headerSize      = 12
	frameHeaderSize = 9
	digestSize      = 32
)

// signature starts every stream. Like PNG's, it has a byte with the high
// bit set, a CR LF pair, a DOS EOF and a lone LF, so that a TTY or a
// text-mode transport that altered the stream is detected at once.
var signature = [8]byte{0x89, 'F', 'A', 'G', '\r', '\n', 0x1a, '\n'}

// Meta is the JSON metadata of an artifact: what the agent knows about it
// when it opens it (OPEN) and what it learned by the end (CLOSE), such as
// packet drop counts. Numbers decode as json.Number.
type Meta map[string]any

// closeInfo is the JSON part of a CLOSE frame.
type closeInfo struct {
	Error string `json:"error,omitempty"`
	Meta  Meta   `json:"meta,omitempty"`
}

// endInfo is the JSON part of an END frame.
type endInfo struct {
	Error string `json:"error,omitempty"`
}

// ValidName reports whether name is acceptable as an artifact name: a
// clean, relative, slash-separated UTF-8 path without "..", empty or
// control characters, at most MaxNameLength bytes. Plugins use names as
// paths inside their evidence bundle, so both ends enforce this.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("artifact name is empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("artifact name is %d bytes long, more than %d", len(name), MaxNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("artifact name %q is not valid UTF-8", name)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("artifact name %q is absolute", name)
	case path.Clean(name) != name:
		return fmt.Errorf("artifact name %q is not a clean path", name)
	case name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("artifact name %q escapes its directory", name)
	case name == ".":
		return fmt.Errorf("artifact name %q names no file", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("artifact name %q has a control character or backslash", name)
		}
	}
	return nil
}

func putFrameHeader(b []byte, typ byte, id uint32, n int) {
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:5], id)
	binary.BigEndian.PutUint32(b[5:9], uint32(n))
}

func encodeOpen(name string, meta Meta) ([]byte, error) {
	var mj []byte
	if len(meta) > 0 {
		var err error
		if mj, err = json.Marshal(meta); err != nil {
			return nil, fmt.Errorf("encoding metadata of %s: %w", name, err)
		}
	}
	p := make([]byte, 2+len(name)+len(mj))
	binary.BigEndian.PutUint16(p, uint16(len(name)))
	copy(p[2:], name)
	copy(p[2+len(name):], mj)
	if len(p) > MaxControlSize {
		return nil, fmt.Errorf("metadata of %s is %d bytes, more than %d", name, len(p), MaxControlSize)
	}
	return p, nil
}

// encodeSummary encodes the payload of CLOSE and END: count, digest, JSON.
func encodeSummary(n int64, sum []byte, info any) ([]byte, error) {
	j, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	if string(j) == "{}" {
		j = nil
	}
	p := make([]byte, 8+digestSize+len(j))
	binary.BigEndian.PutUint64(p, uint64(n))
	copy(p[8:], sum)
	copy(p[8+digestSize:], j)
	if len(p) > MaxControlSize {
		// The text of an error is the only thing that can grow this big.
		return nil, fmt.Errorf("close or end information is %d bytes, more than %d", len(p), MaxControlSize)
	}
	return p, nil
}
