// Package content tells what a file is from its first bytes (ELF, script,
// compressed data, text) and estimates how random its bytes are (Shannon
// entropy), from samples, so that large files cost almost nothing beyond
// reading them.
package content
