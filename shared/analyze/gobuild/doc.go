// Package gobuild finds the build information that the Go linker embeds
// in every executable, the main module, the Go version and each module
// the program was built with, in a byte stream read once.
//
// debug/buildinfo does the same from a file it can seek in; the analysis
// reads tar streams that it never rewinds, so Scanner is an io.Writer
// that the bytes of one file flow through, whatever their chunking. It
// keeps a few bytes between writes and, once it meets a candidate blob,
// the blob itself: memory stays bounded by the largest module
// information read, MaxModInfo.
//
// The blob, in the .go.buildinfo section of ELF (and the data segment of
// other formats), starts with the 14-byte magic "\xff Go buildinf:" at
// an offset that is a multiple of 16, and a 32-byte header. From Go 1.18
// on, the Go version and the module information follow the header as
// strings, each prefixed with its length as a varint; the module
// information is framed by 16-byte sentinels and is the text that
// runtime/debug.ParseBuildInfo reads. Programs built by Go 1.17 or older
// keep pointers to those strings instead, which a stream cannot follow:
// Scanner reports them as ErrPointerFormat, without a version.
package gobuild
