package pcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type fakePacket struct {
	ifindex int
	data    []byte
	length  int
	ts      time.Time
}

// fakeSource hands out its packets, then poll timeouts.
type fakeSource struct {
	pkts    []fakePacket
	i       int
	onEmpty func() // called on each timeout
}

func (f *fakeSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if f.i >= len(f.pkts) {
		if f.onEmpty != nil {
			f.onEmpty()
		}
		time.Sleep(time.Millisecond)
		return nil, gopacket.CaptureInfo{}, errTimeout
	}
	p := f.pkts[f.i]
	f.i++
	l := p.length
	if l == 0 {
		l = len(p.data)
	}
	return p.data, gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: l, InterfaceIndex: p.ifindex}, nil
}

func (f *fakeSource) KernelStats() (uint64, uint64, uint64, error) { return 1000, 7, 1, nil }

var (
	lo   = Interface{Index: 1, Name: "lo", HardwareType: arphrdLoopback, LinkType: layers.LinkTypeEthernet}
	tun  = Interface{Index: 5, Name: "wg0", HardwareType: arphrdNone, LinkType: layers.LinkTypeRaw}
	eth1 = Interface{Index: 9, Name: "eth1", HardwareType: arphrdEther, LinkType: layers.LinkTypeEthernet}
	can  = Interface{Index: 11, Name: "can0", HardwareType: 280}
)

func lookupOf(ifs ...Interface) func(int) (Interface, error) {
	return func(index int) (Interface, error) {
		for _, i := range ifs {
			if i.Index == index {
				return i, nil
			}
		}
		return Interface{}, fmt.Errorf("no interface %d", index)
	}
}

func pkt(ifindex, n int, ts time.Time) fakePacket {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(ifindex + i)
	}
	return fakePacket{ifindex: ifindex, data: b, ts: ts}
}

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)

