#!/usr/bin/env bash
# Benchmark, not a test: kernel-reported packet drops of the forensic agent
# against `tcpdump -w`, both capturing the same bounded bursts of traffic on
# the loopback of a private network namespace, at the same time.
#
#   sudo test/bench/agent-drops.sh [--rounds "COUNTxSIZE ..."] [--buffer BYTES] [--runs N]
#
# Each round is COUNT UDP datagrams of SIZE payload bytes, sent as fast as
# one sender can to 127.0.0.1 inside the namespace (a receiver drains
# them). Traffic never leaves the namespace; every loop is bounded by its
# count; the namespace and every process started here are removed on exit.
#
# Two tables: first both capturers with the same kernel ring, BYTES (32 MiB
# by default, the agent's default: `tcpdump -B BYTES/1024`, agent
# `--pcap-buffer BYTES`), then each with its default (tcpdump: libpcap's
# 2 MiB; agent: 32 MiB). Every round runs N times (3 by default, at least
# 3), rounds and tables taking turns; each figure is the median with the
# range (min-max).
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
buffer=$((32 << 20))
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --buffer) buffer=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "agent-drops.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$buffer" in
  '' | *[!0-9]*) echo "agent-drops.sh: --buffer takes a size in bytes, a multiple of 1 MiB (like 33554432), not '$buffer'" >&2; exit 2 ;;
esac
# The agent's ring is made of 1 MiB blocks; tcpdump -B takes KiB.
if [ "$buffer" -lt $((1 << 20)) ] || [ $((buffer % (1 << 20))) -ne 0 ]; then
  echo "agent-drops.sh: --buffer must be a multiple of 1 MiB (1048576 bytes), so that both rings are the same size, not $buffer" >&2; exit 2
fi
case "$runs" in
  '' | *[!0-9]*) echo "agent-drops.sh: --runs takes a number of at least 3, not '$runs'" >&2; exit 2 ;;
esac
[ "$runs" -ge 3 ] || { echo "agent-drops.sh: --runs must be at least 3 (median and range), not $runs" >&2; exit 2; }
for round in $rounds; do
  [[ "$round" =~ ^[0-9]+x[0-9]+$ ]] || { echo "agent-drops.sh: a round is COUNTxSIZE, like 100000x1400, not '$round'" >&2; exit 2; }
done

[ "$(id -u)" = 0 ] || { echo "agent-drops.sh: needs root (network namespace, packet sockets)" >&2; exit 1; }
for tool in ip tcpdump go; do
  command -v "$tool" >/dev/null || { echo "agent-drops.sh: needs $tool" >&2; exit 1; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/agent-drops.XXXXXX)
ns="fa-bench-$$"
pids=()

