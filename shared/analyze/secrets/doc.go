// Package secrets finds credentials in text: private keys, cloud access
// keys, API tokens and passwords, by well-known patterns, by the names of
// the variables that hold them, and by how random their values are.
//
// Matches carry the value in clear; Mask and Fingerprint give what a
// report shows by default: a masked value and a short hash that lets a
// responder see the same secret in two places without seeing it.
//
// The scanners are built for speed on large images: fixed anchors are
// searched with bytes.Index before any regular expression runs, and the
// variable-name rules, which are noisy in source code, run only on
// configuration-like files, environments, build commands and logs.
package secrets
