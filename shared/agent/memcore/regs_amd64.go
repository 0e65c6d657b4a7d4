//go:build linux && amd64

package memcore

import "debug/elf"

// The amd64 layout: user_regs_struct is 27 unsigned longs, and the
// kernel's elf_prstatus is 336 bytes.
const (
	elfMachine   = elf.EM_X86_64
	gregsSize    = 27 * 8
	prstatusSize = 112 + gregsSize + 8
	// fpregsSize is user_fpregs_struct (the FXSAVE area).
	fpregsSize = 512
)
