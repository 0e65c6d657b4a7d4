// Package memcore writes an ELF core file of one live process, the way
// gdb's gcore does, without executing anything in the target: it stops
// every thread with PTRACE_SEIZE and PTRACE_INTERRUPT, reads the registers
// of each thread, the auxiliary vector, the stop's siginfo and
// /proc/PID/maps, then streams the memory from /proc/PID/mem to a writer in
// bounded chunks and lets the process run again.
//
// The core has one PT_NOTE segment (NT_PRSTATUS and NT_FPREGSET per
// thread, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE) and one PT_LOAD per
// mapping. Its layout is computed from the mappings before any memory is
// read, so a mapping that is left out (not readable, unchanged file data
// with SkipFileBacked, over MaxBytes) keeps its PT_LOAD with no file
// data, and the Report says why.
//
// The register layout is per architecture (regs_amd64.go, regs_arm64.go);
// other architectures are refused.
package memcore
