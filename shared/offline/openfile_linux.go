//go:build linux

package offline

import (
	"errors"
	"os"
	"syscall"
)

// OpenFile opens a file under a root for reading only, without following
// a final link and, where the kernel allows it, without updating its
// access time.
func OpenFile(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	return f, err
}
