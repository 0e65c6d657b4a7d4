// Package pcap captures the packets of a network namespace with AF_PACKET
// and writes them as a pcapng (default) or classic pcap stream that
// `tshark -r` and `tcpdump -r` read.
//
// The socket is gopacket's pure-Go afpacket.TPacket: a TPACKET_V3
// memory-mapped ring, the same mechanism libpcap and so tcpdump use, with a
// larger ring by default (32 MiB against tcpdump's 2 MiB), so that a burst
// is absorbed rather than dropped. File formats come from gopacket's pcapgo.
//
// "All interfaces" is one socket bound to no interface: it sees every
// interface of the namespace, including ones created during the capture.
// In pcapng each interface gets its own interface description block with
// its own link type; the classic format has one link type per file, so
// packets of interfaces with another link type are counted and skipped.
//
// Loopback devices hand every packet to packet sockets twice (outgoing and
// incoming); like libpcap, the outgoing copy is dropped, here in the kernel
// by a small classic BPF program, so counts match tcpdump's.
//
// Capture honours a duration, a packet limit and a byte limit (on the size
// of the capture file). When it stops for time or cancellation it drains
// the ring for a moment, keeping packets timestamped before the stop, since
// the kernel hands over a partly filled ring block only after its block
// timeout. The kernel's packet and drop counters (PACKET_STATISTICS) are
// returned in Stats.
//
// To capture the namespace of another process, Options.NetNSPath names its
// /proc/<pid>/ns/net: the socket is created there (setns on a locked
// thread, which needs CAP_SYS_ADMIN) and stays there.
package pcap
