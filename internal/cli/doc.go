// Package cli holds the cobra commands and helpers that both plugins share
// (verify, version, exit codes, the custody flags), so that
// `docker forensic verify` and `kubectl forensic verify` behave the same.
// It is internal: only the two plugins import it.
package cli
