#!/usr/bin/env bash
# Benchmark, not a test: kernel-reported packet drops of the forensic agent
# against `tcpdump -w`, both capturing the same bounded bursts of traffic on
# the loopback of a private network namespace, at the same time.
#
#   sudo test/bench/agent-drops.sh [--rounds "COUNTxSIZE ..."] [--buffer BYTES]
#
# Each round is COUNT UDP datagrams of SIZE payload bytes, sent as fast as
# one sender can to 127.0.0.1 inside the namespace (a receiver drains
# them). Traffic never leaves the namespace; every loop is bounded by its
# count; the namespace and every process started here are removed on exit.
#
# What the figures mean: "kernel drops" is PACKET_STATISTICS tp_drops of
# the capturing socket (what tcpdump prints as "dropped by kernel").
# "received by filter" differs by design on loopback: the kernel hands a
# packet socket every loopback packet twice (outgoing and incoming);
# libpcap drops the outgoing copy after the kernel counted it, the agent's
# socket filter drops it before, so tcpdump's count is about twice the
# agent's. Compare "in file" (records in each capture file) and drops.
set -euo pipefail

rounds="300000x64 100000x1400 30000x8000"
buffer=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --buffer) buffer=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "agent-drops.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "agent-drops.sh: needs root (network namespace, packet sockets)" >&2; exit 1; }
for tool in ip tcpdump go; do
  command -v "$tool" >/dev/null || { echo "agent-drops.sh: needs $tool" >&2; exit 1; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/agent-drops.XXXXXX)
ns="fa-bench-$$"
pids=()

cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the agent and the traffic generator..." >&2
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$work/forensic-agent" ./forensic-agent)
mkdir -p "$work/gen"
cat > "$work/gen/main.go" <<'EOF'
// Sends -n UDP datagrams of -size bytes to a receiver on 127.0.0.1 that
// drains them, as fast as one goroutine can, then exits.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "datagrams to send")
	size := flag.Int("size", 64, "payload bytes")
	flag.Parse()
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rx.SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := rx.Read(buf); err != nil {
				return
			}
		}
	}()
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	payload := make([]byte, *size)
	start := time.Now()
	sent := 0
	for i := 0; i < *n; i++ {
		if _, err := tx.Write(payload); err == nil {
			sent++
		}
	}
	el := time.Since(start)
	fmt.Printf("sent %d datagrams of %d bytes in %v (%.0f/s)\n", sent, *size, el.Round(time.Millisecond), float64(sent)/el.Seconds())
	time.Sleep(200 * time.Millisecond)
}
EOF
printf 'module gen\n\ngo 1.22\n' > "$work/gen/go.mod"
(cd "$work/gen" && CGO_ENABLED=0 go build -o "$work/gen/gen" .)

ip netns add "$ns"
ip -n "$ns" link set lo up
# A process to be the agent's target: the agent reads the namespace from it.
ip netns exec "$ns" sleep 3600 &
pids+=($!)
anchor=$!
sleep 0.2
target=$(pgrep -P "$anchor" sleep || echo "$anchor")

wait_for() { # file pattern
  for _ in $(seq 1 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "agent-drops.sh: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  return 1
}

count_records() {
  if command -v capinfos >/dev/null; then
    capinfos -M -c "$1" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}'
  else
    tcpdump -r "$1" 2>/dev/null | wc -l
  fi
}

results=()
for round in $rounds; do
  count=${round%x*}
  size=${round#*x}
  d="$work/round-$round"
  mkdir -p "$d"

  ip netns exec "$ns" tcpdump -i lo -n -w "$d/tcpdump.pcap" 2> "$d/tcpdump.err" &
  tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  agent_args=(run --wait-stdin=false --target-pid "$target" --pcap 10m --pcap-iface lo)
  [ -n "$buffer" ] && agent_args+=(--pcap-buffer "$buffer")
  # The agent's stream goes through the same demux a plugin uses.
  ( ip netns exec "$ns" "$work/forensic-agent" "${agent_args[@]}" 2> "$d/agent.err" \
      | "$work/forensic-agent" unpack --dir "$d/agent" > "$d/unpack.json" ) &
  pids+=($!)
  wait_for "$d/tcpdump.err" "listening on"
  wait_for "$d/agent.err" "pcap: capturing on"
  agent_pid=$(pgrep -f -n "forensic-agent run --wait-stdin=false --target-pid $target" || true)

  gen_out=$(ip netns exec "$ns" "$work/gen/gen" -n "$count" -size "$size")
  sleep 1
  kill -INT "$tcpdump_pid"
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid"
  wait "$tcpdump_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    grep -q "sent .* bytes, sha256" "$d/agent.err" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5

  t_recv=$(awk '/received by filter/ {print $1}' "$d/tcpdump.err")
  t_drop=$(awk '/dropped by kernel/ {print $1}' "$d/tcpdump.err")
  t_file=$(count_records "$d/tcpdump.pcap")
  a_line=$(grep "pcap: .* packets" "$d/agent.err" | tail -1)
  a_recv=$(sed -E 's/.*kernel: ([0-9]+) received.*/\1/' <<<"$a_line")
  a_drop=$(sed -E 's/.* received by filter, ([0-9]+) dropped.*/\1/' <<<"$a_line")
  a_file=$(count_records "$d/agent/pcap/capture.pcapng")
  echo "round $round: $gen_out" >&2
  results+=("$(printf '%-12s %10s %12s %12s %10s   %12s %12s %10s' "$round" "$count" \
    "$t_recv" "$t_file" "$t_drop" "$a_recv" "$a_file" "$a_drop")")
done

echo
echo "kernel: $(uname -r), cores: $(nproc), tcpdump: $(tcpdump --version 2>&1 | head -1 | cut -d' ' -f3) (default 2 MiB buffer), agent ring: ${buffer:-32 MiB (default)}"
printf '%-12s %10s %12s %12s %10s   %12s %12s %10s\n' "round" "sent" "tcpdump-rcv" "tcpdump-file" "tcpdump-drop" "agent-rcv" "agent-file" "agent-drop"
for r in "${results[@]}"; do echo "$r"; done
