//go:build linux && !amd64 && !arm64

package memcore

import "debug/elf"

// Other architectures are refused by Dump (archSupported); the sizes only
// let the package build.
const (
	elfMachine   = elf.EM_NONE
	gregsSize    = 0
	prstatusSize = 0
	fpregsSize   = 0
)
