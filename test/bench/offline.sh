#!/usr/bin/env bash
# Benchmark, not a test: `docker forensic offline export` of a stopped
# container with SIZE MiB in its layers (half random, half text), against
# `tar -C MERGED -c . | gzip -1` of the same filesystem mounted read-only by
# overlayfs from the same layer folders.
#
#   sudo test/bench/offline.sh [--size MIB] [--runs N]
#
# A private dockerd (its own data root, exec root, socket; no bridge, no
# iptables) makes the container and is stopped before anything is timed;
# the default engine is not touched. Both commands run N times (3 by
# default, at least 3), taking turns, with the page cache dropped before
# each; each figure is the median with the range (min-max). The export
# writes the whole bundle (merged filesystem, writable layer, diff, drift,
# logs, config), so it reads the writable layer more than once.
set -euo pipefail

size=1024
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "offline.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^[0-9]+$ ]] && [ "$size" -ge 16 ] || { echo "offline.sh: --size takes MiB, at least 16, not '$size'" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 3 ] || { echo "offline.sh: --runs must be a number of at least 3, not '$runs'" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "offline.sh: needs root (dockerd, overlay mounts)" >&2; exit 1; }
for tool in dockerd docker busybox go gzip tar /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "offline.sh: needs $tool" >&2; exit 1; }
done

cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/fo-bench-XXXXXX)
pid=
cleanup() {
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/docker-forensic" ./docker-forensic
root=$work/root sock=$work/d.sock
dockerd --data-root "$root" --exec-root "$work/exec" --pidfile "$work/d.pid" -H "unix://$sock" \
  --bridge=none --iptables=false --ip-masq=false >"$work/dockerd.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
d() { docker -H "unix://$sock" "$@"; }
mkdir -p "$work/rootfs/bin"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" -c . | d import - bench/bb:1 >/dev/null
chunks=$((size / 16))
d run --name big bench/bb:1 sh -c "busybox mkdir /big; i=0; while [ \$i -lt $chunks ]; do
  busybox dd if=/dev/urandom of=/big/r\$i bs=1M count=8 2>/dev/null
  busybox yes \"line of text \$i\" | busybox head -c 8388608 > /big/t\$i; i=\$((i+1)); done" >/dev/null
id=$(d inspect -f '{{.Id}}' big)
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
pid=

mount_id=$(cat "$root/image/overlay2/layerdb/mounts/$id/mount-id")
lower=$(tr ':' '\n' <"$root/overlay2/$mount_id/lower" | sed "s|^|$root/overlay2/|" | paste -sd:)
mkdir "$work/mnt"
echo "container big: $(du -sh "$root/overlay2/$mount_id/diff" | cut -f1) in its writable layer; $runs runs each, taking turns" >&2

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
declare -a tar_s exp_s exp_rss
for r in $(seq 1 "$runs"); do
  drop
  mount -t overlay overlay -o "ro,lowerdir=$root/overlay2/$mount_id/diff:$lower" "$work/mnt"
  t=$( { /usr/bin/time -f '%e' sh -c "tar -C '$work/mnt' -c . | gzip -1 >/dev/null"; } 2>&1 | tail -n 1)
  umount "$work/mnt"
  tar_s+=("$t")
  drop
  rm -f "$work/b.tar.gz"
  out=$( { /usr/bin/time -f '%e %M' "$work/docker-forensic" offline export -q --root "$root" -o "$work/b.tar.gz" big >/dev/null; } 2>&1 | tail -n 1)
  exp_s+=("${out% *}")
  exp_rss+=("$(( ${out#* } / 1024 ))")
  echo "run $r: tar|gzip -1 ${t}s; offline export ${out% *}s, max RSS $(( ${out#* } / 1024 )) MiB" >&2
done

stat() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%s (%s-%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }
printf '\n%-40s %s\n' "command" "median (min-max)"
printf '%-40s %s s\n' "tar -C merged -c . | gzip -1" "$(stat "${tar_s[@]}")"
printf '%-40s %s s\n' "docker forensic offline export" "$(stat "${exp_s[@]}")"
printf '%-40s %s MiB\n' "offline export max RSS" "$(stat "${exp_rss[@]}")"
