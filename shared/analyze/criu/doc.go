// Package criu reads CRIU checkpoints for analyze: a raw CRIU image
// folder, the same folder in a tar (as docker forensic's bundles store a
// Docker checkpoint), and the kubelet/CRI-O/Podman checkpoint archive
// (checkpoint/ with the images, config.dump, spec.dump, rootfs-diff.tar,
// deleted.files).
//
// The protobuf messages are go-criu's generated types (the ones
// checkpointctl decodes with), but the image framing is read here: go-criu's
// crit allocates every entry at the size the file claims (up to 4 GiB per
// entry) and keeps whole images in memory, which a hostile image turns into
// an out-of-memory crash. Every size and count read from the input is
// checked against the bytes that are really there and against fixed limits
// before anything is allocated.
//
// Memory pages are not read as a stream: pages-N.img is a bare
// concatenation of pages with no addresses, and only pagemap-PID.img says
// which virtual address each run of pages belongs to (and whether it is in
// the file at all, or in a parent checkpoint, or lazy). So the pagemap is
// read first into a small index (one run per pagemap entry, 32 bytes),
// and pages are read on demand with ReadAt through that index: memory use
// is the index plus one read buffer, whatever the size of the pages.
package criu
