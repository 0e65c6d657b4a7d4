package rpmdb

import (
	"encoding/binary"
	"hash/adler32"
	"strings"
	"testing"
)

// makeNDB writes header blobs as an NDB Packages.db, following the
// layout described in ndb.go. Debian's rpm has no NDB backend, so there
// is no fixture from the real tool: the reader's checks of magic numbers
// and package indexes make a misreading an error rather than wrong
// packages.
func makeNDB(blobs [][]byte) []byte {
	le := binary.LittleEndian
	file := make([]byte, ndbSlotPage)
	copy(file, "RpmP")
	le.PutUint32(file[8:], 1)  // generation
	le.PutUint32(file[12:], 1) // slot pages
	le.PutUint32(file[16:], uint32(len(blobs)+1))
	for off := ndbHeaderSize; off < ndbSlotPage; off += ndbSlotSize {
		copy(file[off:], "Slot")
	}
	for i, blob := range blobs {
		idx := uint32(i + 1)
		cnt := (ndbBlobHead + len(blob) + ndbBlobTail + ndbBlock - 1) / ndbBlock
		blk := len(file) / ndbBlock
		slot := file[ndbHeaderSize+i*ndbSlotSize:]
		le.PutUint32(slot[4:], idx)
		le.PutUint32(slot[8:], uint32(blk))
		le.PutUint32(slot[12:], uint32(cnt))
		rec := make([]byte, cnt*ndbBlock)
		copy(rec, "BlbS")
		le.PutUint32(rec[4:], idx)
		le.PutUint32(rec[8:], 1)
		le.PutUint32(rec[12:], uint32(len(blob)))
		copy(rec[ndbBlobHead:], blob)
		tail := rec[len(rec)-ndbBlobTail:]
		le.PutUint32(tail, adler32.Checksum(rec[:ndbBlobHead+len(blob)]))
		le.PutUint32(tail[4:], uint32(len(blob)))
		copy(tail[8:], "BlbE")
		file = append(file, rec...)
	}
	return file
}

func TestNDB(t *testing.T) {
	blobs, err := readSQLite(fixture(t, "sqlite.db.gz"), nil)
	if err != nil || len(blobs) != 3 {
		t.Fatalf("%d blobs, %v", len(blobs), err)
	}
	ndb := makeNDB(blobs)
	if f := Detect(ndb); f != NDB {
		t.Fatalf("Detect = %s", f)
	}
	got, err := Read(ndb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := qa(got); diff != qa(mustRead(t, "sqlite.db.gz")) {
		t.Errorf("NDB packages %q", diff)
	}
	// A free slot is skipped; a slot pointing outside the file, a blob
	// header of another package or a blob longer than its blocks are
	// errors, the other packages still read.
	le := binary.LittleEndian
	for name, edit := range map[string]func(b []byte){
		"free slot":          func(b []byte) { le.PutUint32(b[ndbHeaderSize+4:], 0) },
		"blocks past end":    func(b []byte) { le.PutUint32(b[ndbHeaderSize+8:], 0xffffff00) },
		"other package":      func(b []byte) { le.PutUint32(b[ndbSlotPage+4:], 9) },
		"blob too long":      func(b []byte) { le.PutUint32(b[ndbSlotPage+12:], 0xfffffff0) },
		"slot without magic": func(b []byte) { copy(b[ndbHeaderSize:], "XXXX") },
	} {
		b := makeNDB(blobs)
		edit(b)
		got, err := Read(b, nil)
		if len(got) != 2 || (err == nil) != (name == "free slot") {
			t.Errorf("%s: %d packages, err %v", name, len(got), err)
		}
	}
	for name, b := range map[string][]byte{
		"huge slot page count": func() []byte { b := makeNDB(blobs); le.PutUint32(b[12:], 0xffffffff); return b }(),
		"version 1":            func() []byte { b := makeNDB(blobs); le.PutUint32(b[4:], 1); return b }(),
		"truncated":            makeNDB(blobs)[:100],
	} {
		if got, err := Read(b, nil); err == nil || !strings.Contains(err.Error(), "ndb") || len(got) != 0 {
			t.Errorf("%s: %d packages, err %v", name, len(got), err)
		}
	}
}

func mustRead(t *testing.T, name string) []Package {
	t.Helper()
	ps, err := Read(fixture(t, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
