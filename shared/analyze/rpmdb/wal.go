package rpmdb

import (
	"errors"
	"fmt"
)

// The write-ahead log (https://www.sqlite.org/fileformat2.html#walformat):
// a 32-byte header, then frames of a 24-byte header and a page. A frame
// belongs to the log when its salts are the header's and its checksum,
// which runs on from the previous frame's, matches; a frame whose "size
// after commit" is not zero ends a transaction. Readers see the pages of
// committed transactions only, the last copy of a page winning.
const (
	walMagic    = 0x377f0682 // the low bit set means big-endian checksums
	walHeader   = 32
	frameHeader = 24
	walVersion  = 3007000
)

// applyWAL reads the committed frames of wal into db.wal. An empty or
// foreign log is not an error (rpm leaves an empty one); a log that does
// not match the database is.
func (db *sqliteDB) applyWAL(wal []byte) error {
	if len(wal) < walHeader {
		return nil
	}
	magic := be32(wal)
	if magic&^1 != walMagic {
		return errors.New("sqlite: the -wal file is not a write-ahead log")
	}
	bigEndian := magic&1 == 1
	if v := be32(wal[4:]); v != walVersion {
		return fmt.Errorf("sqlite: write-ahead log version %d", v)
	}
	ps := int(be32(wal[8:]))
	if ps == 1 {
		ps = 65536
	}
	if ps != db.pageSize {
		return fmt.Errorf("sqlite: write-ahead log of %d-byte pages for a database of %d-byte pages", ps, db.pageSize)
	}
	salt1, salt2 := be32(wal[16:]), be32(wal[20:])
	s0, s1 := walChecksum(0, 0, wal[:24], bigEndian)
	if s0 != be32(wal[24:]) || s1 != be32(wal[28:]) {
		return errors.New("sqlite: the write-ahead log header's checksum does not match: its content is ignored")
	}
	committed := map[uint32][]byte{}
	pending := map[uint32][]byte{}
	size := db.pages
	for off := walHeader; off+frameHeader+ps <= len(wal); off += frameHeader + ps {
		fh := wal[off : off+frameHeader]
		page := wal[off+frameHeader : off+frameHeader+ps]
		if be32(fh[8:]) != salt1 || be32(fh[12:]) != salt2 {
			break // a frame of an earlier generation of the log
		}
		s0, s1 = walChecksum(s0, s1, fh[:8], bigEndian)
		s0, s1 = walChecksum(s0, s1, page, bigEndian)
		if s0 != be32(fh[16:]) || s1 != be32(fh[20:]) {
			break // torn or stale: the log ends at the last good frame
		}
		n := be32(fh)
		if n == 0 {
			break
		}
		pending[n] = page
		if commit := be32(fh[4:]); commit != 0 {
			for k, v := range pending {
				committed[k] = v
			}
			clear(pending)
			size = commit
		}
	}
	if len(committed) == 0 {
		return nil
	}
	db.wal = committed
	db.pages = size
	// Pages past the committed size were dropped by the transaction.
	for n := range db.wal {
		if n > size {
			delete(db.wal, n)
		}
	}
	return nil
}

// walChecksum continues the log's checksum over b, whose length is a
// multiple of 8, read as 32-bit words in the log's byte order.
func walChecksum(s0, s1 uint32, b []byte, bigEndian bool) (uint32, uint32) {
	for ; len(b) >= 8; b = b[8:] {
		var x0, x1 uint32
		if bigEndian {
			x0, x1 = be32(b), be32(b[4:])
		} else {
			x0, x1 = le32(b), le32(b[4:])
		}
		s0 += x0 + s1
		s1 += x1 + s0
	}
	return s0, s1
}
