//go:build !linux

package procsnap

import (
	"os"
	"path/filepath"
)

// openInRoot opens rel under root. Snapshots are only taken on Linux; this
// keeps the package's types usable elsewhere.
func openInRoot(root, rel string) (*os.File, error) {
	return os.Open(filepath.Join(root, rel))
}
