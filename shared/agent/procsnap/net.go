package procsnap

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// tcpStates are the kernel's TCP states (include/net/tcp_states.h).
var tcpStates = map[uint64]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW_SYN_RECV",
}

// readInetSockets parses /proc/net/{tcp,tcp6,udp,udp6}. A missing file
// (IPv6 disabled) is no error.
func readInetSockets(path, proto string) ([]Socket, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s sockets: %w", proto, err)
	}
	defer f.Close()
	var out []Socket
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first { // column titles
			first = false
			continue
		}
		s, err := parseInetLine(sc.Text(), proto)
		if err != nil {
			return out, fmt.Errorf("reading %s sockets: %w", proto, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading %s sockets: %w", proto, err)
	}
	return out, nil
}

func parseInetLine(line, proto string) (Socket, error) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return Socket{}, fmt.Errorf("line %q has %d fields, want at least 10", line, len(f))
	}
	s := Socket{Proto: proto}
	var err error
	if s.Local, err = parseHexAddr(f[1]); err != nil {
		return s, err
	}
	if s.Remote, err = parseHexAddr(f[2]); err != nil {
		return s, err
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return s, fmt.Errorf("state %q: %w", f[3], err)
	}
	s.State = tcpStates[st]
	if strings.HasPrefix(proto, "udp") {
		// UDP reuses TCP_ESTABLISHED for connected sockets and TCP_CLOSE
		// for the rest, which ss calls UNCONN.
		if st == 7 {
			s.State = "UNCONN"
		}
	}
	if s.State == "" {
		s.State = "0x" + f[3]
	}
	tx, rx, _ := strings.Cut(f[4], ":")
	s.TxQ, _ = strconv.ParseUint(tx, 16, 64)
	s.RxQ, _ = strconv.ParseUint(rx, 16, 64)
	s.UID, _ = strconv.Atoi(f[7])
	s.Inode, _ = strconv.ParseUint(f[9], 10, 64)
	return s, nil
}

// parseHexAddr decodes "0100007F:1F90" (IPv4) or a 32-digit IPv6 address
// and port. The kernel prints each 32-bit word of the address as a number
// in host byte order.
func parseHexAddr(s string) (string, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("address %q has no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", fmt.Errorf("port of %q: %w", s, err)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", fmt.Errorf("address %q is not 8 or 32 hex digits", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		w := binary.BigEndian.Uint32(raw[i : i+4])
		binary.NativeEndian.PutUint32(b[i:i+4], w)
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)).String(), nil
}

// unixTypes are socket types as /proc/net/unix prints them.
var unixTypes = map[string]string{"0001": "stream", "0002": "dgram", "0005": "seqpacket"}

// unixStates are socket states (SS_*), LISTEN when the accept flag is set.
var unixStates = map[string]string{"01": "UNCONNECTED", "02": "CONNECTING", "03": "CONNECTED", "04": "DISCONNECTING"}

const unixAcceptCon = 0x10000

func readUnixSockets(path string) ([]Socket, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading unix sockets: %w", err)
	}
	defer f.Close()
	var out []Socket
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		line := sc.Text()
		fl := strings.Fields(line)
		if len(fl) < 7 {
			return out, fmt.Errorf("reading unix sockets: line %q has %d fields, want at least 7", line, len(fl))
		}
		s := Socket{Proto: "unix", Type: unixTypes[fl[4]], State: unixStates[fl[5]]}
		if s.Type == "" {
			s.Type = fl[4]
		}
		if flags, err := strconv.ParseUint(fl[3], 16, 32); err == nil && flags&unixAcceptCon != 0 {
			s.State = "LISTEN"
		}
		if s.State == "" {
			s.State = fl[5]
		}
		s.Inode, _ = strconv.ParseUint(fl[6], 10, 64)
		if len(fl) > 7 {
			s.Path = line[indexField(line, 7):]
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading unix sockets: %w", err)
	}
	return out, nil
}
