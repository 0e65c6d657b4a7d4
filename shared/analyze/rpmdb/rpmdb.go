package rpmdb

import (
	"bytes"
	"errors"
	"fmt"
)

// Package is one installed package, as its RPM header describes it.
type Package struct {
	Name    string
	Version string
	Release string
	// Epoch is 0 when the header has none, which rpm compares as 0.
	Epoch   int
	Arch    string
	License string
	Vendor  string
	// SourceRPM is the file name of the source package, such as
	// "bash-5.2.15-3.fc38.src.rpm".
	SourceRPM string
}

// Format is the storage backend of an RPM database file.
type Format uint8

// Database backends.
const (
	Unknown Format = iota
	SQLite
	BerkeleyDB
	NDB
)

// String names the backend as rpm's %_db_backend macro does.
func (f Format) String() string {
	switch f {
	case SQLite:
		return "sqlite"
	case BerkeleyDB:
		return "bdb"
	case NDB:
		return "ndb"
	}
	return "unknown"
}

// ErrUnsupported is returned for files of no backend that is read, such
// as a Berkeley DB btree or garbage.
var ErrUnsupported = errors.New("unsupported rpm database backend")

// Detect tells a database file's backend from its first bytes.
func Detect(db []byte) Format {
	switch {
	case bytes.HasPrefix(db, []byte(sqliteMagic)):
		return SQLite
	case len(db) >= 4 && string(db[:4]) == "RpmP":
		return NDB
	case len(db) >= 16 && (le32(db[12:]) == hashMagic || be32(db[12:]) == hashMagic):
		return BerkeleyDB
	}
	return Unknown
}

// Read returns the packages of a database file, in the order of their
// records. wal is the SQLite write-ahead log beside it (rpmdb.sqlite-wal),
// nil when there is none; its committed transactions override the file.
// The error tells what could not be read; the packages read before, or
// despite, it are returned with it.
func Read(db, wal []byte) ([]Package, error) {
	var blobs [][]byte
	var err error
	switch Detect(db) {
	case SQLite:
		blobs, err = readSQLite(db, wal)
	case BerkeleyDB:
		blobs, err = readBDB(db)
	case NDB:
		blobs, err = readNDB(db)
	default:
		return nil, fmt.Errorf("%w: not a SQLite, Berkeley DB or NDB file", ErrUnsupported)
	}
	out := make([]Package, 0, len(blobs))
	bad := 0
	var first error
	for _, b := range blobs {
		p, perr := ParseHeader(b)
		if perr != nil {
			bad++
			if first == nil {
				first = perr
			}
			continue
		}
		out = append(out, p)
	}
	if bad > 0 {
		err = errors.Join(err, fmt.Errorf("%d of %d package headers unreadable, the first: %w", bad, len(blobs), first))
	}
	return out, err
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func le16(b []byte) uint16 { return uint16(b[1])<<8 | uint16(b[0]) }
func le32(b []byte) uint32 {
	return uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
}

// budget bounds the bytes a reader copies while assembling records, so
// that records that share pages (in a hostile file) cannot make the work
// or the memory grow faster than the input.
type budget struct{ left int }

func newBudget(inputs ...[]byte) *budget {
	n := 1 << 20
	for _, in := range inputs {
		n += 2 * len(in)
	}
	return &budget{left: n}
}

var errBudget = errors.New("records add up to more than the file holds: pages are shared between records")

func (b *budget) take(n int) error {
	if n < 0 || n > b.left {
		b.left = 0
		return errBudget
	}
	b.left -= n
	return nil
}
