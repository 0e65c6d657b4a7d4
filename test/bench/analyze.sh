#!/usr/bin/env bash
# test/bench/analyze.sh: throughput and peak memory of `docker forensic
# analyze` on a ~1 GiB image tarball, against reading the same file with tar.
#
# The image is built on the local engine (no registry): a busybox base from
# docker import, then layers made with docker run + docker commit from host
# folders mounted read-only (the Go toolchain: sources and ELF programs;
# /usr/share: documentation, locales, icons, compressed man pages), and a
# small layer with planted findings. It is saved with docker save and
# analysed with every finding on. docker save writes the legacy layout
# (<id>/layer.tar) before Docker 25 and the OCI image layout (blobs/sha256/,
# index.json, and manifest.json beside it) from Docker 25 on; the layers are
# found through manifest.json, which both layouts have. When the engine
# writes the legacy layout, the same image is also measured in the OCI
# layout as Docker 25 writes it (the same layer bytes, as uncompressed
# blobs), so both layouts are measured on every engine.
#
#   tar -tvf FILE              GNU tar on a regular file: it seeks past
#                              contents, so this reads only the headers
#   cat FILE | tar -tv         every byte read, outer entries listed
#   cat FILE | tar -xO LAYERS | tar -tvi
#                              every byte read and every file of every
#                              layer listed: the floor for what analyze does
#   docker forensic analyze    every byte read once, each layer hashed
#                              (digest check), files sniffed, text searched
#                              for secrets, package databases parsed,
#                              entropy sampled; peak RSS with GNU time
#
# Each command runs BENCH_RUNS times (3 at least) from a warm page cache;
# each figure is the median with the range (min-max), each ratio one of
# medians.
#
# Targets (issue 7): within 2x of reading the file with tar; RSS < 150 MiB.
# BENCH_SOURCES overrides the host folders copied into layers; BENCH_KEEP=FILE
# keeps the image tarball docker save wrote there.
set -euo pipefail
cd "$(dirname "$0")/../.."

sources=${BENCH_SOURCES:-/usr/local/go /usr/share /usr/sbin /usr/lib/python3}
runs=${BENCH_RUNS:-3}
case "$runs" in
  '' | *[!0-9]*) echo "bench: BENCH_RUNS must be a number of at least 3, not '$runs'" >&2; exit 2 ;;
esac
[ "$runs" -ge 3 ] || { echo "bench: BENCH_RUNS must be at least 3 (median and range), not $runs" >&2; exit 2; }
test/docker/engine ensure
for tool in /usr/bin/time tar busybox go jq sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install time tar busybox-static jq coreutils)" >&2; exit 1; }
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

# layers FILE: the layer paths manifest.json names, in either layout.
layers() { tar -xOf "$1" manifest.json | jq -r '.[0].Layers[]'; }

# to_oci LEGACY OUT: the OCI image layout as Docker 25 and later write it:
# uncompressed layer blobs, the config, an OCI manifest and index.json, and
# manifest.json beside them naming the blobs.
to_oci() {
  local x=$work/legacy out=$work/oci cfg tags hex size descs="" l f mhex
  mkdir -p "$x" "$out/blobs/sha256"
  tar -C "$x" -xf "$1"
  cfg=$(jq -r '.[0].Config' "$x/manifest.json")
  tags=$(jq -c '.[0].RepoTags // []' "$x/manifest.json")
  local paths=()
  while read -r l; do
    f=$(readlink -f "$x/$l") # a repeated layer is a symlink in the legacy layout
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    size=$(stat -c %s "$f")
    [ -e "$out/blobs/sha256/$hex" ] || mv "$f" "$out/blobs/sha256/$hex"
    descs+=$(jq -nc --arg d "sha256:$hex" --argjson s "$size" '{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $d, size: $s}')$'\n'
    paths+=("blobs/sha256/$hex")
  done < <(jq -r '.[0].Layers[]' "$x/manifest.json")
  hex=$(sha256sum "$x/$cfg" | cut -d' ' -f1)
  size=$(stat -c %s "$x/$cfg")
  mv "$x/$cfg" "$out/blobs/sha256/$hex"
  jq -nc --arg d "sha256:$hex" --argjson s "$size" --argjson layers "$(jq -sc . <<<"$descs")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $d, size: $s}, layers: $layers}' > "$work/oci-manifest"
  mhex=$(sha256sum "$work/oci-manifest" | cut -d' ' -f1)
  mv "$work/oci-manifest" "$out/blobs/sha256/$mhex"
  jq -nc --arg d "sha256:$mhex" --argjson s "$(stat -c %s "$out/blobs/sha256/$mhex")" --argjson tags "$tags" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
        annotations: ({"io.containerd.image.name": $tags[0], "org.opencontainers.image.ref.name": ($tags[0] | sub(".*:"; ""))} | with_entries(select(.value != null)))}]}' > "$out/index.json"
  jq -nc --arg c "blobs/sha256/$hex" --argjson tags "$tags" --args '[{Config: $c, RepoTags: $tags, Layers: $ARGS.positional}]' "${paths[@]}" > "$out/manifest.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
  tar -C "$out" -cf "$2" blobs index.json manifest.json oci-layout
  rm -rf "$x" "$out"
}

