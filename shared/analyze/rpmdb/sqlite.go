package rpmdb

import (
	"errors"
	"fmt"
)

// The SQLite file format: https://www.sqlite.org/fileformat2.html. The
// database is a list of pages; page 1 starts with a 100-byte header and
// holds the root of sqlite_schema, the table of tables. A table is a
// b-tree of interior pages (keys and child pages) and leaf pages (rowid
// and record); a record too large for its page continues on a chain of
// overflow pages.
const sqliteMagic = "SQLite format 3\x00"

// B-tree page types.
const (
	pageTableInterior = 0x05
	pageTableLeaf     = 0x0d
)

// sqliteDB is a read-only view of a database file and its log.
type sqliteDB struct {
	file     []byte
	pageSize int
	usable   int // page size less the reserved bytes at the end of each page
	pages    uint32
	wal      map[uint32][]byte // committed pages of the write-ahead log
	utf16    int               // 0 for UTF-8, else 1 little-endian, 2 big-endian
	seen     map[uint32]bool   // pages visited, each at most once
	budget   *budget
}

// readSQLite returns the blob column of every row of table Packages.
func readSQLite(file, wal []byte) ([][]byte, error) {
	if len(file) < 100 {
		return nil, fmt.Errorf("sqlite: %d bytes, shorter than the header", len(file))
	}
	db := &sqliteDB{file: file, seen: map[uint32]bool{}, budget: newBudget(file, wal)}
	db.pageSize = int(be16(file[16:]))
	if db.pageSize == 1 {
		db.pageSize = 65536
	}
	if db.pageSize < 512 || db.pageSize&(db.pageSize-1) != 0 {
		return nil, fmt.Errorf("sqlite: page size %d", db.pageSize)
	}
	db.usable = db.pageSize - int(file[20])
	if db.usable < 480 {
		return nil, fmt.Errorf("sqlite: %d reserved bytes a page", file[20])
	}
	switch be32(file[56:]) {
	case 0, 1:
	case 2:
		db.utf16 = 1
	case 3:
		db.utf16 = 2
	default:
		return nil, fmt.Errorf("sqlite: text encoding %d", be32(file[56:]))
	}
	db.pages = uint32(len(file) / db.pageSize)
	var walErr error
	if len(wal) > 0 {
		walErr = db.applyWAL(wal)
	}
	root, err := db.findTable("Packages")
	if err != nil {
		return nil, errors.Join(walErr, err)
	}
	var blobs [][]byte
	err = db.walk(root, func(payload []byte) error {
		if b := blobColumn(payload); b != nil {
			blobs = append(blobs, b)
		}
		return nil
	})
	return blobs, errors.Join(walErr, err)
}

// page returns page n (1-based): the log's last committed copy, else the
// file's.
func (db *sqliteDB) page(n uint32) ([]byte, error) {
	if p, ok := db.wal[n]; ok {
		return p, nil
	}
	if n == 0 || n > db.pages {
		return nil, fmt.Errorf("sqlite: page %d is beyond the %d pages of the database", n, db.pages)
	}
	off := uint64(n-1) * uint64(db.pageSize)
	if off+uint64(db.pageSize) > uint64(len(db.file)) {
		return nil, fmt.Errorf("sqlite: page %d is in neither the file nor its log", n)
	}
	return db.file[off : off+uint64(db.pageSize)], nil
}

// findTable returns the root page of a table, from sqlite_schema.
func (db *sqliteDB) findTable(name string) (uint32, error) {
	want := db.text(name)
	var root uint32
	err := db.walk(1, func(payload []byte) error {
		cols := columns(payload, 5)
		if len(cols) < 4 || root != 0 {
			return nil
		}
		if cols[0].text && string(cols[0].data) == string(db.text("table")) && cols[1].text && string(cols[1].data) == string(want) {
			if r, ok := cols[3].int(); ok && r > 0 && r <= 0xffffffff {
				root = uint32(r)
			}
		}
		return nil
	})
	if root == 0 {
		return 0, errors.Join(fmt.Errorf("sqlite: no table %s in the schema", name), err)
	}
	// The schema's pages are not the table's: let the table walk see
	// them again should a hostile file share them.
	clear(db.seen)
	return root, nil
}

// text encodes an ASCII string as the database stores text.
func (db *sqliteDB) text(s string) []byte {
	if db.utf16 == 0 {
		return []byte(s)
	}
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		if db.utf16 == 1 {
			b = append(b, s[i], 0)
		} else {
			b = append(b, 0, s[i])
		}
	}
	return b
}

