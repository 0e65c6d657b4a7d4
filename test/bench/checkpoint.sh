#!/usr/bin/env bash
# Benchmark, not a test: analyze on a checkpoint with at least 1 GiB of
# memory pages against checkpointctl on the same archive, in one run.
#
#   sudo test/bench/checkpoint.sh [--mib N] [--keep DIR]
#
# A target of our own touches N MiB (1024 by default) with a marker in
# the middle and is dumped with CRIU 4.1.1 (the build test/k8s/cluster
# deps unpacks; CRIU=path overrides), left running, then killed. The folder
# is laid out as a kubelet checkpoint archive (checkpoint/, config.dump,
# spec.dump, stats-dump), since checkpointctl reads only that layout.
# checkpointctl v1.4.0 is built from the module proxy (the newest release
# whose dependencies the proxy serves in full; see
# test/e2e/analyze/checkpoint_test.go).
#
# Measured with /usr/bin/time -v, one run each, in this order:
#   analyze -o json ARCHIVE                    the whole report
#   analyze --search MARKER ARCHIVE            report and search
#   checkpointctl inspect --all ARCHIVE        its whole report
#   checkpointctl memparse ARCHIVE             memory sizes
#   checkpointctl memparse --search MARKER --pid PID ARCHIVE
# Figures: wall time, peak RSS, and whether the marker was found.
set -euo pipefail
cd "$(dirname "$0")/../.."

mib=1024
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mib) mib=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "checkpoint.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
criu=${CRIU:-/var/cache/forensic-k8s/criu-4.1.1-1/bin/criu}
[ -x "$criu" ] || { echo "checkpoint.sh: no CRIU at $criu: run test/k8s/cluster deps (or set CRIU)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "checkpoint.sh: CRIU dumps need root" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "checkpoint.sh: /usr/bin/time is needed (Debian package time)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/forensic-bench-checkpoint.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  if [ -n "$keep" ]; then mkdir -p "$keep" && mv "$work"/archive.tar "$keep"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building kubectl-forensic, checkpointctl v1.4.0 and the target" >&2
go build -o "$work/kubectl-forensic" ./kubectl-forensic
GOBIN=$work/bin GOFLAGS=-mod=mod CGO_ENABLED=0 go install github.com/checkpoint-restore/checkpointctl@v1.4.0
mkdir -p "$work/target"
cat >"$work/target/main.go" <<'EOF'
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"
)

var mem []byte

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	mem = make([]byte, n<<20)
	for i := range mem {
		mem[i] = byte(i*7 + i>>12)
	}
	b := make([]byte, 8)
	rand.Read(b)
	marker := "forensic-bench-marker-" + hex.EncodeToString(b)
	copy(mem[len(mem)/2:], marker)
	fmt.Println(marker)
	for {
		time.Sleep(time.Hour)
	}
}
EOF
printf 'module target\ngo 1.22\n' >"$work/target/go.mod"
(cd "$work/target" && CGO_ENABLED=0 GOFLAGS= go build -o target .)

setsid "$work/target/target" "$mib" >"$work/target.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 600); do [ -s "$work/target.out" ] && break; sleep 0.1; done
marker=$(head -1 "$work/target.out")
[ -n "$marker" ] || { echo "checkpoint.sh: the target printed no marker" >&2; exit 1; }

echo "dumping pid $pid ($mib MiB touched) with CRIU" >&2
mkdir -p "$work/archive/checkpoint"
"$criu" dump -t "$pid" -D "$work/archive/checkpoint" --shell-job --leave-running -v0 2>/dev/null || {
  echo "checkpoint.sh: criu dump failed" >&2; exit 1; }
cp "$work/archive/checkpoint/stats-dump" "$work/archive/"
echo '{"id":"bench","name":"bench","rootfsImageName":"bench:1","runtime":"runc","createdTime":"2026-01-01T00:00:00Z"}' >"$work/archive/config.dump"
echo '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-name":"bench"}}' >"$work/archive/spec.dump"
tar -C "$work/archive" -cf "$work/archive.tar" .
rm -rf "$work/archive"
pages=$(tar -tvf "$work/archive.tar" | awk '$6 ~ /pages-/ {s += $3} END {print s}')

measure() { # NAME OUT CMD...
  local name=$1 out=$2
  shift 2
  /usr/bin/time -v -o "$work/time" "$@" >"$out" 2>"$work/stderr" || true
  local wall rss found
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$work/time")
  found=no
  grep -q -- "$marker" "$out" && found=yes
  printf '%-58s %10s %10s   marker found: %s\n' "$name" "$wall" "$rss" "$found"
}

echo
echo "checkpoint: $(du -h "$work/archive.tar" | cut -f1) archive, $((pages >> 20)) MiB of memory pages, pid $pid, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %10s %10s\n' "command" "wall" "peak RSS"
cc=$work/bin/checkpointctl
measure "analyze -o json" "$work/o1" "$work/kubectl-forensic" analyze -o json "$work/archive.tar"
measure "analyze --search MARKER" "$work/o2" "$work/kubectl-forensic" analyze --search "$marker" "$work/archive.tar"
measure "checkpointctl inspect --all" "$work/o3" "$cc" inspect --all "$work/archive.tar"
measure "checkpointctl memparse" "$work/o4" "$cc" memparse "$work/archive.tar"
measure "checkpointctl memparse --search MARKER --pid PID" "$work/o5" "$cc" memparse --search="$marker" --pid "$pid" "$work/archive.tar"
