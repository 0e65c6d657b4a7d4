package rpmdb

import (
	"errors"
	"fmt"
)

// The NDB format of rpm's own "new database" backend (SUSE's
// /usr/lib/sysimage/rpm/Packages.db), all numbers little-endian: slot
// pages of 4096 bytes from the start of the file, whose first 32 bytes
// are the database header (magic "RpmP", version, generation, number of
// slot pages, next package index). Every other 16 bytes of the slot
// pages is a slot: magic "Slot", package index (0 for a free slot), and
// the first block and block count of the package's record, blocks being
// 16 bytes from the start of the file. A record is a 16-byte blob header
// (magic "BlbS", package index, a word not read here, blob length), the
// header blob, and a tail with a checksum at the end of its blocks, not
// read either: ParseHeader checks the blob itself.
const (
	ndbSlotPage   = 4096
	ndbSlotSize   = 16
	ndbHeaderSize = 32
	ndbBlock      = 16
	ndbBlobHead   = 16
	ndbBlobTail   = 12
)

// readNDB returns the header blob of every used slot, in slot order.
func readNDB(file []byte) ([][]byte, error) {
	if len(file) < ndbHeaderSize || string(file[:4]) != "RpmP" {
		return nil, errors.New("ndb: not an NDB database")
	}
	if v := le32(file[4:]); v != 0 {
		return nil, fmt.Errorf("ndb: version %d", v)
	}
	npages := uint64(le32(file[12:]))
	if npages == 0 || npages*ndbSlotPage > uint64(len(file)) {
		return nil, fmt.Errorf("ndb: %d slot pages in %d bytes", npages, len(file))
	}
	b := newBudget(file)
	var blobs [][]byte
	var errs []error
	for off := uint64(ndbHeaderSize); off < npages*ndbSlotPage; off += ndbSlotSize {
		slot := file[off : off+ndbSlotSize]
		if string(slot[:4]) != "Slot" {
			errs = append(errs, fmt.Errorf("ndb: no slot at %d", off))
			if len(errs) > 20 {
				break
			}
			continue
		}
		idx, blk, cnt := le32(slot[4:]), uint64(le32(slot[8:])), uint64(le32(slot[12:]))
		if idx == 0 {
			continue
		}
		start, end := blk*ndbBlock, (blk+cnt)*ndbBlock
		if start < npages*ndbSlotPage || end > uint64(len(file)) || end-start < ndbBlobHead+ndbBlobTail {
			errs = append(errs, fmt.Errorf("ndb: package %d: blocks %d+%d outside the data", idx, blk, cnt))
			continue
		}
		rec := file[start:end]
		if string(rec[:4]) != "BlbS" || le32(rec[4:]) != idx {
			errs = append(errs, fmt.Errorf("ndb: package %d: no blob header at block %d", idx, blk))
			continue
		}
		n := uint64(le32(rec[12:]))
		if n > uint64(len(rec))-ndbBlobHead-ndbBlobTail {
			errs = append(errs, fmt.Errorf("ndb: package %d: blob of %d bytes in %d blocks", idx, n, cnt))
			continue
		}
		if err := b.take(int(n)); err != nil {
			return blobs, errors.Join(append(errs, err)...)
		}
		blobs = append(blobs, rec[ndbBlobHead:ndbBlobHead+n])
	}
	return blobs, errors.Join(errs...)
}
