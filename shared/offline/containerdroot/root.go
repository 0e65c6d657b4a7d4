// Package containerdroot reads a containerd root at rest.
package containerdroot

import (
	"errors"

	"github.com/forensic-tools/forensic/shared/offline"
)

// Open opens the containerd root dir.
func Open(dir string) (offline.Root, error) { return nil, errors.New("containerd roots: not yet") }
