package pcap

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpdumpRead reads a capture file with the real tcpdump -r and returns
// the line it printed for each packet. The test fails when tcpdump exits
// non-zero or prints anything on standard error but its "reading from
// file" header (a truncated or unreadable file, mixed link types).
func tcpdumpRead(t *testing.T, capture []byte) []string {
	t.Helper()
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Fatalf("tcpdump is needed for this test (apt-get install tcpdump): %v", err)
	}
	file := filepath.Join(t.TempDir(), "capture")
	if err := os.WriteFile(file, capture, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tcpdump, "-nn", "-tttt", "-r", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcpdump -r: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "reading from file "+file+", link-type ") {
			t.Errorf("tcpdump -r printed an error: %q", line)
		}
	}
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// udpFrame is an Ethernet frame holding a UDP datagram from 10.0.0.1:sport
// to 10.0.0.2:9, so that tcpdump prints one decoded line for it.
func udpFrame(t *testing.T, sport uint16, payload string) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 9}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
