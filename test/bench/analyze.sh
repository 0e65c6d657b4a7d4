#!/usr/bin/env bash
# test/bench/analyze.sh: throughput and peak memory of `docker forensic
# analyze` on a ~1 GiB image tarball, against reading the same file with tar.
#
# The image is built on the local engine (no registry): a busybox base from
# docker import, then layers made with docker run + docker commit from host
# folders mounted read-only (the Go toolchain: sources and ELF programs;
# /usr/share: documentation, locales, icons, compressed man pages), and a
# small layer with planted findings. It is saved with docker save (the
# legacy layout, uncompressed) and analysed with every finding on.
#
#   tar -tvf FILE              GNU tar on a regular file: it seeks past
#                              contents, so this reads only the headers
#   cat FILE | tar -tv         every byte read, outer entries listed
#   cat FILE | tar -xO layers | tar -tvi
#                              every byte read and every file of every
#                              layer listed: the floor for what analyze does
#   docker forensic analyze    every byte read once, each layer hashed
#                              (digest check), files sniffed, text searched
#                              for secrets, package databases parsed,
#                              entropy sampled; peak RSS with GNU time
#
# Targets (issue 7): within 2x of reading the file with tar; RSS < 150 MiB.
# BENCH_SOURCES overrides the host folders copied into layers; BENCH_KEEP=FILE
# keeps the image tarball there.
set -euo pipefail
cd "$(dirname "$0")/../.."

sources=${BENCH_SOURCES:-/usr/local/go /usr/share /usr/sbin /usr/lib/python3}
test/docker/engine ensure
for tool in /usr/bin/time tar busybox go; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install time tar busybox-static)" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/forensic-bench-analyze-XXXXXX)
tag=forensic-bench/analyze
builder=forensic-bench-analyze-build-$$
images=()
cleanup() {
  docker rm -f "$builder" >/dev/null 2>&1 || true
  # Newest first: an image with children cannot be removed before them.
  for ((i = ${#images[@]} - 1; i >= 0; i--)); do docker rmi "${images[i]}" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/docker-forensic" ./docker-forensic

root=$work/rootfs
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh cp mkdir chmod printf; do ln -s busybox "$root/bin/$a"; done
tar -C "$root" -c . | docker import -m "busybox base" - "$tag:base" >/dev/null
images+=("$tag:base")

prev=$tag:base
n=0
for src in $sources; do
  n=$((n + 1))
  docker run --name "$builder" -v "$src:/src:ro" "$prev" sh -c "mkdir -p /opt && cp -a /src /opt/layer$n" >/dev/null
  docker commit -m "copy of $src" "$builder" "$tag:l$n" >/dev/null
  images+=("$tag:l$n")
  docker rm "$builder" >/dev/null
  prev=$tag:l$n
done
docker run --name "$builder" "$prev" sh -c '
  cp /bin/busybox /tmp/dropper && chmod 755 /tmp/dropper
  cp /bin/busybox /bin/helper && chmod 4755 /bin/helper
  printf "DB_PASSWORD=Zx9!qLm2#Rt7vBn4\n" > /etc/app.env' >/dev/null
docker commit -m "planted findings" "$builder" "$tag:final" >/dev/null
images+=("$tag:final")
docker rm "$builder" >/dev/null

image=$work/image.tar
docker save -o "$image" "$tag:final"
bytes=$(stat -c %s "$image")
mib=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')
layers=$(tar -tf "$image" | grep -c '/layer.tar$' || true)
files=$(tar -xOf "$image" --wildcards '*/layer.tar' | tar -ti | wc -l)

cat "$image" >/dev/null # warm the page cache; every command below reads from memory
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}'; }
best() { # best of three runs
  local b="" t
  for _ in 1 2 3; do t=$(secs "$@"); if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi; done
  echo "$b"
}
rate() { awk -v b="$bytes" -v t="$1" 'BEGIN{ if (t > 0) printf "%.0f", b/1048576/t; else print "-" }'; }

t_seek=$(best tar -tvf "$image")
t_list=$(best sh -c "cat '$image' | tar -tv")
t_deep=$(best sh -c "cat '$image' | tar -xO --wildcards '*/layer.tar' | tar -tvi")
t_an=""
rss=0
for _ in 1 2 3; do
  t=$(secs /usr/bin/time -f %M -o "$work/time" "$work/docker-forensic" analyze -o json --sbom "$work/sbom.$RANDOM.json" "$image")
  r=$(cat "$work/time")
  if [ -z "$t_an" ] || awk -v t="$t" -v b="$t_an" 'BEGIN{exit !(t<b)}'; then t_an=$t; fi
  [ "$r" -gt "$rss" ] && rss=$r
done
"$work/docker-forensic" analyze "$image" > "$work/report.txt" || true

printf '\nimage tarball: %s MiB, %s layers, %s files in the layers, %s cores\n\n' "$mib" "$layers" "$files" "$(nproc)"
printf '%-58s %8s %8s %10s\n' "command (best of 3, warm page cache)" "seconds" "MiB/s" "peak RSS"
printf '%-58s %8s %8s %10s\n' "tar -tvf image.tar (seeks: headers only)" "$t_seek" "$(rate "$t_seek")" "-"
printf '%-58s %8s %8s %10s\n' "cat image.tar | tar -tv (reads every byte)" "$t_list" "$(rate "$t_list")" "-"
printf '%-58s %8s %8s %10s\n' "cat image.tar | tar -xO layers | tar -tvi (lists all)" "$t_deep" "$(rate "$t_deep")" "-"
printf '%-58s %8s %8s %7s MiB\n' "docker forensic analyze -o json --sbom (all findings)" "$t_an" "$(rate "$t_an")" "$((rss / 1024))"
awk -v an="$t_an" -v l="$t_list" -v d="$t_deep" 'BEGIN{
  printf "\nanalyze time / tar time (lower is better; target <= 2x):\n"
  printf "  vs cat | tar -tv                 : %.2fx\n", an/l
  printf "  vs cat | tar -xO layers | tar -tvi: %.2fx\n", an/d
}'
printf '  peak RSS: %s MiB (target < 150 MiB)\n' "$((rss / 1024))"
printf '\nreport summary: %s\n' "$(tail -n 1 "$work/report.txt")"
if [ -n "${BENCH_KEEP:-}" ]; then mv "$image" "$BENCH_KEEP"; fi
