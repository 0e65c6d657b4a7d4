// Package analyze reads what a container investigation collected and says
// what is in it: image tarballs (`docker save`, in the legacy layout or
// the OCI layout, compressed or not), plain filesystem tarballs
// (`docker export`) and this project's evidence bundles.
//
// Analyze reads its input once, as a stream, and never extracts anything
// to disk: every layer is read in the order it lies in the file, and only
// metadata is kept per path (never file contents), so memory stays flat
// whatever the size of the image. The input is hostile by assumption: see
// package tarscan for what is checked and bounded.
//
// The Report holds:
//
//   - a timeline: each layer with its configuration's created time and
//     created_by command and the files it adds, changes and deletes
//     (whiteouts and opaque directories), with the times of the layer's own
//     tar headers; for a bundle also the container's start time and diff;
//   - findings: suspicious files (setuid and setgid binaries, world-writable
//     files, executables in /tmp, /dev/shm, /var/tmp and hidden folders,
//     files changed after the image was built, ELF files named like a
//     system binary elsewhere, large high-entropy blobs, packed
//     executables), secrets (private keys, cloud keys, tokens, passwords)
//     in files, in the image's environment and history, in container
//     settings and in logs, and integrity problems (layer digests that do
//     not match, missing layers, hostile archive entries);
//   - the installed packages, from package databases and from the build
//     information of Go programs (package gobuild), which WriteSBOM turns
//     into CycloneDX JSON.
//
// Every finding names a rule of one catalogue (Rules, in rules.go), which
// gives its category, default severity and reason; docs/analyze-rules.md
// lists it.
//
// CRIU checkpoints (package criu) and ELF process cores (package elfcore)
// are the exception to reading as a stream: a checkpoint's pages are found
// through its pagemap and a core's memory through its program headers, so
// both are read at random offsets, with every size and count from the
// input bounded; package memscan searches their memory (--search) and runs
// the secret scanners over it (memory.go).
//
// WriteText, WriteJSON and WriteHTML render it.
package analyze
