//go:build linux

package overlay

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// supported reports whether overlay layers can be read on this system.
func supported() error { return nil }

// statOf returns the inode fields of info, when the system gives them.
func statOf(info fs.FileInfo) (sysStat, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return sysStat{}, false
	}
	return sysStat{
		dev: uint64(st.Dev), ino: st.Ino, nlink: uint64(st.Nlink), rdev: uint64(st.Rdev),
		mode: st.Mode, uid: st.Uid, gid: st.Gid, size: st.Size,
		mtimeSec: int64(st.Mtim.Sec), mtimeNsec: int64(st.Mtim.Nsec),
	}, true
}

// isOpaque reports whether the folder at full path p is an opaque folder,
// one that hides what the layers below have at its path.
func isOpaque(p string) bool {
	for _, attr := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(p, attr, buf)
		if err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// openNoFollow opens a file of a layer for reading without following a
// final link and, where the kernel allows it (the caller owns the file or
// has CAP_FOWNER), without updating its access time.
func openNoFollow(r *os.Root, rel string) (*os.File, error) {
	f, err := r.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = r.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	return f, err
}
