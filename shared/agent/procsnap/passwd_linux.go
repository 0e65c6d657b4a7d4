//go:build linux

package procsnap

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openInRoot opens the regular file rel under root as if root were "/":
// symlinks resolve inside it (RESOLVE_IN_ROOT), magic links are refused,
// and anything but a regular file is refused before it is read.
func openInRoot(root, rel string) (*os.File, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, err
	}
	return os.NewFile(uintptr(fd), rel), nil
}
