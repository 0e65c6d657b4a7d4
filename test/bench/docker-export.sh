#!/usr/bin/env bash
# test/bench/docker-export.sh (make bench-docker): throughput of
# `docker forensic export` against the obvious alternatives, in one run, on a
# container holding mixed data (random, zeros, text; 1.1 GiB by default).
#
#   docker export > /dev/null        the engine's own ceiling
#   docker export | gzip > /dev/null the cheat sheet's way, compressed
#   docker export | zstd -T0 > /dev/null
#   docker forensic export (tar.gz, the default; and tar.zst), to a file, with
#   every artifact hashed, plus the plugin's peak RSS (GNU time).
#
# Targets (issue 2): default format >= 0.9x raw export, >= 3x export|gzip,
# peak RSS < 100 MiB. Sizes in MiB: BENCH_RANDOM_MIB, BENCH_ZERO_MIB, BENCH_TEXT_MIB.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

random_mib=${BENCH_RANDOM_MIB:-400}
zero_mib=${BENCH_ZERO_MIB:-300}
text_mib=${BENCH_TEXT_MIB:-400}

test/docker/engine ensure
for tool in gzip zstd /usr/bin/time busybox; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install gzip zstd time busybox-static)" >&2; exit 1; }
done
CGO_ENABLED=0 go build -trimpath -o bin/docker-forensic ./docker-forensic

work=$(mktemp -d /var/tmp/forensic-bench-XXXXXX)
name=forensic-bench-$$
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

root=$work/rootfs
mkdir -p "$root/bin" "$root/data"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh dd yes head sleep; do ln -s busybox "$root/bin/$a"; done
tar -C "$root" -c . | docker import - forensic-bench/busybox:1.0 >/dev/null
docker run -d --name "$name" forensic-bench/busybox:1.0 sh -c "
  dd if=/dev/urandom of=/data/random bs=1M count=$random_mib 2>/dev/null
  dd if=/dev/zero of=/data/zeros bs=1M count=$zero_mib 2>/dev/null
  yes '2026-11-29T12:00:00.000Z INFO api request GET /v1/items?id=1234567 status=200 bytes=5120 user=svc-payments' | head -c $((text_mib * 1048576)) > /data/text
  echo ready; exec sleep 100000" >/dev/null
until docker logs "$name" 2>/dev/null | grep -q ready; do sleep 1; done

# Warm the page cache once, then measure. Sizes are of the export stream.
docker export "$name" >/dev/null
bytes=$(docker export "$name" | wc -c)
mib=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}'; }
rate() { awk -v b="$bytes" -v t="$1" 'BEGIN{printf "%.0f", b/1048576/t}'; }

t_raw=$(secs sh -c "docker export $name > /dev/null")
t_gzip=$(secs sh -c "docker export $name | gzip > /dev/null")
t_zstd=$(secs sh -c "docker export $name | zstd -q -T0 > /dev/null")

export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
plugin() { # plugin FORMAT -> "seconds rss_kib"
  local out=$work/bundle.$1 tlog=$work/time.$1
  local t
  t=$(secs /usr/bin/time -f %M -o "$tlog" bin/docker-forensic export -q -o "$out" "$name")
  echo "$t $(cat "$tlog") $(stat -c %s "$out")"
  bin/docker-forensic verify "$out" >/dev/null
  rm -f "$out"
}
read -r t_fgz rss_fgz size_fgz < <(plugin tar.gz)
read -r t_fzst rss_fzst size_fzst < <(plugin tar.zst)

printf '\ncontainer export stream: %s MiB (random %s, zeros %s, text %s MiB), %s cores\n\n' "$mib" "$random_mib" "$zero_mib" "$text_mib" "$(nproc)"
printf '%-44s %8s %8s %10s\n' "command" "seconds" "MiB/s" "peak RSS"
printf '%-44s %8s %8s %10s\n' "docker export > /dev/null" "$t_raw" "$(rate "$t_raw")" "-"
printf '%-44s %8s %8s %10s\n' "docker export | gzip > /dev/null" "$t_gzip" "$(rate "$t_gzip")" "-"
printf '%-44s %8s %8s %10s\n' "docker export | zstd -T0 > /dev/null" "$t_zstd" "$(rate "$t_zstd")" "-"
printf '%-44s %8s %8s %7s MiB\n' "docker forensic export -o x.tar.gz (bundle)" "$t_fgz" "$(rate "$t_fgz")" "$((rss_fgz / 1024))"
printf '%-44s %8s %8s %7s MiB\n' "docker forensic export -o x.tar.zst (bundle)" "$t_fzst" "$(rate "$t_fzst")" "$((rss_fzst / 1024))"
printf '\nbundle sizes: tar.gz %s MiB, tar.zst %s MiB\n' "$((size_fgz / 1048576))" "$((size_fzst / 1048576))"
awk -v raw="$t_raw" -v gz="$t_gzip" -v zs="$t_zstd" -v f="$t_fgz" -v fz="$t_fzst" 'BEGIN{
  printf "ratios (throughput, higher is better for docker forensic):\n"
  printf "  tar.gz  vs docker export > /dev/null : %.2fx   (target >= 0.9x)\n", raw/f
  printf "  tar.gz  vs docker export | gzip      : %.2fx   (target >= 3x)\n", gz/f
  printf "  tar.gz  vs docker export | zstd -T0  : %.2fx\n", zs/f
  printf "  tar.zst vs docker export > /dev/null : %.2fx\n", raw/fz
}'
printf '  peak RSS: %s MiB (tar.gz), %s MiB (tar.zst)   (target < 100 MiB)\n' "$((rss_fgz / 1024))" "$((rss_fzst / 1024))"
