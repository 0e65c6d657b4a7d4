package pcap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is a capture file format.
type Format string

// Capture file formats.
const (
	FormatPcapNG Format = "pcapng"
	FormatPcap   Format = "pcap"
)

// Snaplen is the most bytes kept of one packet: libpcap's MAXIMUM_SNAPLEN,
// what tcpdump keeps by default.
const Snaplen = 262144

// errByteLimit says the next record would make the file exceed MaxBytes.
var errByteLimit = errors.New("byte limit reached")

// countingWriter counts what reaches the layer below the format writers.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileWriter writes packets in one of the formats, maps kernel interface
// indexes to pcapng interface ids, and keeps the exact file size so that a
// byte limit is never overshot.
type fileWriter struct {
	format  Format
	buf     *bufio.Writer
	cw      *countingWriter
	ng      *pcapgo.NgWriter
	classic *pcapgo.Writer
	link    layers.LinkType // classic format only

	ids     map[int]int // kernel ifindex -> pcapng interface id
	ifaces  []Interface // by pcapng interface id
	known   map[int]Interface
	lookup  func(index int) (Interface, error)
	size    int64
	max     int64
	skipped uint64
	mixed   bool // interfaces of more than one link type were declared
	started time.Time
}

// newFileWriter writes the file header: for pcapng a section header and one
// interface block per interface in ifaces, for pcap the file header with
// the link type of ifaces[0] when capturing one interface, else Ethernet.
// lookup resolves interfaces that appear later (pcapng only).
func newFileWriter(out io.Writer, format Format, ifaces []Interface, single bool, maxBytes int64,
	app string, lookup func(int) (Interface, error), started time.Time) (*fileWriter, error) {
	fw := &fileWriter{
		format:  format,
		buf:     bufio.NewWriterSize(out, 64<<10),
		ids:     make(map[int]int),
		known:   make(map[int]Interface),
		lookup:  lookup,
		max:     maxBytes,
		started: started,
	}
	fw.cw = &countingWriter{w: fw.buf}
	for _, i := range ifaces {
		fw.known[i.Index] = i
	}
	switch format {
	case FormatPcap:
		fw.link = layers.LinkTypeEthernet
		if single && len(ifaces) == 1 {
			fw.link = ifaces[0].LinkType
		}
		if fw.link == 0 {
			return nil, fmt.Errorf("interface %s has device type %d, which no pcap link type covers", ifaces[0].Name, ifaces[0].HardwareType)
		}
		fw.classic = pcapgo.NewWriterNanos(fw.cw)
		if err := fw.classic.WriteFileHeader(Snaplen, fw.link); err != nil {
			return nil, fmt.Errorf("writing pcap header: %w", err)
		}
	case FormatPcapNG:
		// libpcap, and so tcpdump -r, refuses a pcapng whose interfaces
		// differ in link type. Declare up front only the interfaces of the
		// first link type (Ethernet when there is one: lo, veth, eth);
		// others get their block when their first packet arrives, so a
		// file stays readable by tcpdump unless such packets were seen.
		var first *Interface
		for i := range ifaces {
			if ifaces[i].LinkType == layers.LinkTypeEthernet {
				first = &ifaces[i]
				break
			}
		}
		for i := range ifaces {
			if first == nil && ifaces[i].LinkType != 0 {
				first = &ifaces[i]
			}
		}
		if first == nil {
			if single && len(ifaces) == 1 {
				return nil, fmt.Errorf("interface %s has device type %d, which no pcap link type covers", ifaces[0].Name, ifaces[0].HardwareType)
			}
			return nil, errors.New("no interface with a supported link type to capture")
		}
		ng, err := pcapgo.NewNgWriterInterface(fw.cw, ngInterface(*first), pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: app},
		})
		if err != nil {
			return nil, fmt.Errorf("writing pcapng header: %w", err)
		}
		fw.ng = ng
		fw.ids[first.Index] = 0
		fw.ifaces = append(fw.ifaces, *first)
		for _, i := range ifaces {
			if _, ok := fw.ids[i.Index]; ok || i.LinkType != first.LinkType {
				continue
			}
			if err := fw.addInterface(i); err != nil {
				return nil, err
			}
		}
		if err := ng.Flush(); err != nil {
			return nil, fmt.Errorf("writing pcapng header: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown capture format %q", format)
	}
	fw.size = fw.cw.n
	return fw, nil
}

func ngInterface(i Interface) pcapgo.NgInterface {
	return pcapgo.NgInterface{Name: i.Name, OS: runtime.GOOS, LinkType: i.LinkType, SnapLength: Snaplen}
}

func pad4(n int) int { return (4 - n&3) & 3 }

