package rpmdb

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// packagesRoot returns the root page of table Packages of a SQLite file.
func packagesRoot(t *testing.T, file []byte) (*sqliteDB, uint32) {
	t.Helper()
	db := &sqliteDB{file: file, pageSize: int(be16(file[16:])), seen: map[uint32]bool{}, budget: newBudget(file)}
	db.usable = db.pageSize - int(file[20])
	db.pages = uint32(len(file) / db.pageSize)
	root, err := db.findTable("Packages")
	if err != nil {
		t.Fatal(err)
	}
	return db, root
}

// TestHostileSQLite reads damaged copies of a real database: each read
// must end, without a panic, with an error or fewer packages.
func TestHostileSQLite(t *testing.T) {
	good := fixture(t, "sqlite.db.gz")
	db, root := packagesRoot(t, good)
	ps := db.pageSize
	rootAt := int(root-1) * ps
	// The leaves: the root, or its children in the small fixture.
	leaves := []uint32{root}
	if good[rootAt] == pageTableInterior {
		leaves = []uint32{be32(good[rootAt+8:])}
		for i := range int(be16(good[rootAt+3:])) {
			leaves = append(leaves, be32(good[rootAt+int(be16(good[rootAt+12+2*i:])):]))
		}
	}
	// A leaf, and the first overflow page of the long package, from its
	// cell.
	leafAt := -1
	var firstOverflow uint32
	for _, leaf := range leaves {
		at := int(leaf-1) * ps
		if good[at] != pageTableLeaf {
			t.Fatalf("page %d of type %#x under the root", leaf, good[at])
		}
		before := firstOverflow
		for i := range int(be16(good[at+3:])) {
			off := int(be16(good[at+8+2*i:]))
			c := good[at+off:]
			size, n := varint(c)
			_, m := varint(c[n:])
			if size > uint64(db.usable-35) {
				u := uint64(db.usable)
				mm := (u-12)*32/255 - 23
				local := mm + (size-mm)%(u-4)
				if local > u-35 {
					local = mm
				}
				firstOverflow = be32(c[n+m+int(local):])
			}
		}
		if firstOverflow == before && leafAt < 0 {
			leafAt = at // a leaf of small cells only
		}
	}
	if leafAt < 0 {
		t.Fatal("no leaf of small cells")
	}
	// shareCell points every cell pointer of the leaf at its first cell,
	// as many as fit before the cells.
	shareCell := func(b []byte) {
		p := b[leafAt:]
		n := (int(be16(p[5:])) - 8) / 2
		binary.BigEndian.PutUint16(p[3:], uint16(n))
		off := be16(p[8:])
		for i := range n {
			binary.BigEndian.PutUint16(p[8+2*i:], off)
		}
	}
	if firstOverflow == 0 {
		t.Fatal("no package of the fixture has overflow pages")
	}
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tt := range []struct {
		name    string
		db      []byte
		errText string
	}{
		{name: "root is an interior page that is its own child", db: edit(func(b []byte) {
			p := b[rootAt:]
			p[0] = pageTableInterior
			binary.BigEndian.PutUint16(p[3:], 0)
			binary.BigEndian.PutUint32(p[8:], root)
		}), errText: "reached twice"},
		{name: "overflow page that names itself", db: edit(func(b []byte) {
			binary.BigEndian.PutUint32(b[int(firstOverflow-1)*ps:], firstOverflow)
		}), errText: "reached twice"},
		{name: "overflow page past the end", db: edit(func(b []byte) {
			binary.BigEndian.PutUint32(b[int(firstOverflow-1)*ps:], 0x7fffffff)
		}), errText: "beyond"},
		{name: "huge cell count", db: edit(func(b []byte) {
			binary.BigEndian.PutUint16(b[leafAt+3:], 0xffff)
		}), errText: "claims 65535 cells"},
		{name: "every cell pointer at one cell", db: edit(shareCell), errText: ""},
		{name: "huge payload size", db: edit(func(b []byte) {
			off := int(be16(b[leafAt+8:]))
			copy(b[leafAt+off:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}), errText: "sqlite"},
		{name: "table root past the end", db: edit(func(b []byte) {
			binary.BigEndian.PutUint32(b[28:], 1)
		}), errText: ""},
		{name: "page size 65536 on a file of 4096-byte pages", db: edit(func(b []byte) {
			binary.BigEndian.PutUint16(b[16:], 1)
		}), errText: "sqlite"},
		{name: "page size not a power of two", db: edit(func(b []byte) {
			binary.BigEndian.PutUint16(b[16:], 1000)
		}), errText: "page size 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.db, nil)
			if len(got) > 3 && !strings.Contains(tt.name, "every cell") {
				t.Errorf("%d packages from a database of 3", len(got))
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Errorf("err = %v, want one with %q", err, tt.errText)
			}
		})
	}
	// Every truncation of the file ends well.
	for n := 0; n < len(good); n += 97 {
		Read(good[:n], nil)
	}
	// The shared cell is read as often as the budget allows, no more.
	shared := edit(shareCell)
	got, _ := Read(shared, nil)
	if len(got) < 10 || len(got) > len(shared)/100 {
		t.Errorf("%d packages from one shared cell", len(got))
	}
	t.Logf("%d packages from one shared cell", len(got))
}

// TestHostileWAL damages the log: a wrong page size, checksums that no
// longer match, a frame for a page past every limit.
func TestHostileWAL(t *testing.T) {
	db, wal := fixture(t, "wal.db.gz"), fixture(t, "wal.wal.gz")
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(wal)
		f(b)
		return b
	}
	for _, tt := range []struct {
		name string
		wal  []byte
		want int // packages
		err  bool
	}{
		{name: "not a log", wal: bytes.Repeat([]byte{7}, 100), want: 1, err: true},
		{name: "other page size", wal: edit(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 8192) }), want: 1, err: true},
		{name: "first frame damaged", wal: edit(func(b []byte) { b[walHeader+frameHeader+10] ^= 1 }), want: 1},
		{name: "frame for page 4294967295", wal: func() []byte {
			b := edit(func(b []byte) {})
			binary.BigEndian.PutUint32(b[walHeader:], 0xffffffff)
			return b
		}(), want: 1},
		{name: "only the header", wal: wal[:walHeader], want: 1},
		{name: "empty", wal: nil, want: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(db, tt.wal)
			if len(got) != tt.want || (err != nil) != tt.err {
				t.Errorf("%d packages, err %v; want %d packages, error %v", len(got), err, tt.want, tt.err)
			}
		})
	}
}

