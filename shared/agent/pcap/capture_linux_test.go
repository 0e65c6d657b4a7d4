//go:build linux

package pcap

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// netNS is a network namespace of the test's own, held by one locked OS
// thread; it has only lo, which is up. It ends with the test.
type netNS struct {
	path string // /proc/PID/task/TID/ns/net
	do   chan func()
}

func newNetNS(t *testing.T) *netNS {
	t.Helper()
	n := &netNS{do: make(chan func())}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, and the
		// namespace with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := loUp(); err != nil {
			ready <- err
			return
		}
		n.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		ready <- nil
		for f := range n.do {
			f()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("making a network namespace: %v", err)
	}
	t.Cleanup(func() { close(n.do) })
	return n
}

// run runs f on the namespace's thread.
func (n *netNS) run(f func() error) error {
	errc := make(chan error, 1)
	n.do <- func() { errc <- f() }
	return <-errc
}

func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// durationCapturesTraffic captures, for a set duration, the loopback of a
// network namespace of the test's own while the test sends UDP datagrams
// over it: each datagram is in the file once (the loopback filter drops
// the outgoing copy), and tcpdump -r reads every packet the file holds.
func durationCapturesTraffic(t *testing.T) {
	testutil.RequireRoot(t, "a network namespace and a packet socket")
	ns := newNetNS(t)
	const (
		duration = 2 * time.Second
		sent     = 20
		marker   = "forensic-pcap-duration-probe-"
	)
	capturing := make(chan time.Time, 1)
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	var out bytes.Buffer
	start := time.Now()
	go func() {
		st, err := Capture(context.Background(), &out, Options{NetNSPath: ns.path, Duration: duration, Application: "test",
			Logf: func(string, ...any) { capturing <- time.Now() }})
		done <- result{st, err}
	}()
	var ready time.Time
	select {
	case ready = <-capturing:
	case r := <-done:
		t.Fatalf("the capture ended before it started: %v", r.err)
	}
	// The socket is open and filtered: send the traffic, and read it back
	// so that it is known to have crossed lo.
	err := ns.run(func() error {
		ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		c, err := net.Dial("udp4", ln.LocalAddr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		for i := range sent {
			if _, err := fmt.Fprintf(c, "%s%02d", marker, i); err != nil {
				return err
			}
		}
		buf := make([]byte, 100)
		for i := range sent {
			ln.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := ln.ReadFrom(buf); err != nil {
				return fmt.Errorf("datagram %d of %d did not arrive: %w", i+1, sent, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("sending traffic in the namespace: %v", err)
	}
	if late := time.Since(ready); late >= duration {
		t.Fatalf("the traffic took %v to send, longer than the capture's %v", late, duration)
	}
	r := <-done
	elapsed := time.Since(start)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.StopReason != StopDuration {
		t.Errorf("stop reason %q", r.st.StopReason)
	}
	if elapsed < duration || elapsed > duration+maxDrain+2*time.Second {
		t.Errorf("the capture took %v, want about %v", elapsed, duration)
	}
	// Each datagram once, with its payload, on lo.
	_, all := readNg(t, out.Bytes())
	seen := map[string]int{}
	packets := uint64(len(all))
	for _, data := range all {
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && strings.HasPrefix(string(udp.Payload), marker) {
			seen[string(udp.Payload)]++
		}
	}
	for i := range sent {
		if p := fmt.Sprintf("%s%02d", marker, i); seen[p] != 1 {
			t.Errorf("datagram %q is in the capture %d times, want once", p, seen[p])
		}
	}
	if packets != r.st.Packets {
		t.Errorf("stats say %d packets, the file holds %d", r.st.Packets, packets)
	}
	if lines := tcpdumpRead(t, out.Bytes()); uint64(len(lines)) != packets {
		t.Errorf("tcpdump -r printed %d packets, the file holds %d", len(lines), packets)
	}
	if len(r.st.Interfaces) != 1 || r.st.Interfaces[0].Name != "lo" {
		t.Errorf("interfaces %+v, want lo only", r.st.Interfaces)
	}
}
