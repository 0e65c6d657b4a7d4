// Package overlay rebuilds a container's filesystem from the folders of
// an overlay stack at rest (Docker's overlay2 driver, containerd's
// overlayfs snapshotter), without mounting anything: the merged view as a
// tar, the writable layer alone in OCI layer form, the changes against the
// image as docker diff reports them, and drift like container-explorer's.
//
// Layers are read through os.Root, so a symbolic link inside a layer is
// stored as a link and never followed out of its layer; nothing under a
// layer is written, and files are opened with O_NOATIME where the kernel
// allows it so that reading leaves their access times as they were.
package overlay
