// Package elfcore reads and writes ELF core files of one process, the
// format gdb's gcore, the kernel and this project's agent (--memory)
// write: PT_LOAD segments with the memory, and PT_NOTE with the threads'
// registers (NT_PRSTATUS), the process (NT_PRPSINFO), the auxiliary
// vector (NT_AUXV) and the mapped files (NT_FILE).
//
// Read trusts nothing in the file: program headers and notes are bounded
// in number and size, segments past the end of the file are cut, and
// overlapping segments are dropped, each said so in Core.Problems. Memory
// is read from the file on demand; only the headers and notes are kept.
//
// Write turns a process description (such as a CRIU checkpoint's) into a
// core gdb opens, as CRIU's coredump tool does. Only x86-64 is written.
package elfcore