func TestPcapNGFramingMultipleInterfaces(t *testing.T) {
	src := &fakeSource{pkts: []fakePacket{
		pkt(1, 60, t0),
		pkt(5, 41, t0.Add(time.Microsecond)),
		pkt(9, 1514, t0.Add(2*time.Microsecond)), // appears during capture
		pkt(11, 16, t0.Add(3*time.Microsecond)),  // unsupported link type
		pkt(1, 3, t0.Add(4*time.Nanosecond)),
	}}
	var out bytes.Buffer
	st, err := capture(context.Background(), &out, src, []Interface{lo, tun}, lookupOf(lo, tun, eth1, can),
		Options{MaxPackets: 4, Application: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 4 || st.Skipped != 1 || st.StopReason != StopMaxPackets || !st.MixedLinkTypes {
		t.Errorf("stats %+v", st)
	}
	if st.Bytes != int64(out.Len()) {
		t.Errorf("stats say %d bytes, file has %d", st.Bytes, out.Len())
	}
	if st.KernelPackets != 1000 || st.KernelDrops != 7 || st.KernelFreezes != 1 {
		t.Errorf("kernel stats %+v", st)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(out.Bytes()), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.SectionInfo().Application != "test" {
		t.Errorf("section %+v", r.SectionInfo())
	}
	var got []fakePacket
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ifc, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fakePacket{ifindex: map[string]int{"lo": 1, "wg0": 5, "eth1": 9}[ifc.Name], data: data, ts: ci.Timestamp})
	}
	if r.NInterfaces() != 3 {
		t.Errorf("%d interfaces, want lo, wg0, eth1", r.NInterfaces())
	}
	want := []fakePacket{src.pkts[0], src.pkts[1], src.pkts[2], src.pkts[4]}
	if len(got) != len(want) {
		t.Fatalf("read %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ifindex != want[i].ifindex || !bytes.Equal(got[i].data, want[i].data) || !got[i].ts.Equal(want[i].ts) {
			t.Errorf("packet %d: got if %d ts %v %d bytes, want if %d ts %v %d bytes", i,
				got[i].ifindex, got[i].ts, len(got[i].data), want[i].ifindex, want[i].ts, len(want[i].data))
		}
	}
	for i, name := range []string{"lo", "wg0", "eth1"} {
		ifc, _ := r.Interface(i)
		wantLink := map[string]layers.LinkType{"lo": layers.LinkTypeEthernet, "wg0": layers.LinkTypeRaw, "eth1": layers.LinkTypeEthernet}[name]
		if ifc.Name != name || ifc.LinkType != wantLink || ifc.SnapLength != Snaplen {
			t.Errorf("interface %d: %+v", i, ifc)
		}
	}
}

// TestPcapNGStaysTcpdumpReadable checks that an interface of another link
// type is declared only once it has traffic, so that the real tcpdump -r
// reads the file without an error and prints every packet.
func TestPcapNGStaysTcpdumpReadable(t *testing.T) {
	src := &fakeSource{pkts: []fakePacket{
		{ifindex: 1, data: udpFrame(t, 40001, "on lo"), ts: t0},
		{ifindex: 9, data: udpFrame(t, 40002, "on eth1"), ts: t0.Add(time.Millisecond)},
	}}
	var out bytes.Buffer
	st, err := capture(context.Background(), &out, src, []Interface{tun, lo, eth1}, nil, Options{MaxPackets: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, packets := readNg(t, out.Bytes())
	if read := uint64(len(packets)); st.Packets != 2 || read != st.Packets {
		t.Errorf("stats say %d packets, the file holds %d; want 2", st.Packets, read)
	}
	if r.NInterfaces() != 2 || st.MixedLinkTypes {
		t.Errorf("%d interfaces declared, mixed %v; want lo and eth1 only", r.NInterfaces(), st.MixedLinkTypes)
	}
	if len(st.Interfaces) != 2 || st.Interfaces[0].Name != "lo" {
		t.Errorf("interfaces %+v", st.Interfaces)
	}
	lines := tcpdumpRead(t, out.Bytes())
	if uint64(len(lines)) != st.Packets {
		t.Errorf("tcpdump -r printed %d packets, the writer wrote %d:\n%s", len(lines), st.Packets, strings.Join(lines, "\n"))
	}
	for i, want := range []string{"10.0.0.1.40001 > 10.0.0.2.9: UDP, length 5", "10.0.0.1.40002 > 10.0.0.2.9: UDP, length 7"} {
		if i < len(lines) && !strings.Contains(lines[i], want) {
			t.Errorf("tcpdump line %d = %q, want %q", i+1, lines[i], want)
		}
	}
}

func TestClassicPcapFraming(t *testing.T) {
	src := &fakeSource{pkts: []fakePacket{
		pkt(1, 60, t0),
		pkt(5, 41, t0.Add(time.Second)), // raw IP: not Ethernet, skipped
		{ifindex: 1, data: make([]byte, Snaplen+100), length: Snaplen + 100, ts: t0.Add(2 * time.Second)},
	}}
	var out bytes.Buffer
	st, err := capture(context.Background(), &out, src, []Interface{lo, tun}, lookupOf(lo, tun),
		Options{Format: FormatPcap, MaxPackets: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 2 || st.Skipped != 1 || st.Bytes != int64(out.Len()) {
		t.Errorf("stats %+v, file %d bytes", st, out.Len())
	}
	r, err := pcapgo.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != Snaplen || r.Resolution() != gopacket.TimestampResolutionNanosecond {
		t.Errorf("header: link %v snaplen %d resolution %v", r.LinkType(), r.Snaplen(), r.Resolution())
	}
	d1, ci1, err := r.ReadPacketData()
	if err != nil || !bytes.Equal(d1, src.pkts[0].data) || !ci1.Timestamp.Equal(t0) {
		t.Errorf("first packet %v %v %v", len(d1), ci1, err)
	}
	d2, ci2, err := r.ReadPacketData()
	if err != nil || len(d2) != Snaplen || ci2.Length != Snaplen+100 {
		t.Errorf("oversized packet: kept %d of %d, %v", len(d2), ci2.Length, err)
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("after two packets: %v", err)
	}
}

func TestByteLimitIsNeverExceeded(t *testing.T) {
	for _, format := range []Format{FormatPcapNG, FormatPcap} {
		var pkts []fakePacket
		for i := 0; i < 100; i++ {
			pkts = append(pkts, pkt(1, 50+i, t0.Add(time.Duration(i)*time.Millisecond)))
		}
		for _, max := range []int64{1, 200, 1000, 4321} {
			var out bytes.Buffer
			st, err := capture(context.Background(), &out, &fakeSource{pkts: pkts}, []Interface{lo}, nil,
				Options{Format: format, Interface: "lo", MaxBytes: max})
			if err != nil {
				t.Fatal(err)
			}
			if st.StopReason != StopMaxBytes {
				t.Errorf("%s max %d: stop reason %q", format, max, st.StopReason)
			}
			if st.Bytes != int64(out.Len()) {
				t.Errorf("%s max %d: stats say %d bytes, file has %d", format, max, st.Bytes, out.Len())
			}
			header := int64(24)
			if format == FormatPcapNG {
				header = 0 // the section and interface blocks are always written
			}
			if int64(out.Len()) > max && int64(out.Len()) > header && max > 200 {
				t.Errorf("%s max %d: file is %d bytes", format, max, out.Len())
			}
			// The next packet would not have fit.
			if st.Packets < 100 && int64(out.Len())+16+int64(50+st.Packets) <= max && format == FormatPcap {
				t.Errorf("%s max %d: stopped early at %d bytes", format, max, out.Len())
			}
		}
	}
}

// drainSource hands out nothing until the capture's duration has passed,
// then, in this order: a packet from before the deadline, read before or
// after the loop noticed the deadline; a second one from before the
// deadline, read while the loop drains; one stamped after the deadline;
// then poll timeouts.
//
// The loop's deadline is its start plus the duration. The source knows a
// time before that start (early) and one after it (its first read), so it
// polls until early+duration, when the loop cannot be draining yet, and
// returns its first packet no sooner than first+duration, after the
// deadline: the loop's next read then comes while it drains, whatever the
// scheduler does.
type drainSource struct {
	early    time.Time // a time before the capture started
	duration time.Duration
	first    time.Time // the first read, no earlier than the capture's start
	step     int
	frames   [3][]byte
}

func (d *drainSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	now := time.Now()
	if d.first.IsZero() {
		d.first = now
	}
	if now.Before(d.early.Add(d.duration)) || d.step >= 3 {
		time.Sleep(time.Millisecond)
		return nil, gopacket.CaptureInfo{}, errTimeout
	}
	if d.step == 0 {
		time.Sleep(time.Until(d.first.Add(d.duration)) + time.Millisecond)
	}
	ts := d.early
	if d.step == 2 {
		ts = time.Now().Add(time.Hour)
	}
	data := d.frames[d.step]
	d.step++
	return data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data), InterfaceIndex: lo.Index}, nil
}

func (d *drainSource) KernelStats() (uint64, uint64, uint64, error) { return 3, 0, 0, nil }

// TestDurationStopsAndDrains checks that a capture stops when its duration
// has passed, keeps what the kernel still hands over from before the
// deadline, drops what is stamped after it, and that real traffic sent
// during the capture is in the file.
func TestDurationStopsAndDrains(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		src := &drainSource{early: time.Now(), duration: 150 * time.Millisecond}
		for i, p := range []string{"before the deadline", "drained after it", "stamped after it"} {
			src.frames[i] = udpFrame(t, uint16(40001+i), p)
		}
		start := time.Now()
		var out bytes.Buffer
		st, err := capture(context.Background(), &out, src, []Interface{lo}, nil, Options{Duration: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if st.StopReason != StopDuration {
			t.Errorf("stop reason %q", st.StopReason)
		}
		if src.step != 3 {
			t.Fatalf("the capture read %d of the 3 late packets", src.step)
		}
		r, err := pcapgo.NewNgReader(bytes.NewReader(out.Bytes()), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for {
			data, _, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, data)
		}
		if st.Packets != 2 || len(got) != 2 || !bytes.Equal(got[0], src.frames[0]) || !bytes.Equal(got[1], src.frames[1]) {
			t.Errorf("kept %d packets (stats %d), want the two from before the deadline and not the one after it", len(got), st.Packets)
		}
		if el := time.Since(start); el > 150*time.Millisecond+maxDrain+500*time.Millisecond {
			t.Errorf("took %v", el)
		}
	})
	t.Run("loopback traffic", durationCapturesTraffic)
}

func TestCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	var out bytes.Buffer
	st, err := capture(ctx, &out, &fakeSource{}, []Interface{lo}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.StopReason != StopCanceled {
		t.Errorf("stop reason %q", st.StopReason)
	}
	if _, err := pcapgo.NewNgReader(bytes.NewReader(out.Bytes()), pcapgo.DefaultNgReaderOptions); err != nil {
		t.Errorf("empty capture is not a valid pcapng: %v", err)
	}
}

func TestUnsupportedNamedInterface(t *testing.T) {
	var out bytes.Buffer
	_, err := capture(context.Background(), &out, &fakeSource{}, []Interface{can}, nil, Options{Interface: "can0"})
	if err == nil {
		t.Fatal("capture on an interface without a link type succeeded")
	}
}

func TestLinkTypes(t *testing.T) {
	for hw, want := range map[uint16]layers.LinkType{
		arphrdEther: layers.LinkTypeEthernet, arphrdLoopback: layers.LinkTypeEthernet,
		arphrdNone: layers.LinkTypeRaw, arphrdTunnel: layers.LinkTypeRaw, 280: 0,
	} {
		if got := linkTypeOf(hw); got != want {
			t.Errorf("linkTypeOf(%d) = %v, want %v", hw, got, want)
		}
	}
}

// readNg reads a whole pcapng file and returns its reader and every
// packet's data; any read error but the end of the file fails the test.
func readNg(t *testing.T, b []byte) (*pcapgo.NgReader, [][]byte) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var packets [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return r, packets
		}
		if err != nil {
			t.Fatalf("reading packet %d: %v", len(packets)+1, err)
		}
		packets = append(packets, data)
	}
}
