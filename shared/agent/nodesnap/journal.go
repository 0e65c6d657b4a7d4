package nodesnap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// journalHeader is what node evidence reads of a journald file header
// (systemd's journal-def.h): its state and the realtime of its first and
// last entries.
type journalHeader struct {
	State        uint8
	Entries      uint64
	HeadRealtime time.Time
	TailRealtime time.Time
}

// Header field offsets (all little-endian, 8-byte aligned).
const (
	journalSignature   = "LPKSHHRH"
	offState           = 16
	offHeaderSize      = 88
	offNEntries        = 152
	offHeadRealtime    = 184
	offTailRealtime    = 192
	journalHeaderBytes = 200
	journalStateOnline = 1
)

// readJournalHeader reads the fixed part of a journal file header; it
// never reads more than journalHeaderBytes.
func readJournalHeader(r io.ReaderAt) (journalHeader, error) {
	var b [journalHeaderBytes]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return journalHeader{}, fmt.Errorf("reading the journal header: %w", err)
	}
	if string(b[:8]) != journalSignature {
		return journalHeader{}, errors.New("not a journal file: no LPKSHHRH signature")
	}
	if hs := binary.LittleEndian.Uint64(b[offHeaderSize:]); hs < journalHeaderBytes {
		return journalHeader{}, fmt.Errorf("journal header of %d bytes is too small for the realtime fields", hs)
	}
	us := func(off int) time.Time {
		v := binary.LittleEndian.Uint64(b[off:])
		if v == 0 {
			return time.Time{}
		}
		return time.UnixMicro(int64(v)).UTC()
	}
	return journalHeader{
		State:        b[offState],
		Entries:      binary.LittleEndian.Uint64(b[offNEntries:]),
		HeadRealtime: us(offHeadRealtime),
		TailRealtime: us(offTailRealtime),
	}, nil
}

// covers reports whether a journal file may hold entries at or after
// since: its last entry is not before since, or it is still being written
// (online), or since is unset.
func (h journalHeader) covers(since time.Time) (bool, string) {
	switch {
	case since.IsZero():
		return true, "no since given"
	case h.State == journalStateOnline:
		return true, "online: still being written"
	case h.Entries == 0:
		return false, "no entries"
	case !h.TailRealtime.Before(since):
		return true, "its entries reach since"
	}
	return false, fmt.Sprintf("its last entry (%s) is before since", h.TailRealtime.Format(time.RFC3339))
}