// TestHostileBDB damages a Berkeley DB file: overflow chains that loop
// or run off the file, huge entry counts and lengths.
func TestHostileBDB(t *testing.T) {
	good := fixture(t, "bdb.db.gz")
	const ps = 512
	var hashPage, overflowPage int
	for n := 1; n < len(good)/ps; n++ {
		switch good[n*ps+25] {
		case pageHash:
			if hashPage == 0 && le16(good[n*ps+20:]) > 0 {
				hashPage = n
			}
		case pageOverflow:
			if overflowPage == 0 {
				overflowPage = n
			}
		}
	}
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tt := range []struct {
		name, errText string
		db            []byte
	}{
		{name: "overflow page that names itself", errText: "reached twice", db: edit(func(b []byte) {
			binary.LittleEndian.PutUint32(b[overflowPage*ps+16:], uint32(overflowPage))
		})},
		{name: "overflow page past the end", errText: "outside the file", db: edit(func(b []byte) {
			binary.LittleEndian.PutUint32(b[overflowPage*ps+16:], 0xffffffff)
		})},
		{name: "huge entry count", errText: "do not fit", db: edit(func(b []byte) {
			binary.LittleEndian.PutUint16(b[hashPage*ps+20:], 0xffff)
		})},
		{name: "huge off-page length", errText: "larger than the file", db: edit(func(b []byte) {
			p := b[hashPage*ps:]
			off := le16(p[pageHeader+2:])
			binary.LittleEndian.PutUint32(p[off+8:], 0xfffffff0)
		})},
		{name: "page size 0", errText: "page size", db: edit(func(b []byte) {
			binary.LittleEndian.PutUint32(b[20:], 0)
		})},
		{name: "encrypted", errText: "encrypted", db: edit(func(b []byte) { b[24] = 1 })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.db, nil)
			if len(got) > 3 {
				t.Errorf("%d packages from a database of 3", len(got))
			}
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want one with %q", err, tt.errText)
			}
		})
	}
	for n := 0; n < len(good); n += 37 {
		Read(good[:n], nil)
	}
}
