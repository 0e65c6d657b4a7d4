// Package procsnap takes a snapshot of the processes and sockets visible
// in a /proc tree: for every process its ids, user, command line, status,
// executable (link target, whether it was deleted, and the SHA-256 of its
// contents, read through /proc/<pid>/exe so that a deleted binary is still
// hashed), working directory, memory maps, open files and namespaces; and
// the sockets of the target's network namespace, read from
// /proc/<target>/net/{tcp,tcp6,udp,udp6,unix} and joined to the processes
// holding them through their socket inodes. Environments, which often hold
// secrets, are read only when asked for.
//
// Everything is read from Options.ProcRoot, so tests run on fixture trees.
// A process that exits during the snapshot is left out and noted; a field
// that cannot be read (permissions, races) is noted on the process and the
// snapshot goes on.
package procsnap
