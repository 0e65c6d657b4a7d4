// Package imagecfg parses the JSON files of image tarballs: the
// manifest.json of `docker save` (the legacy layout), the index.json and
// blob manifests of the OCI image layout (which newer engines also write),
// and the image configuration with its environment, history and layer
// diff IDs.
//
// Resolve turns these files into Images: the order of the layers, where
// each lies inside the tarball, and the configuration's place. Paths and
// digests come from untrusted input: digests are checked against their
// grammar before they are used to name a blob, and every path is cleaned.
package imagecfg