// idbSize is the size of the interface block pcapgo writes for i.
func idbSize(i Interface) int64 {
	opts := 4 + 4 + 4 // tsresol option with padding, end of options
	if i.Name != "" {
		opts += 4 + len(i.Name) + pad4(len(i.Name))
	}
	opts += 4 + len(runtime.GOOS) + pad4(len(runtime.GOOS))
	return int64(16 + opts + 4)
}

// addInterface writes an interface block, checking the byte limit.
func (fw *fileWriter) addInterface(i Interface) error {
	if fw.max > 0 && fw.size+idbSize(i) > fw.max {
		return errByteLimit
	}
	id, err := fw.ng.AddInterface(ngInterface(i))
	if err != nil {
		return fmt.Errorf("writing pcapng interface block for %s: %w", i.Name, err)
	}
	fw.ids[i.Index] = id
	fw.ifaces = append(fw.ifaces, i)
	fw.size += idbSize(i)
	if i.LinkType != fw.ifaces[0].LinkType {
		fw.mixed = true
	}
	return nil
}

// recordSize is the size of the packet record for caplen bytes.
func (fw *fileWriter) recordSize(caplen int) int64 {
	if fw.format == FormatPcap {
		return int64(16 + caplen)
	}
	return int64(32 + caplen + pad4(caplen))
}

// interfaceFor returns the interface of a kernel index, resolving it once.
func (fw *fileWriter) interfaceFor(index int) (Interface, bool) {
	if i, ok := fw.known[index]; ok {
		return i, true
	}
	if fw.lookup == nil {
		return Interface{}, false
	}
	i, err := fw.lookup(index)
	if err != nil {
		i = Interface{Index: index, Name: fmt.Sprintf("if%d", index)}
	}
	fw.known[index] = i
	return i, err == nil
}

// writePacket writes one packet. It returns written false for a packet it
// skips (an interface whose link type the file cannot hold), errByteLimit
// when the record would overshoot the byte limit.
func (fw *fileWriter) writePacket(ci gopacket.CaptureInfo, data []byte) (bool, error) {
	if len(data) > Snaplen {
		data = data[:Snaplen]
	}
	ci.CaptureLength = len(data)
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	iface, _ := fw.interfaceFor(ci.InterfaceIndex)
	if fw.format == FormatPcap {
		if iface.LinkType != fw.link {
			fw.skipped++
			return false, nil
		}
		if fw.max > 0 && fw.size+fw.recordSize(len(data)) > fw.max {
			return false, errByteLimit
		}
		if err := fw.classic.WritePacket(ci, data); err != nil {
			return false, fmt.Errorf("writing packet: %w", err)
		}
		fw.size += fw.recordSize(len(data))
		return true, nil
	}
	id, ok := fw.ids[ci.InterfaceIndex]
	if !ok {
		if iface.LinkType == 0 {
			fw.skipped++
			return false, nil
		}
		if err := fw.addInterface(iface); err != nil {
			return false, err
		}
		id = fw.ids[ci.InterfaceIndex]
	}
	if fw.max > 0 && fw.size+fw.recordSize(len(data)) > fw.max {
		return false, errByteLimit
	}
	ci.InterfaceIndex = id
	if err := fw.ng.WritePacket(ci, data); err != nil {
		return false, fmt.Errorf("writing packet: %w", err)
	}
	fw.size += fw.recordSize(len(data))
	return true, nil
}

// flush pushes everything written so far to the output.
func (fw *fileWriter) flush() error {
	if fw.ng != nil {
		if err := fw.ng.Flush(); err != nil {
			return err
		}
	}
	return fw.buf.Flush()
}

// finish writes pcapng interface statistics blocks (when they fit the byte
// limit) and flushes. Kernel counters are per socket, not per interface, so
// they go into the block only when one interface was captured.
func (fw *fileWriter) finish(st Stats, single bool) error {
	if fw.ng != nil {
		for id := range fw.ifaces {
			s := pcapgo.NgInterfaceStatistics{
				LastUpdate:      st.End,
				StartTime:       st.Start,
				EndTime:         st.End,
				PacketsReceived: pcapgo.NgNoValue64,
				PacketsDropped:  pcapgo.NgNoValue64,
			}
			size := int64(24 + 12 + 12 + 4)
			if single {
				s.PacketsReceived, s.PacketsDropped = st.KernelPackets, st.KernelDrops
				size += 24
			}
			if fw.max > 0 && fw.size+size > fw.max {
				break
			}
			if err := fw.ng.WriteInterfaceStats(id, s); err != nil {
				return fmt.Errorf("writing pcapng statistics: %w", err)
			}
			fw.size += size
		}
	}
	if err := fw.flush(); err != nil {
		return fmt.Errorf("flushing capture: %w", err)
	}
	return nil
}
