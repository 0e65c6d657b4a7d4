#!/usr/bin/env bash
# Builds the forensic agent image without a container engine or registry:
# a static binary on an empty base, written as an image tarball that both
# `docker load -i` and `ctr -n k8s.io images import` accept.
#
#   forensic-agent/image.sh [--out DIR] [--version V] [--arch GOARCH]
#
# Writes DIR (default $TMPDIR/forensic-agent-image)/forensic-agent and DIR/forensic-agent-image.tar,
# image forensic/agent:<version> (the name the plugins run by default:
# shared/agent.DefaultImage). Version defaults to `git describe`, else
# "dev"; the build date to SOURCE_DATE_EPOCH, else the commit time, so that
# rebuilding a commit gives the same image digest.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out="${TMPDIR:-/tmp}/forensic-agent-image"
version=""
arch=$(go env GOARCH)

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

cd "$repo"
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -z "$version" ]; then
  version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  epoch=$SOURCE_DATE_EPOCH
else
  epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
tag=$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '-')

pkg=github.com/forensic-tools/forensic/shared/version
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.Date=$date"
mkdir -p "$out"
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$out/forensic-agent" ./forensic-agent

# The image is written by the agent itself; for another architecture a
# host build of it does the writing.
writer="$out/forensic-agent"
if [ "$arch" != "$(go env GOHOSTARCH)" ]; then
  writer="$out/.forensic-agent-host"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$writer" ./forensic-agent
fi
"$writer" image -o "$out/forensic-agent-image.tar" --name "forensic/agent:$tag" --binary "$out/forensic-agent" --arch "$arch"
[ "$writer" = "$out/forensic-agent" ] || rm -f "$writer"

echo "image forensic/agent:$tag in $out/forensic-agent-image.tar ($(du -h "$out/forensic-agent-image.tar" | cut -f1))"
echo "load it with: docker load -i $out/forensic-agent-image.tar"
echo "          or: ctr -n k8s.io images import $out/forensic-agent-image.tar"
