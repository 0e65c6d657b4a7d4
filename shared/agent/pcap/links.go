package pcap

import "github.com/gopacket/gopacket/layers"

// Interface is a network interface of the captured namespace.
type Interface struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// HardwareType is the kernel's ARPHRD_* type.
	HardwareType uint16 `json:"hardware_type"`
	// LinkType is the pcap link type of its packets, 0 when unsupported.
	LinkType layers.LinkType `json:"link_type"`
}

// Kernel ARPHRD_* device types (linux/if_arp.h).
const (
	arphrdEther     = 1
	arphrdIEEE802   = 6
	arphrdPPP       = 512
	arphrdRawIP     = 519
	arphrdTunnel    = 768
	arphrdTunnel6   = 769
	arphrdLoopback  = 772
	arphrdSit       = 776
	arphrdIEEE80211 = 801
	arphrdRadiotap  = 803
	arphrdNone      = 0xfffe
)

// linkTypeOf maps a device type to the pcap link type of the frames a raw
// packet socket reads from it, as libpcap does; 0 means unsupported.
func linkTypeOf(hwType uint16) layers.LinkType {
	switch hwType {
	case arphrdEther, arphrdIEEE802, arphrdLoopback:
		// Loopback frames carry a zeroed Ethernet header.
		return layers.LinkTypeEthernet
	case arphrdNone, arphrdRawIP, arphrdTunnel, arphrdTunnel6, arphrdSit, arphrdPPP:
		// No link-layer header: the frame starts with the IP header
		// (wireguard, tun, ipip, sit).
		return layers.LinkTypeRaw
	case arphrdIEEE80211:
		return layers.LinkTypeIEEE802_11
	case arphrdRadiotap:
		return layers.LinkTypeIEEE80211Radio
	}
	return 0
}
