// Package stream is the wire protocol between the forensic agent and the
// plugins: several artifacts (a pcap, a filesystem tar, JSON snapshots)
// travel interleaved over the agent's one binary stdout, each with its own
// byte count and SHA-256, and the stream as a whole ends with the count and
// SHA-256 of every byte before its last frame.
//
// # Layout
//
// All integers are big-endian.
//
//	stream  = header frame* end
//	header  = signature[8] version:uint16 flags:uint16
//	          signature is 0x89 'F' 'A' 'G' '\r' '\n' 0x1a '\n' (as in PNG: a
//	          TTY or a text-mode pipe that rewrites line endings breaks it)
//	frame   = type:uint8 id:uint32 length:uint32 payload[length]
//	OPEN  1 = name-length:uint16 name metadata-JSON   (id > 0, new)
//	DATA  2 = bytes of the artifact, at most MaxDataSize per frame
//	CLOSE 3 = count:uint64 sha256[32] close-JSON      ({"error":..,"meta":{..}})
//	END   4 = count:uint64 sha256[32] end-JSON        (id 0; {"error":..})
//
// Frame types 0x80 and above are extensions that a reader skips when it does
// not know them; an unknown type below 0x80 is a protocol error. Control
// payloads (OPEN, CLOSE, END, extensions) are at most MaxControlSize. The
// END count and hash cover the header and every frame before END.
//
// # Writing
//
// The agent calls NewWriter on its stdout, Open for each artifact, writes
// to the returned ArtifactWriter from any goroutine (each frame is written
// whole under one mutex, so artifacts interleave frame by frame), finishes
// each artifact with Close or Finish, and ends the stream with Close or
// CloseWithError on the Writer.
//
// # Reading
//
// Demux reads a stream and hands each artifact, in the order the artifacts
// were opened, to a Handler as an io.Reader, one at a time, so that a plugin
// can copy it straight into a sequential archive. The handler of one
// artifact must never wait for another artifact's bytes to arrive, and the
// agent must never stall because the plugin is slow with one artifact. So
// the frame loop never blocks on a handler: every artifact's bytes go into
// its own spool, in memory up to a shared budget (Options.MemoryLimit) and
// beyond it in an unlinked temporary file, and the handler reads from the
// spool. The artifact being handled usually keeps up and stays in memory;
// the ones opened meanwhile wait on disk until their turn. No deadlock is
// possible whatever the handler does, at the cost of disk space equal to
// what the handler has not yet consumed.
//
// A handler's reader returns io.EOF when the artifact's CLOSE frame has
// arrived, whether or not its count and hash match: evidence that arrived
// damaged is still evidence. The verdict is in Artifact.Result, in the
// Summary and in the error Demux returns (a *MismatchError per mismatch).
// A stream cut short makes the readers of unfinished artifacts return an
// error wrapping io.ErrUnexpectedEOF and Demux return a *TruncatedError
// naming them.
package stream
