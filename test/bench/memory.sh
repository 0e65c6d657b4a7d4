#!/usr/bin/env bash
# Benchmark, not a test: the forensic agent's --memory against gdb's gcore
# on the same process in the same run. The process is test/images/memtarget
# with 1 GiB (--mib) of pseudo-random bytes resident.
#
#   sudo test/bench/memory.sh [--mib N] [--runs N] [--docker]
#
# For each tool, each run: the core's size, the wall time of the capture,
# the throughput (core bytes / wall time), how long the target was stopped
# and the capturing process's peak RSS. The stop is measured the same way
# for both: a sampler reads the target's /proc/PID/stat state every
# millisecond and times how long it was "t" (stopped by a tracer). The
# agent writes its stream to a file on the same disk gcore writes its core
# to (the stream is unpacked afterwards, not timed). --docker also exports
# a memtarget container with `docker-forensic export --memory` (standalone,
# uncompressed tar) and prints the plugin's peak RSS and the stop time the
# agent recorded. Every process started here is stopped on exit.
set -euo pipefail

mib=1024
runs=3
docker=false
while [ $# -gt 0 ]; do
  case "$1" in
    --mib) mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --docker) docker=true; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "memory.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$mib$runs" in
  '' | *[!0-9]*) echo "memory.sh: --mib and --runs take numbers" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "memory.sh: needs root (ptrace, /proc/PID/mem)" >&2; exit 1; }
for tool in go gdb jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "memory.sh: needs $tool (apt-get install gdb jq time)" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /var/tmp/forensic-bench-memory.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${container:-}" ] && docker rm -f "$container" >/dev/null 2>&1 || true
  [ -n "${container:-}" ] && docker rmi forensic-bench/memtarget:1.0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$work/memtarget" ./test/images/memtarget &&
  CGO_ENABLED=0 go build -trimpath -o "$work/forensic-agent" ./forensic-agent)

"$work/memtarget" -ballast "$mib" -listen 127.0.0.1:0 >"$work/target.log" 2>&1 &
target=$!
pids+=("$target")
for _ in $(seq 600); do grep -q marker "$work/target.log" && break; sleep 0.1; done
grep -q marker "$work/target.log" || { echo "memory.sh: the target did not start" >&2; exit 1; }
rss=$(awk '/VmRSS/ {print $2}' "/proc/$target/status")
echo "target: pid $target, VmRSS $((rss / 1024)) MiB ($mib MiB ballast), $(nproc) CPUs, kernel $(uname -r)"

# stopped FILE: seconds the sampler saw the target in state t (first t to
# the next other state).
sampler() {
  local out=$1 line state last=""
  while [ -e "$work/sampling" ]; do
    read -r line <"/proc/$target/stat" || break
    line=${line##*) }
    state=${line%% *}
    if [ "$state" != "$last" ]; then
      echo "$EPOCHREALTIME $state" >>"$out"
      last=$state
    fi
    sleep 0.001
  done
}
stopped_for() {
  awk '$2 == "t" && !s {s = $1} $2 != "t" && s && !e {e = $1} END {if (s && e) printf "%.3f", e - s; else print "?"}' "$1"
}

# measure NAME OUTFILE CMD...: runs CMD with the sampler and /usr/bin/time.
measure() {
  local name=$1 out=$2
  shift 2
  rm -f "$out" "$work/samples" "$work/time"
  touch "$work/sampling"
  sampler "$work/samples" &
  local s=$!
  sleep 0.05
  local t0=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$work/time" "$@"
  local t1=$EPOCHREALTIME
  rm -f "$work/sampling"
  wait "$s"
  local bytes wall
  bytes=$(stat -c %s "$out")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  printf '%-8s %12d %8s %10s %9s %8s\n' "$name" "$bytes" "$wall" \
    "$(awk -v n="$bytes" -v w="$wall" 'BEGIN {printf "%.0f", n / 1048576 / w}')" \
    "$(stopped_for "$work/samples")" "$(($(tail -n 1 "$work/time") / 1024))"
}

printf '%-8s %12s %8s %10s %9s %8s\n' tool "core bytes" "wall s" "MiB/s" "stopped s" "RSS MiB"
for run in $(seq "$runs"); do
  measure agent "$work/agent.stream" sh -c "'$work/forensic-agent' run --wait-stdin=false --target-pid $target --memory --memory-pid $target >'$work/agent.stream' 2>'$work/agent.log'"
  rm -rf "$work/unpacked"
  "$work/forensic-agent" unpack --dir "$work/unpacked" <"$work/agent.stream" >/dev/null
  echo "         agent's own record: stopped $(jq -r .stopped_seconds "$work"/unpacked/memory/*.json) s, $(jq -r .memory_bytes "$work"/unpacked/memory/*.json) bytes of memory, complete $(jq -r .complete "$work"/unpacked/memory/*.json)"
  rm -f "$work/agent.stream"
  measure gcore "$work/gcore.core" sh -c "gdb -p $target -batch -nx -ex 'gcore $work/gcore.core' >\"$work/gcore.log\" 2>&1"
  rm -f "$work/gcore.core"
done

if $docker; then
  command -v docker >/dev/null || { echo "memory.sh: --docker needs docker" >&2; exit 1; }
  (cd "$repo" && go build -o "$work/docker-forensic" ./docker-forensic)
  mkdir -p "$work/img"
  cp "$work/memtarget" "$work/img/"
  tar -C "$work/img" -c . | docker import -c 'ENTRYPOINT ["/memtarget"]' -c 'USER 65534:65534' - forensic-bench/memtarget:1.0 >/dev/null
  container=forensic-bench-memory-$$
  docker run -d --name "$container" forensic-bench/memtarget:1.0 -ballast "$mib" >/dev/null
  for _ in $(seq 600); do docker logs "$container" 2>&1 | grep -q marker && break; sleep 0.1; done
  t0=$EPOCHREALTIME
  (cd "$work" && /usr/bin/time -f '%M' -o "$work/time" "$work/docker-forensic" export --memory --format tar -q -o "$work/docker.tar" "$container" >/dev/null)
  t1=$EPOCHREALTIME
  tar -xf "$work/docker.tar" -C "$work" --wildcards '*/memory/*.json'
  rep=$(ls "$work"/*/memory/*.json | head -1)
  echo "docker-forensic export --memory: wall $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') s, bundle $(stat -c %s "$work/docker.tar") bytes, plugin RSS $(($(tail -n 1 "$work/time") / 1024)) MiB, target stopped $(jq -r .stopped_seconds "$rep") s (agent's record), $(jq -r .memory_bytes "$rep") bytes of memory"
fi