tarballs=("$image")
if tar -tf "$image" | grep -qx 'oci-layout'; then
  layouts=("OCI image layout (as docker save wrote it)")
else
  to_oci "$image" "$work/image-oci.tar"
  tarballs+=("$work/image-oci.tar")
  layouts=("legacy layout (as docker save wrote it)" "OCI image layout (the same image, as Docker 25+ writes it)")
fi

now() { date +%s.%N; }
# timed FILE CMD...: appends the seconds CMD took to FILE.
timed() {
  local f=$1 s e
  shift
  s=$(now)
  "$@" >/dev/null 2>&1
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f\n", e-s}' >>"$f"
}
# stat3 FILE -> "median min max".
stat3() {
  sort -g "$1" | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    print m, v[1], v[NR]
  }'
}

measure() { # measure FILE LAYOUT
  local image=$1 d bytes mib files t lp
  d=$(mktemp -d "$work/m-XXXX")
  bytes=$(stat -c %s "$image")
  mib=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')
  mapfile -t lp < <(layers "$image")
  [ "${#lp[@]}" -gt 0 ] || { echo "bench: $2: manifest.json names no layers" >&2; exit 1; }
  files=$(tar -xOf "$image" "${lp[@]}" | tar -ti | wc -l)
  [ "$files" -gt 0 ] || { echo "bench: $2: no files in the layers manifest.json names" >&2; exit 1; }

  cat "$image" >/dev/null # warm the page cache; every command below reads from memory
  local i
  for ((i = 1; i <= runs; i++)); do
    timed "$d/seek" tar -tvf "$image"
    # shellcheck disable=SC2016 # the inner shell expands its arguments
    timed "$d/list" sh -c 'cat "$1" | tar -tv' sh "$image"
    # shellcheck disable=SC2016
    timed "$d/deep" sh -c 'f=$1; shift; cat "$f" | tar -xO "$@" | tar -tvi' sh "$image" "${lp[@]}"
    timed "$d/an" /usr/bin/time -f %M -o "$d/time" "$work/docker-forensic" analyze -o json --sbom "$d/sbom.json" "$image"
    [ -s "$d/sbom.json" ] || { echo "bench: $2: analyze wrote no SBOM" >&2; exit 1; }
    awk '{print $1 / 1024}' "$d/time" >>"$d/rss"
    rm -f "$d/sbom.json"
  done
  "$work/docker-forensic" analyze "$image" > "$d/report.txt" || true

  declare -A m lo hi
  for t in seek list deep an rss; do read -r "m[$t]" "lo[$t]" "hi[$t]" < <(stat3 "$d/$t"); done
  row() { # row LABEL KEY [RSS]
    awk -v l="$1" -v t="${m[$2]}" -v a="${lo[$2]}" -v b="${hi[$2]}" -v by="$bytes" -v r="${3:--}" \
      'BEGIN{printf "%-54s %7.2f %13s %7.0f %16s\n", l, t, "(" a "-" b ")", by/1048576/t, r}'
  }
  printf '\n%s: %s MiB, %s layers, %s files in the layers\n' "$2" "$mib" "${#lp[@]}" "$files"
  printf '%-54s %7s %13s %7s %16s\n' "command (warm page cache)" "seconds" "(range)" "MiB/s" "peak RSS MiB"
  row "tar -tvf image.tar (seeks: headers only)" seek
  row "cat image.tar | tar -tv (reads every byte)" list
  row "cat image.tar | tar -xO LAYERS | tar -tvi (lists all)" deep
  row "docker forensic analyze -o json --sbom (all findings)" an \
    "$(awk -v a="${m[rss]}" -v b="${lo[rss]}" -v c="${hi[rss]}" 'BEGIN{printf "%.0f (%.0f-%.0f)", a, b, c}')"
  awk -v an="${m[an]}" -v l="${m[list]}" -v d="${m[deep]}" -v r="${m[rss]}" 'BEGIN{
    printf "analyze time / tar time, medians (lower is better; target <= 2x):\n"
    printf "  vs cat | tar -tv                  : %.2fx\n", an/l
    printf "  vs cat | tar -xO LAYERS | tar -tvi: %.2fx\n", an/d
    printf "  peak RSS: %.0f MiB (target < 150 MiB)\n", r
  }'
  printf 'report summary: %s\n' "$(tail -n 1 "$d/report.txt")"
  rm -rf "$d"
}

printf '\n%s cores, load average %s; each figure: median (min-max) of %s runs\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$runs"
for i in "${!tarballs[@]}"; do measure "${tarballs[i]}" "${layouts[i]}"; done
if [ -n "${BENCH_KEEP:-}" ]; then mv "$image" "$BENCH_KEEP"; fi
