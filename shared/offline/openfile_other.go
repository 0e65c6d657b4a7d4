//go:build !linux && !darwin

package offline

import (
	"fmt"
	"os"
)

// OpenFile opens a file under a root for reading only, refusing a link
// (this system has no O_NOFOLLOW: the check is made before the open).
func OpenFile(p string) (*os.File, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link: not followed", p)
	}
	return os.OpenFile(p, os.O_RDONLY, 0)
}