live=() # the current burst's processes
cleanup() {
  for p in "${pids[@]:-}" "${live[@]:-}"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
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

# burst CONFIG ROUND RUN: one burst captured by both; appends one line to
# $work/CONFIG.ROUND: sent tcpdump-rcv tcpdump-file tcpdump-drop agent-rcv
# agent-file agent-drop.
burst() {
  local config=$1 round=$2 run=$3
  local count=${round%x*} size=${round#*x}
  local d="$work/$config-$round-$run"
  mkdir -p "$d"

  local tcpdump_args=(-i lo -n -w "$d/tcpdump.pcap")
  local agent_args=(run --wait-stdin=false --target-pid "$target" --pcap 10m --pcap-iface lo)
  if [ "$config" = same ]; then
    tcpdump_args+=(-B $((buffer / 1024)))
    agent_args+=(--pcap-buffer "$buffer")
  fi
  ip netns exec "$ns" tcpdump "${tcpdump_args[@]}" 2> "$d/tcpdump.err" &
  local tcpdump_pid=$!
  live=("$tcpdump_pid")
  # The agent's stream goes through the same demux a plugin uses.
  ( ip netns exec "$ns" "$work/forensic-agent" "${agent_args[@]}" 2> "$d/agent.err" \
      | "$work/forensic-agent" unpack --dir "$d/agent" > "$d/unpack.json" ) &
  local pipe_pid=$!
  live+=("$pipe_pid")
  wait_for "$d/tcpdump.err" "listening on"
  wait_for "$d/agent.err" "pcap: capturing on"
  local agent_pid
  agent_pid=$(pgrep -f -n "forensic-agent run --wait-stdin=false --target-pid $target" || true)
  if [ -n "$agent_pid" ]; then live+=("$agent_pid"); fi

  local gen_out
  gen_out=$(ip netns exec "$ns" "$work/gen/gen" -n "$count" -size "$size")
  sleep 1
  kill -INT "$tcpdump_pid"
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid"
  wait "$tcpdump_pid" 2>/dev/null || true
  # Bounded: the agent ends its stream and unpack its files on TERM.
  for _ in $(seq 1 100); do
    kill -0 "$pipe_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pipe_pid" 2>/dev/null || true
  wait "$pipe_pid" 2>/dev/null || true
  live=() # both waited for: their ids may be reused, never kill them later

  local sent t_recv t_drop t_file a_line a_recv a_drop a_file
  sent=$(sed -E 's/^sent ([0-9]+) .*/\1/' <<<"$gen_out")
  t_recv=$(awk '/received by filter/ {print $1}' "$d/tcpdump.err")
  t_drop=$(awk '/dropped by kernel/ {print $1}' "$d/tcpdump.err")
  t_file=$(count_records "$d/tcpdump.pcap")
  a_line=$(grep "pcap: .* packets" "$d/agent.err" | tail -1 || true)
  a_recv=$(sed -nE 's/.*kernel: ([0-9]+) received.*/\1/p' <<<"$a_line")
  a_drop=$(sed -nE 's/.* received by filter, ([0-9]+) dropped.*/\1/p' <<<"$a_line")
  a_file=$(count_records "$d/agent/pcap/capture.pcapng")
  local v
  for v in "$sent" "$t_recv" "$t_file" "$t_drop" "$a_recv" "$a_file" "$a_drop"; do
    if ! [[ "$v" =~ ^[0-9]+$ ]]; then
      echo "agent-drops.sh: round $round ($config rings, run $run): a count is missing; the logs:" >&2
      cat "$d/tcpdump.err" "$d/agent.err" >&2
      echo "$gen_out" >&2
      exit 1
    fi
  done
  echo "$config $round run $run: $gen_out" >&2
  echo "$sent $t_recv $t_file $t_drop $a_recv $a_file $a_drop" >> "$work/$config.$round"
  rm -rf "$d"
}

for ((run = 1; run <= runs; run++)); do
  for round in $rounds; do
    for config in same default; do
      burst "$config" "$round" "$run"
    done
  done
done

# stat FILE COLUMN -> "median (min-max)" of that column over the runs.
stat3() {
  cut -d' ' -f"$2" "$1" | sort -n | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)
    printf "%d (%d-%d)", m, v[1], v[NR]
  }'
}
table() { # table CONFIG TITLE
  echo
  echo "$2"
  printf '%-12s %-8s %10s %26s %26s %24s\n' "round" "capturer" "sent" "received by filter" "in file" "kernel drops"
  local round f
  for round in $rounds; do
    f="$work/$1.$round"
    printf '%-12s %-8s %10s %26s %26s %24s\n' "$round" tcpdump "$(cut -d' ' -f1 "$f" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")" \
      "$(stat3 "$f" 2)" "$(stat3 "$f" 3)" "$(stat3 "$f" 4)"
    printf '%-12s %-8s %10s %26s %26s %24s\n' "" agent "" "$(stat3 "$f" 5)" "$(stat3 "$f" 6)" "$(stat3 "$f" 7)"
  done
}

echo
echo "kernel: $(uname -r), cores: $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg), tcpdump $(tcpdump --version 2>&1 | head -1 | cut -d' ' -f3), libpcap $(tcpdump --version 2>&1 | sed -n 's/^libpcap version \([^ ]*\).*/\1/p')"
echo "each figure: median (min-max) of $runs runs; both capturers saw the same bursts at the same time"
table same "same kernel ring for both: $((buffer >> 20)) MiB (tcpdump -B $((buffer / 1024)), agent --pcap-buffer $buffer)"
table default "each with its default ring: tcpdump 2 MiB (libpcap's default), agent 32 MiB"
