#!/usr/bin/env bash
# test/demo.sh (make demo): the main job on a local demo container.
#
# Makes sure a Docker Engine answers (installs Debian's docker.io and starts
# dockerd when needed), builds docker forensic, builds a demo image locally
# (busybox-static, no registry), starts a container that logs and changes
# files, collects it with `docker forensic export`, and checks the bundle
# with `docker forensic verify`, tar and sha256sum -c. The bundle stays in
# ./demo-output; the demo container is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/demo-output
mkdir -p "$out"

say() { printf '\n>>> %s\n' "$*"; }

test/docker/engine ensure
if ! command -v busybox >/dev/null || [[ $(file -L "$(command -v busybox)") != *static* ]]; then
  say "installing busybox-static for the demo image"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi

say "building docker-forensic"
make -s build >/dev/null
# A private docker config, so the demo does not touch yours.
export DOCKER_CONFIG=$out/docker-config
mkdir -p "$DOCKER_CONFIG/cli-plugins"
cp bin/docker-forensic "$DOCKER_CONFIG/cli-plugins/"

say "building the demo image forensic-demo/busybox:1.0 locally"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh ls cat echo sleep mkdir wget; do ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
tar -C "$root" -c . | docker import - forensic-demo/busybox:1.0 >/dev/null

name=forensic-demo-$(date -u +%H%M%S)
say "starting the suspicious container $name"
docker run -d --name "$name" --label forensic-demo=1 forensic-demo/busybox:1.0 sh -c \
  'echo "miner starting"; echo "connecting to pool" >&2; mkdir -p /tmp/.x; echo "#!/bin/sh" > /tmp/.x/payload; exec sleep 100000' >/dev/null
trap 'rm -rf "$root"; docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
sleep 1

say "docker forensic export $name"
bundle=$(docker forensic export --case DEMO-1 --examiner "$(id -un)" --output-dir "$out" "$name")
ls -l "$bundle"

say "docker forensic verify $bundle"
docker forensic verify "$bundle"

say "the bundle's contents (tar -tzvf)"
tar -tzvf "$bundle"

say "sha256sum -c SHA256SUMS in the extracted bundle"
x=$(mktemp -d)
tar -xzf "$bundle" -C "$x"
(cd "$x"/*/ && sha256sum -c SHA256SUMS)
say "what the container changed (container/diff.txt)"
cat "$x"/*/container/diff.txt
rm -rf "$x"
say "done: $bundle"
