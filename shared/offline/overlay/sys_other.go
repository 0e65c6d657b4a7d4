//go:build !linux && !darwin

package overlay

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// supported reports whether overlay layers can be read on this system:
// whiteouts are device files and opaque folders extended attributes,
// which only Linux (and macOS) show.
func supported() error {
	return fmt.Errorf("offline reading of overlay layers needs Linux (or macOS), not %s: copy the disk image to a Linux machine and run the export there", runtime.GOOS)
}

func statOf(fs.FileInfo) (sysStat, bool) { return sysStat{}, false }

func isOpaque(string) bool { return false }

func openNoFollow(r *os.Root, rel string) (*os.File, error) {
	return r.OpenFile(rel, os.O_RDONLY, 0)
}
