package testutil

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

// FSEntry is one file of a filesystem as the filesystem oracles compare
// it: a tar's entry (ReadTar) or a file on disk (ReadTree).
type FSEntry struct {
	Type     byte // a tar type: tar.TypeReg, TypeDir, TypeSymlink, ...
	Mode     int64
	UID, GID int
	Size     int64 // 0 for folders
	Link     string
	SHA256   string // regular files
}

// ReadTar reads a filesystem tar (docker export, an offline filesystem.tar)
// into its entries by path, without "./" and trailing slashes; the root
// itself is left out.
func ReadTar(t testing.TB, r io.Reader) map[string]FSEntry {
	t.Helper()
	out := map[string]FSEntry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name == "" || name == "." {
			continue
		}
		typ := h.Typeflag
		if typ == tar.TypeRegA {
			typ = tar.TypeReg
		}
		e := FSEntry{Type: typ, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Size: h.Size, Link: h.Linkname}
		switch typ {
		case tar.TypeDir:
			e.Size = 0
		case tar.TypeReg:
			hs := sha256.New()
			if _, err := io.Copy(hs, tr); err != nil {
				t.Fatalf("reading %s from tar: %v", name, err)
			}
			e.SHA256 = hex.EncodeToString(hs.Sum(nil))
		}
		out[name] = e
	}
}
