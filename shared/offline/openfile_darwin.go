//go:build darwin

package offline

import (
	"os"
	"syscall"
)

// OpenFile opens a file under a root for reading only, without following
// a final link (macOS has no O_NOATIME: mount the image read-only).
func OpenFile(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
