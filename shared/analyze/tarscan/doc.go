// Package tarscan reads tar streams from untrusted sources, one entry at a
// time, without ever writing anything to disk.
//
// Every header is turned into an Entry whose Path is rooted at "/" and
// cleaned. Names that climb out of the root ("../x", "a/../../x"), absolute
// names, symbolic and hard links whose targets leave the root, and
// whiteouts that would delete outside the root are reported as Issues:
// entries whose own path leaves the root are reported and never handed
// on. Whiteout files (.wh.NAME) and opaque-directory markers
// (.wh..wh..opq) of container image layers are recognised and given their
// own types.
//
// A Budget shared by every stream of one analysis bounds the number of
// entries, the number of content bytes and the expansion ratio of
// compressed input, so that a tar bomb (huge declared sizes, millions of
// entries, a small file that inflates to terabytes) stops with ErrLimit
// instead of running out of memory or time. Truncated and corrupt streams
// end with an error that says after how many entries they broke.
package tarscan
