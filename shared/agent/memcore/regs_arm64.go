//go:build linux && arm64

package memcore

import "debug/elf"

// The arm64 layout: user_pt_regs is 31 general registers, sp, pc and
// pstate; the kernel's elf_prstatus is 392 bytes.
const (
	elfMachine   = elf.EM_AARCH64
	gregsSize    = 34 * 8
	prstatusSize = 112 + gregsSize + 8
	// fpregsSize is user_fpsimd_state: 32 128-bit V registers, fpsr,
	// fpcr and two reserved words.
	fpregsSize = 32*16 + 4 + 4 + 8
)
