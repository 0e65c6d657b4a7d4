// Package imagetar writes the forensic agent's container image as a tarball
// without a container engine or a registry: an empty base plus the one
// static binary, as its entrypoint.
//
// The tarball is in the layout `docker save` has written since Docker 25:
// an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also
// carries the legacy manifest.json, so that both `docker load` (older
// engines read manifest.json) and containerd's `ctr images import` (which
// reads index.json and its io.containerd.image.name annotation) load it
// under the same name. The layer is an uncompressed tar holding the binary
// alone, owned by root, mode 0755, with the image's creation time, so the
// same binary and options always give the same image digest.
package imagetar
