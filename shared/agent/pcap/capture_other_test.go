//go:build !linux

package pcap

import "testing"

// durationCapturesTraffic needs packet sockets, which only Linux has;
// Capture itself refuses to run elsewhere.
func durationCapturesTraffic(t *testing.T) {
	t.Skip("packet capture needs Linux")
}
