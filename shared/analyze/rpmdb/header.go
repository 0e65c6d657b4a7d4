package rpmdb

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Header tags read, from rpm's rpmtag.h.
const (
	tagImmutable = 63 // the region of the signed, immutable part
	tagName      = 1000
	tagVersion   = 1001
	tagRelease   = 1002
	tagEpoch     = 1003
	tagVendor    = 1011
	tagLicense   = 1014
	tagArch      = 1022
	tagSourceRPM = 1044
)

// wanted are the tags ParseHeader reads.
var wanted = [...]uint32{tagName, tagVersion, tagRelease, tagEpoch, tagVendor, tagLicense, tagArch, tagSourceRPM}

// Header data types.
const (
	typeInt32       = 4
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// maxIndex bounds the index entries of a header, as rpm's hdrblob does;
// maxString bounds the strings taken from it (names and licenses are far
// shorter), so that a package costs little whatever its header says.
const (
	maxIndex  = 0xffff
	maxString = 64 << 10
)

var errShort = errors.New("rpm header truncated")

// ParseHeader reads a package from an RPM header blob as the database
// stores it: the index entry count and the data length (big-endian
// 32-bit), the 16-byte index entries (tag, type, offset, count), then the
// data they point into.
func ParseHeader(blob []byte) (Package, error) {
	var p Package
	if len(blob) < 8 {
		return p, errShort
	}
	il, dl := be32(blob), be32(blob[4:])
	if il == 0 || il > maxIndex {
		return p, fmt.Errorf("rpm header: %d index entries", il)
	}
	if uint64(dl) > uint64(len(blob)) || 8+16*uint64(il)+uint64(dl) > uint64(len(blob)) {
		return p, fmt.Errorf("rpm header: %d index entries and %d bytes of data do not fit in %d bytes: %w", il, dl, len(blob), errShort)
	}
	index := blob[8 : 8+16*il]
	data := blob[8+16*il : 8+16*il+dl]
	// The first entry of an installed header is its region: a binary
	// entry of 16 bytes pointing to a trailer that says how many entries
	// the region spans. Entries after the region ("dribbles") replace
	// those of the region, so the last entry of a tag wins below.
	if tag := be32(index); tag == tagImmutable || tag == tagImmutable-1 || tag == tagImmutable-2 {
		if be32(index[4:]) != typeBin || be32(index[12:]) != 16 {
			return p, fmt.Errorf("rpm header: region tag %d is malformed", tag)
		}
		if off := be32(index[8:]); uint64(off)+16 > uint64(dl) {
			return p, fmt.Errorf("rpm header: region trailer at %d is outside the %d bytes of data", off, dl)
		}
	}
	// The last entry of each wanted tag, then only those are read: a
	// header of many entries of one tag costs one string, not many.
	var last [len(wanted)]int
	for i, e := 0, index; len(e) >= 16; i, e = i+1, e[16:] {
		for k, t := range wanted {
			if be32(e) == t {
				last[k] = i + 1
			}
		}
	}
	found := false
	for k, t := range wanted {
		if last[k] == 0 {
			continue
		}
		e := index[16*(last[k]-1):]
		typ, off, count := be32(e[4:]), be32(e[8:]), be32(e[12:])
		if off > dl {
			continue
		}
		v := data[off:]
		if t == tagEpoch {
			if typ == typeInt32 && count >= 1 && len(v) >= 4 {
				p.Epoch = int(be32(v) & 0x7fffffff)
			}
			continue
		}
		s, ok := str(v, typ, count)
		if !ok {
			continue
		}
		switch t {
		case tagName:
			p.Name, found = s, s != ""
		case tagVersion:
			p.Version = s
		case tagRelease:
			p.Release = s
		case tagArch:
			p.Arch = s
		case tagLicense:
			p.License = s
		case tagVendor:
			p.Vendor = s
		case tagSourceRPM:
			p.SourceRPM = s
		}
	}
	if !found {
		return Package{}, errors.New("rpm header has no name")
	}
	return p, nil
}

// str returns the first string of a string entry: up to its NUL, which
// must lie within the data.
func str(v []byte, typ, count uint32) (string, bool) {
	switch typ {
	case typeString, typeStringArray, typeI18NString:
	default:
		return "", false
	}
	if count == 0 {
		return "", false
	}
	if i := bytes.IndexByte(v[:min(len(v), maxString)], 0); i >= 0 {
		return string(v[:i]), true
	}
	return "", false
}

// EVR is the package's version as rpm prints it: [epoch:]version-release.
func (p Package) EVR() string {
	s := p.Version
	if p.Release != "" {
		s += "-" + p.Release
	}
	if p.Epoch != 0 {
		s = strconv.Itoa(p.Epoch) + ":" + s
	}
	return s
}
