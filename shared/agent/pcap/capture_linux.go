//go:build linux

package pcap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Capture captures packets as o says and writes the capture file to w. It
// returns when the duration elapsed, a limit was reached or ctx was
// canceled; the file is complete in every case, and Stats.StopReason says
// which. An error means the capture failed; the file then holds what was
// captured until then.
func Capture(ctx context.Context, w io.Writer, o Options) (Stats, error) {
	var (
		h      *afpacket.TPacket
		ifaces []Interface
	)
	err := inNetNS(o.NetNSPath, func() error {
		var err error
		if ifaces, err = listInterfaces(); err != nil {
			return err
		}
		if o.Interface != "" {
			var found []Interface
			var names []string
			for _, i := range ifaces {
				names = append(names, i.Name)
				if i.Name == o.Interface {
					found = append(found, i)
				}
			}
			if len(found) == 0 {
				return fmt.Errorf("no interface %q in the captured network namespace (it has: %s)", o.Interface, strings.Join(names, ", "))
			}
			ifaces = found
		}
		h, err = openSocket(o)
		return err
	})
	if err != nil {
		return Stats{Format: o.Format, StopReason: StopError}, err
	}
	defer h.Close()
	if o.Logf != nil {
		var names []string
		for _, i := range ifaces {
			names = append(names, i.Name)
		}
		o.Logf("pcap: capturing on %s (%s), ring %d MiB", strings.Join(names, ", "), o.Format, ringBlocks(o.BufferSize))
	}
	lookup := func(index int) (Interface, error) {
		var found Interface
		err := inNetNS(o.NetNSPath, func() error {
			all, err := listInterfaces()
			if err != nil {
				return err
			}
			for _, i := range all {
				if i.Index == index {
					found = i
					return nil
				}
			}
			return fmt.Errorf("no interface with index %d", index)
		})
		return found, err
	}
	return capture(ctx, w, &tpacketSource{h}, ifaces, lookup, o)
}

const ringBlockSize = 1 << 20

// ringBlocks is the number of 1 MiB ring blocks for a buffer size.
func ringBlocks(size int64) int {
	if size <= 0 {
		size = 32 << 20
	}
	n := int((size + ringBlockSize - 1) / ringBlockSize)
	if n < 2 {
		n = 2
	}
	return n
}

// openSocket opens the TPACKET_V3 ring socket in the current thread's
// network namespace and attaches the loopback filter.
func openSocket(o Options) (*afpacket.TPacket, error) {
	opts := []any{
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptFrameSize(4096),
		afpacket.OptBlockSize(ringBlockSize),
		afpacket.OptNumBlocks(ringBlocks(o.BufferSize)),
		afpacket.OptBlockTimeout(blockTimeout),
		afpacket.OptPollTimeout(pollTimeout),
		afpacket.OptAddVLANHeader(true),
		afpacket.OptSocketType(afpacket.SocketRaw),
	}
	where := "every interface"
	if o.Interface != "" {
		opts = append(opts, afpacket.OptInterface(o.Interface))
		where = o.Interface
	}
	h, err := afpacket.NewTPacket(opts...)
	if err != nil {
		hint := ""
		if errors.Is(err, unix.EPERM) {
			hint = " (the agent needs CAP_NET_RAW)"
		}
		return nil, fmt.Errorf("opening packet socket on %s: %w%s", where, err, hint)
	}
	// A packet that slipped in between bind and attach may be a loopback
	// duplicate; the window is a few microseconds.
	prog, err := bpf.Assemble(loopbackFilter())
	if err == nil {
		err = h.SetBPF(prog)
	}
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("attaching loopback filter on %s: %w", where, err)
	}
	return h, nil
}

// loopbackFilter accepts every packet except the outgoing copy on loopback
// devices, which the kernel also delivers as incoming: libpcap drops the
// same copy in user space.
func loopbackFilter() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtLinkLayerType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arphrdLoopback, SkipFalse: 2},
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: Snaplen},
		bpf.RetConstant{Val: 0},
	}
}

// tpacketSource adapts afpacket.TPacket to source.
type tpacketSource struct{ h *afpacket.TPacket }

func (s *tpacketSource) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if errors.Is(err, afpacket.ErrTimeout) {
		return nil, ci, errTimeout
	}
	return data, ci, err
}

func (s *tpacketSource) KernelStats() (uint64, uint64, uint64, error) {
	v1, v3, err := s.h.SocketStats()
	if err != nil {
		return 0, 0, 0, err
	}
	if v3.Packets() != 0 || v3.Drops() != 0 {
		return uint64(v3.Packets()), uint64(v3.Drops()), uint64(v3.QueueFreezes()), nil
	}
	return uint64(v1.Packets()), uint64(v1.Drops()), 0, nil
}

// listInterfaces lists the interfaces of the current thread's network
// namespace over rtnetlink, with their device types, which the net package
// does not expose.
func listInterfaces() ([]Interface, error) {
	tab, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(tab)
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var out []Interface
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type == syscall.NLMSG_DONE {
			break
		}
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		iface := Interface{
			HardwareType: binary.NativeEndian.Uint16(m.Data[2:4]),
			Index:        int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))),
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, fmt.Errorf("listing network interfaces: %w", err)
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				iface.Name = strings.TrimRight(string(a.Value), "\x00")
			}
		}
		iface.LinkType = linkTypeOf(iface.HardwareType)
		out = append(out, iface)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// inNetNS runs fn on a thread that is in the network namespace at path
// (the current one when path is empty or names the current namespace).
// Sockets fn creates stay in that namespace for their lifetime.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	var cur, tgt unix.Stat_t
	if err := unix.Stat(path, &tgt); err != nil {
		return fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &cur); err == nil && cur.Dev == tgt.Dev && cur.Ino == tgt.Ino {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening own network namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening network namespace %s: %w", path, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering network namespace %s: %w (share the target's network namespace, or give the agent CAP_SYS_ADMIN)", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it ends with this goroutine
			// rather than serve others in the wrong namespace.
			errc <- fmt.Errorf("returning from network namespace %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
