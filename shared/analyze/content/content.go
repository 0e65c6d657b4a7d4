package content

import (
	"bytes"
	"math"
)

// Magic is a file format recognised by its first bytes.
type Magic uint8

// Recognised formats.
const (
	Unknown Magic = iota
	ELF
	Script // starts with "#!"
	PE
	MachO
	JavaClass // also the magic of Mach-O universal binaries
	Wasm
	Gzip
	Zip
	Zstd
	Xz
	Bzip2
	SevenZip
	LZ4
	PNG
	JPEG
	GIF
	WebP
	PDF
	SQLite
	Woff
)

var magicNames = [...]string{
	Unknown: "", ELF: "ELF", Script: "script", PE: "PE", MachO: "Mach-O", JavaClass: "Java class/Mach-O universal",
	Wasm: "WebAssembly", Gzip: "gzip", Zip: "zip", Zstd: "zstd", Xz: "xz", Bzip2: "bzip2", SevenZip: "7z", LZ4: "lz4",
	PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WebP: "WebP", PDF: "PDF", SQLite: "SQLite", Woff: "WOFF",
}

// String names the format; the empty string for Unknown.
func (m Magic) String() string {
	if int(m) < len(magicNames) {
		return magicNames[m]
	}
	return ""
}

var magics = []struct {
	prefix string
	m      Magic
}{
	{"\x7fELF", ELF},
	{"#!", Script},
	{"MZ", PE},
	{"\xfe\xed\xfa\xce", MachO}, {"\xfe\xed\xfa\xcf", MachO}, {"\xce\xfa\xed\xfe", MachO}, {"\xcf\xfa\xed\xfe", MachO},
	{"\xca\xfe\xba\xbe", JavaClass},
	{"\x00asm", Wasm},
	{"\x1f\x8b", Gzip},
	{"PK\x03\x04", Zip}, {"PK\x05\x06", Zip},
	{"\x28\xb5\x2f\xfd", Zstd},
	{"\xfd7zXZ\x00", Xz},
	{"BZh", Bzip2},
	{"7z\xbc\xaf\x27\x1c", SevenZip},
	{"\x04\x22\x4d\x18", LZ4},
	{"\x89PNG\r\n\x1a\n", PNG},
	{"\xff\xd8\xff", JPEG},
	{"GIF8", GIF},
	{"%PDF-", PDF},
	{"SQLite format 3\x00", SQLite},
	{"wOFF", Woff}, {"wOF2", Woff},
}

// Sniff recognises the format from the first bytes of a file.
func Sniff(head []byte) Magic {
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.m
		}
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return WebP
	}
	return Unknown
}

// Executable reports whether the format runs as a program.
func (m Magic) Executable() bool {
	switch m {
	case ELF, Script, PE, MachO:
		return true
	}
	return false
}

// Dense reports whether the format is compressed or encoded so that high
// entropy is its normal state.
func (m Magic) Dense() bool {
	switch m {
	case Gzip, Zip, Zstd, Xz, Bzip2, SevenZip, LZ4, PNG, JPEG, GIF, WebP, PDF, Woff, JavaClass:
		return true
	}
	return false
}

// IsText reports whether head looks like text: no NUL byte and almost no
// control characters. UTF-8 and Latin-1 letters count as text.
func IsText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	ctrl := 0
	for _, c := range head {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b:
			ctrl++
		}
	}
	return ctrl*100 <= len(head)
}

// Packed reports whether an executable's head carries the marker of the
// UPX packer, a favourite of cryptominers and malware to hide from scanners.
func Packed(head []byte) bool {
	if len(head) > 4096 {
		head = head[:4096]
	}
	return bytes.Contains(head, []byte("UPX!"))
}

// Entropy accumulates a byte histogram.
type Entropy struct {
	counts [256]uint64
	n      uint64
}

// Add counts the bytes of p.
func (e *Entropy) Add(p []byte) {
	for _, c := range p {
		e.counts[c]++
	}
	e.n += uint64(len(p))
}

// Sample counts a slice of every stride bytes of p, at most size bytes each,
// so that a large file is estimated from a fraction of its bytes.
func (e *Entropy) Sample(p []byte, size, stride int) {
	for off := 0; off < len(p); off += stride {
		end := min(off+size, len(p))
		e.Add(p[off:end])
	}
}

// Len is the number of bytes counted.
func (e *Entropy) Len() uint64 { return e.n }

// Bits is the Shannon entropy of the counted bytes in bits per byte,
// from 0 (one value repeated) to 8 (uniformly random).
func (e *Entropy) Bits() float64 {
	if e.n == 0 {
		return 0
	}
	var h float64
	n := float64(e.n)
	for _, c := range e.counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

// StringBits is the Shannon entropy of s in bits per character, used to
// tell a random token from a word.
func StringBits(s string) float64 {
	var e Entropy
	e.Add([]byte(s))
	return e.Bits()
}
