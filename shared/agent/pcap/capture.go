package pcap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
)

// Options configure one capture.
type Options struct {
	// Interface is the one interface to capture; empty means all.
	Interface string
	// NetNSPath, when set, is the network namespace to capture in, such as
	// /proc/<pid>/ns/net; empty means the agent's own.
	NetNSPath string
	// Duration stops the capture after this long; 0 means no time limit.
	Duration time.Duration
	// MaxPackets stops the capture after this many packets; 0: no limit.
	MaxPackets int64
	// MaxBytes stops the capture before the file would exceed this many
	// bytes; 0: no limit.
	MaxBytes int64
	// Format is the file format; empty means pcapng.
	Format Format
	// BufferSize is the kernel ring size in bytes; 0 means 32 MiB.
	BufferSize int64
	// Application is recorded in the pcapng section header.
	Application string
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// Stop reasons.
const (
	StopDuration   = "duration elapsed"
	StopMaxPackets = "packet limit reached"
	StopMaxBytes   = "byte limit reached"
	StopCanceled   = "stopped"
	StopError      = "error"
)

// Stats describe a finished capture.
type Stats struct {
	Format Format `json:"format"`
	// Packets and Bytes are what the file holds: packet records and the
	// file's total size.
	Packets uint64 `json:"packets"`
	Bytes   int64  `json:"bytes"`
	// KernelPackets and KernelDrops are the socket's PACKET_STATISTICS:
	// packets that passed the filter (drops included, as the kernel counts
	// them) and packets dropped because the ring was full. KernelFreezes
	// counts ring freezes (TPACKET_V3).
	KernelPackets uint64 `json:"kernel_packets"`
	KernelDrops   uint64 `json:"kernel_drops"`
	KernelFreezes uint64 `json:"kernel_freezes"`
	// Skipped counts packets of interfaces whose link type the file format
	// cannot hold.
	Skipped uint64 `json:"skipped_packets"`
	// MixedLinkTypes is true when the pcapng declares interfaces of more
	// than one link type: tshark reads it, tcpdump -r refuses it.
	MixedLinkTypes bool        `json:"mixed_link_types,omitempty"`
	StopReason     string      `json:"stop_reason"`
	Interfaces     []Interface `json:"interfaces"`
	Start          time.Time   `json:"start"`
	End            time.Time   `json:"end"`
}

// errTimeout is what a source returns when no packet arrived within its
// poll timeout.
var errTimeout = errors.New("no packet within the poll timeout")

// source is a packet socket, faked in tests.
type source interface {
	// ZeroCopyReadPacketData returns the next packet, valid until the next
	// call, or errTimeout.
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	// KernelStats returns the kernel's packet, drop and freeze counters.
	KernelStats() (packets, drops, freezes uint64, err error)
}

// Loop timing. The poll timeout is longer than the ring's block timeout,
// so that a timeout means the kernel had nothing left to hand over.
const (
	blockTimeout  = 50 * time.Millisecond
	pollTimeout   = 100 * time.Millisecond
	flushInterval = 250 * time.Millisecond
	maxDrain      = time.Second
)

// loop reads packets from src into fw until a limit, the duration or ctx
// ends it.
func loop(ctx context.Context, src source, fw *fileWriter, o Options, st *Stats) error {
	var deadline time.Time
	if o.Duration > 0 {
		deadline = st.Start.Add(o.Duration)
	}
	var (
		draining   bool
		stopAt     time.Time
		drainUntil time.Time
		lastFlush  = time.Now()
	)
	for {
		now := time.Now()
		if !draining {
			switch {
			case ctx.Err() != nil:
				st.StopReason = StopCanceled
			case !deadline.IsZero() && !now.Before(deadline):
				st.StopReason = StopDuration
			}
			if st.StopReason != "" {
				draining, stopAt, drainUntil = true, now, now.Add(maxDrain)
				if st.StopReason == StopDuration {
					stopAt = deadline
				}
			}
		} else if now.After(drainUntil) {
			return nil
		}
		if now.Sub(lastFlush) >= flushInterval {
			if err := fw.flush(); err != nil {
				return fmt.Errorf("flushing capture: %w", err)
			}
			lastFlush = now
		}
		data, ci, err := src.ZeroCopyReadPacketData()
		if errors.Is(err, errTimeout) {
			if draining {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("reading packets: %w", err)
		}
		if draining && ci.Timestamp.After(stopAt) {
			continue
		}
		ok, err := fw.writePacket(ci, data)
		if errors.Is(err, errByteLimit) {
			st.StopReason = StopMaxBytes
			return nil
		}
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		st.Packets++
		if o.MaxPackets > 0 && st.Packets >= uint64(o.MaxPackets) {
			st.StopReason = StopMaxPackets
			return nil
		}
	}
}

// capture runs a whole capture on an opened source: header, loop, kernel
// statistics, trailer.
func capture(ctx context.Context, w io.Writer, src source, ifaces []Interface, lookup func(int) (Interface, error), o Options) (Stats, error) {
	if o.Format == "" {
		o.Format = FormatPcapNG
	}
	st := Stats{Format: o.Format, Start: time.Now().UTC()}
	single := o.Interface != ""
	fw, err := newFileWriter(w, o.Format, ifaces, single, o.MaxBytes, o.Application, lookup, st.Start)
	if err != nil {
		return st, err
	}
	if fw.max > 0 && fw.size >= fw.max {
		st.StopReason = StopMaxBytes
	} else {
		err = loop(ctx, src, fw, o, &st)
	}
	if err != nil {
		st.StopReason = StopError
	}
	st.End = time.Now().UTC()
	var kerr error
	st.KernelPackets, st.KernelDrops, st.KernelFreezes, kerr = src.KernelStats()
	st.Skipped = fw.skipped
	st.MixedLinkTypes = fw.mixed
	st.Interfaces = fw.ifaces
	if fw.format == FormatPcap {
		st.Interfaces = nil
		for _, i := range ifaces {
			if i.LinkType == fw.link {
				st.Interfaces = append(st.Interfaces, i)
			}
		}
	}
	if ferr := fw.finish(st, single); ferr != nil && err == nil {
		err = ferr
	}
	st.Bytes = fw.size
	if err == nil && kerr != nil {
		err = fmt.Errorf("reading kernel packet statistics: %w", kerr)
	}
	return st, err
}
