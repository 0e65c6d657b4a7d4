package testutil

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// ReadTree reads the files under dir the way ReadTar reads a tar, by
// their path below dir (dir itself left out).
func ReadTree(t testing.TB, dir string) map[string]FSEntry {
	t.Helper()
	out := map[string]FSEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		e := FSEntry{Mode: int64(st.Mode & 0o7777), UID: int(st.Uid), GID: int(st.Gid)}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			e.Type = tar.TypeDir
		case syscall.S_IFLNK:
			e.Type = tar.TypeSymlink
			e.Link, _ = os.Readlink(p)
		case syscall.S_IFREG:
			e.Type, e.Size = tar.TypeReg, st.Size
			if e.SHA256, err = fileSHA256(p); err != nil {
				return err
			}
		default:
			e.Type = '?'
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

// TreeState describes every file under dir (dir included) by its full
// path: mode, owner, size, modification and change times, device, link
// target and content hash. Two states that differ mean something under dir
// was changed, even only its times: the check that evidence sources read
// offline are never written.
func TreeState(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		v := fmt.Sprintf("mode=%o uid=%d gid=%d size=%d mtime=%d.%d ctime=%d.%d rdev=%d", st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, st.Rdev)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			sum, err := fileSHA256(p)
			if err != nil {
				return err
			}
			v += " sha256=" + sum
		case syscall.S_IFLNK:
			l, _ := os.Readlink(p)
			v += " link=" + l
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatalf("hashing %s: %v", dir, err)
	}
	return out
}