// walk calls fn with the payload of every row of the table b-tree at
// root, in rowid order. A page is visited once at most, so cycles end.
func (db *sqliteDB) walk(root uint32, fn func(payload []byte) error) error {
	stack := []uint32{root}
	var errs []error
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if db.seen[n] {
			errs = append(errs, fmt.Errorf("sqlite: page %d is reached twice", n))
			continue
		}
		db.seen[n] = true
		pg, err := db.page(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		hdr := 0
		if n == 1 {
			hdr = 100
		}
		if len(pg) < hdr+8 {
			errs = append(errs, fmt.Errorf("sqlite: page %d is short", n))
			continue
		}
		typ := pg[hdr]
		ncells := int(be16(pg[hdr+3:]))
		cellsAt := hdr + 8
		if typ == pageTableInterior {
			cellsAt = hdr + 12
		}
		if cellsAt+2*ncells > db.usable {
			errs = append(errs, fmt.Errorf("sqlite: page %d claims %d cells", n, ncells))
			continue
		}
		ptrs := pg[cellsAt : cellsAt+2*ncells]
		switch typ {
		case pageTableInterior:
			// Children are pushed last first, so that they are visited
			// in order.
			stack = append(stack, be32(pg[hdr+8:]))
			for i := ncells - 1; i >= 0; i-- {
				off := int(be16(ptrs[2*i:]))
				if off < cellsAt || off+4 > db.usable {
					errs = append(errs, fmt.Errorf("sqlite: page %d: cell %d at %d", n, i, off))
					continue
				}
				stack = append(stack, be32(pg[off:]))
			}
		case pageTableLeaf:
			for i := range ncells {
				payload, err := db.cell(pg, int(be16(ptrs[2*i:])), cellsAt)
				if err != nil {
					errs = append(errs, fmt.Errorf("sqlite: page %d cell %d: %w", n, i, err))
					if errors.Is(err, errBudget) {
						return errors.Join(errs...)
					}
					continue
				}
				if err := fn(payload); err != nil {
					return errors.Join(append(errs, err)...)
				}
			}
		default:
			errs = append(errs, fmt.Errorf("sqlite: page %d of type %#x in a table b-tree", n, typ))
		}
		if len(errs) > 20 {
			return errors.Join(append(errs, errors.New("sqlite: giving up after too many errors"))...)
		}
	}
	return errors.Join(errs...)
}

// cell returns the whole payload of the table leaf cell at off of pg,
// following its overflow pages.
func (db *sqliteDB) cell(pg []byte, off, start int) ([]byte, error) {
	if off < start || off >= db.usable {
		return nil, fmt.Errorf("at %d, outside the page", off)
	}
	c := pg[off:db.usable]
	size, n := varint(c)
	if n == 0 {
		return nil, errors.New("truncated payload size")
	}
	c = c[n:]
	if _, n = varint(c); n == 0 {
		return nil, errors.New("truncated rowid")
	}
	c = c[n:]
	u := uint64(db.usable)
	x := u - 35
	if size <= x {
		if size > uint64(len(c)) {
			return nil, fmt.Errorf("%d bytes of payload past the page end", size)
		}
		return c[:size], db.budget.take(int(size))
	}
	// Larger payloads keep a part on the page and the rest on overflow
	// pages of usable-4 bytes each, the first 4 bytes of each page
	// naming the next.
	m := (u-12)*32/255 - 23
	local := m + (size-m)%(u-4)
	if local > x {
		local = m
	}
	if local+4 > uint64(len(c)) {
		return nil, errors.New("local payload past the page end")
	}
	if size > (uint64(db.pages)+uint64(len(db.wal)))*u {
		return nil, fmt.Errorf("payload of %d bytes, larger than the database", size)
	}
	if err := db.budget.take(int(size)); err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	out = append(out, c[:local]...)
	next := be32(c[local:])
	for uint64(len(out)) < size {
		if db.seen[next] {
			return nil, fmt.Errorf("overflow page %d is reached twice", next)
		}
		db.seen[next] = true
		p, err := db.page(next)
		if err != nil {
			return nil, fmt.Errorf("overflow chain: %w", err)
		}
		k := min(uint64(db.usable-4), size-uint64(len(out)))
		out = append(out, p[4:4+k]...)
		next = be32(p)
	}
	return out, nil
}

// varint decodes a SQLite variable-length integer: up to 8 bytes of 7
// bits, high bit set when more follow, then a 9th byte of 8 bits. n is 0
// when b is too short.
func varint(b []byte) (v uint64, n int) {
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0
		}
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// column is one value of a record.
type column struct {
	serial uint64
	data   []byte
	text   bool
}

// int returns the value of an integer column.
func (c column) int() (int64, bool) {
	switch c.serial {
	case 1, 2, 3, 4, 5, 6:
		var v int64
		for _, b := range c.data {
			v = v<<8 | int64(b)
		}
		if len(c.data) > 0 && len(c.data) < 8 && c.data[0]&0x80 != 0 {
			v -= 1 << (8 * len(c.data)) // sign
		}
		return v, true
	case 8:
		return 0, true
	case 9:
		return 1, true
	}
	return 0, false
}

// serialSize is the size in bytes of a value of a serial type.
func serialSize(t uint64) (uint64, bool) {
	switch {
	case t <= 4:
		return [...]uint64{0, 1, 2, 3, 4}[t], true
	case t == 5:
		return 6, true
	case t == 6, t == 7:
		return 8, true
	case t == 8, t == 9:
		return 0, true
	case t >= 12:
		return (t - 12) / 2, true
	}
	return 0, false // 10 and 11 are reserved
}

// columns decodes up to limit values of a record: a header of its size and
// the serial types, then the values. Decoding stops at the first value
// that does not fit.
func columns(rec []byte, limit int) []column {
	hsize, n := varint(rec)
	if n == 0 || hsize > uint64(len(rec)) || hsize < uint64(n) {
		return nil
	}
	hdr, body := rec[n:hsize], rec[hsize:]
	var out []column
	for len(hdr) > 0 && len(out) < limit {
		t, n := varint(hdr)
		if n == 0 {
			break
		}
		hdr = hdr[n:]
		size, ok := serialSize(t)
		if !ok || size > uint64(len(body)) {
			break
		}
		out = append(out, column{serial: t, data: body[:size], text: t >= 13 && t%2 == 1})
		body = body[size:]
	}
	return out
}

// blobColumn returns the blob of a Packages row (hnum INTEGER PRIMARY
// KEY, blob BLOB): hnum is the rowid, stored as NULL, so the blob is the
// first blob value.
func blobColumn(rec []byte) []byte {
	for _, c := range columns(rec, 4) {
		if c.serial >= 12 && c.serial%2 == 0 {
			return c.data
		}
	}
	return nil
}
