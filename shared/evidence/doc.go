// Package evidence writes and verifies evidence bundles.
//
// A bundle is one archive file (tar.gz by default, or tar.zst, tar, zip)
// holding a single root folder. Inside it every artifact is hashed with
// SHA-256 in the same pass that writes it, so each byte of a source is read
// once and memory stays flat whatever the artifact's size. The root folder
// ends with four files written by Finish:
//
//	collection.log   what happened, line by line, in UTC
//	custody.json     who collected what, when, where and with which tool
//	manifest.json    every artifact: path, size, sha256, producer, times, error
//	SHA256SUMS       the sha256sum(1) file for everything above, so that
//	                 `sha256sum -c SHA256SUMS` checks an extracted bundle
//
// Verify reads a bundle back in one pass and reports missing, extra and
// altered artifacts. This package knows nothing about Docker or Kubernetes.
package evidence
