package rpmdb

import (
	"testing"
)

// FuzzRPMDB reads arbitrary databases and logs: no input may panic, and
// the packages read are bounded by the input.
func FuzzRPMDB(f *testing.F) {
	sqlite, db, wal := fixture(f, "sqlite.db.gz"), fixture(f, "wal.db.gz"), fixture(f, "wal.wal.gz")
	f.Add(sqlite, []byte(nil))
	f.Add(db, wal)
	f.Add(db[:8192], wal[:walHeader+frameHeader+4096])
	f.Add(fixture(f, "bdb.db.gz"), []byte(nil))
	f.Add(fixture(f, "bdb16k.db.gz"), []byte(nil))
	if blobs, err := readSQLite(sqlite, nil); err == nil {
		f.Add(makeNDB(blobs), []byte(nil))
	}
	f.Add(header(tagImmutable, typeBin, 0, tagName, typeString, "n", tagEpoch, typeInt32, 1), []byte(nil))
	f.Fuzz(func(t *testing.T, db, wal []byte) {
		ps, _ := Read(db, wal)
		if len(ps) > (len(db)+len(wal))/8+1 {
			t.Fatalf("%d packages from %d bytes", len(ps), len(db)+len(wal))
		}
		ParseHeader(db)
	})
}
