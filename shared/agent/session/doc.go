// Package session runs the captures one `forensic-agent run` asked for and
// multiplexes their artifacts onto one stream (package stream). Packet
// capture runs for the whole session; the process snapshot is taken first
// and the filesystem walk after it, in the order of volatility (RFC 3227):
// what changes fastest is collected first, and the walk's reads do not
// disturb the snapshot. Each artifact is closed with what the agent learned
// (drop counts, entry counts) and, when it failed or was cut short, why;
// the stream ends with the session's outcome.
package session
