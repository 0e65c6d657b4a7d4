// Package roots opens a data root with the backend its content calls for.
package roots

import (
	"github.com/forensic-tools/forensic/shared/offline"
	"github.com/forensic-tools/forensic/shared/offline/containerdroot"
	"github.com/forensic-tools/forensic/shared/offline/dockerroot"
)

// Open opens dir as a Docker data root or a containerd root, whichever it
// holds; a folder that is neither is an error wrapping
// offline.ErrUnknownRoot.
func Open(dir string) (offline.Root, error) {
	k, err := offline.Detect(dir)
	if err != nil {
		return nil, err
	}
	if k == offline.Containerd {
		return containerdroot.Open(dir)
	}
	return dockerroot.Open(dir)
}
