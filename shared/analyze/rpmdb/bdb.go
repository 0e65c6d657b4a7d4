package rpmdb

import (
	"errors"
	"fmt"
)

// The Berkeley DB hash format, as documented with Berkeley DB
// (db_page.h): page 0 is the metadata page, the others are hash pages of
// key/data item pairs, overflow pages and free pages. Every page starts
// with a 26-byte header: LSN (8), page number (4), previous and next
// page (4 each), entry count (2), high free offset (2), level (1), type
// (1); an index of 2-byte item offsets follows. Numbers are in the byte
// order of the machine that wrote the file, told by the magic number.
const (
	hashMagic  = 0x061561
	pageHeader = 26

	pageOverflow     = 7
	pageHashMeta     = 8
	pageHashUnsorted = 2
	pageHash         = 13

	itemKeyData = 1 // the item's bytes follow its type byte
	itemOffPage = 3 // type, 3 unused bytes, first overflow page, total length

	metaChecksum = 0x01 // metaflags: pages carry a checksum after their header
)

// bdbDB is a read-only view of a hash database file.
type bdbDB struct {
	file     []byte
	pageSize int
	overhead int // page header, with its checksum when there is one
	u16      func([]byte) uint16
	u32      func([]byte) uint32
	seen     map[uint32]bool // overflow pages used, each by one item at most
	budget   *budget
}

// readBDB returns the data item of every key/data pair of the hash
// pages, reading pages in file order (which needs no bucket arithmetic
// and reads each page once). Items shorter than a header (the record 0
// in which rpm keeps its next header number) are left out.
func readBDB(file []byte) ([][]byte, error) {
	if len(file) < 512 {
		return nil, fmt.Errorf("bdb: %d bytes, shorter than a page", len(file))
	}
	db := &bdbDB{file: file, seen: map[uint32]bool{}, budget: newBudget(file)}
	switch {
	case le32(file[12:]) == hashMagic:
		db.u16, db.u32 = le16, le32
	case be32(file[12:]) == hashMagic:
		db.u16, db.u32 = be16, be32
	default:
		return nil, errors.New("bdb: not a hash database")
	}
	if file[25] != pageHashMeta {
		return nil, fmt.Errorf("bdb: page 0 is of type %d, not hash metadata", file[25])
	}
	if file[24] != 0 {
		return nil, fmt.Errorf("bdb: encrypted (algorithm %d)", file[24])
	}
	db.pageSize = int(db.u32(file[20:]))
	if db.pageSize < 512 || db.pageSize > 65536 || db.pageSize&(db.pageSize-1) != 0 {
		return nil, fmt.Errorf("bdb: page size %d", db.pageSize)
	}
	db.overhead = pageHeader
	if file[26]&metaChecksum != 0 {
		db.overhead += 20
	}
	pages := len(file) / db.pageSize
	if last := int(db.u32(file[32:])); last+1 < pages {
		pages = last + 1
	}
	var blobs [][]byte
	var errs []error
	for n := 1; n < pages; n++ {
		pg := db.file[n*db.pageSize : (n+1)*db.pageSize]
		if t := pg[25]; t != pageHash && t != pageHashUnsorted {
			continue
		}
		items, err := db.items(pg)
		if err != nil {
			errs = append(errs, fmt.Errorf("bdb: page %d: %w", n, err))
		}
		blobs = append(blobs, items...)
		if errors.Is(err, errBudget) || len(errs) > 20 {
			break
		}
	}
	return blobs, errors.Join(errs...)
}

// items returns the data items of the key/data pairs of a hash page.
func (db *bdbDB) items(pg []byte) ([][]byte, error) {
	entries := int(db.u16(pg[20:]))
	if db.overhead+2*entries > len(pg) {
		return nil, fmt.Errorf("%d entries do not fit the page", entries)
	}
	index := pg[db.overhead : db.overhead+2*entries]
	var out [][]byte
	var errs []error
	// Items fill the page from its end: an item ends where the one
	// before it in the index begins.
	for i := 1; i < entries; i += 2 {
		off, end := int(db.u16(index[2*i:])), int(db.u16(index[2*i-2:]))
		if off < db.overhead+2*entries || off >= end || end > len(pg) {
			errs = append(errs, fmt.Errorf("item %d at %d..%d", i, off, end))
			continue
		}
		item := pg[off:end]
		switch item[0] {
		case itemKeyData:
			if len(item)-1 >= 8 {
				if err := db.budget.take(len(item)); err != nil {
					return out, err
				}
				out = append(out, item[1:])
			}
		case itemOffPage:
			if len(item) < 12 {
				errs = append(errs, fmt.Errorf("item %d: short off-page item", i))
				continue
			}
			v, err := db.overflow(db.u32(item[4:]), db.u32(item[8:]))
			if err != nil {
				errs = append(errs, fmt.Errorf("item %d: %w", i, err))
				if errors.Is(err, errBudget) {
					return out, errors.Join(errs...)
				}
				continue
			}
			out = append(out, v)
		default:
			// Duplicate sets are not used by rpm's Packages.
			errs = append(errs, fmt.Errorf("item %d of type %d", i, item[0]))
		}
	}
	return out, errors.Join(errs...)
}

// overflow reads a value of size bytes from the chain of overflow pages
// starting at page n: each holds its high free offset's worth of bytes
// after its header and names the next page.
func (db *bdbDB) overflow(n, size uint32) ([]byte, error) {
	if uint64(size) > uint64(len(db.file)) {
		return nil, fmt.Errorf("off-page item of %d bytes, larger than the file", size)
	}
	if err := db.budget.take(int(size)); err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for uint32(len(out)) < size {
		if n == 0 || (uint64(n)+1)*uint64(db.pageSize) > uint64(len(db.file)) {
			return nil, fmt.Errorf("overflow page %d is outside the file", n)
		}
		if db.seen[n] {
			return nil, fmt.Errorf("overflow page %d is reached twice", n)
		}
		db.seen[n] = true
		pg := db.file[int(n)*db.pageSize : int(n+1)*db.pageSize]
		if pg[25] != pageOverflow {
			return nil, fmt.Errorf("page %d of type %d in an overflow chain", n, pg[25])
		}
		k := int(db.u16(pg[22:]))
		if db.overhead+k > len(pg) || k == 0 {
			return nil, fmt.Errorf("overflow page %d holds %d bytes", n, k)
		}
		k = min(k, int(size)-len(out))
		out = append(out, pg[db.overhead:db.overhead+k]...)
		n = db.u32(pg[16:])
	}
	return out, nil
}
