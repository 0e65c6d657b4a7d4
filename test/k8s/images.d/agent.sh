# shellcheck shell=bash
# test/k8s/images.d/agent.sh: the forensic agent image, sourced by
# `test/k8s/cluster images` from the repository root.
#
# The image is written by the agent itself (`forensic-agent image`, package
# shared/agent/imagetar), as `make dist` writes
# forensic-agent-image_<version>_linux_<arch>.tar: the static binary alone
# at /forensic-agent on an empty base, OCI layout plus docker-save manifest.
# One image per tag, each holding an agent built with that version:
#
#   forensic/agent:v0.0.0-e2e  the default image of the plugin the e2e
#                              suite builds (test/e2e/kube, kfTestVersion)
#   forensic/agent:dev         the default image of a development build
#                              (go build without -ldflags: version "")
#
# A tarball is replaced only when its bytes change (the build is
# reproducible: fixed date, -trimpath), so `images` imports it again only
# then.

agent_image() {
	local tag=$1
	local pkg=github.com/forensic-tools/forensic/shared/version
	local commit date bin out tmp
	commit=$(git -C "$REPO" rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
	# The commit's time, not now: the same commit gives the same image digest.
	date=$(date -u -d "@$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)" +%Y-%m-%dT%H:%M:%SZ)
	bin=$IMAGES/bin/forensic-agent-$tag
	(cd "$REPO" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
		-ldflags "-s -w -X $pkg.Version=$tag -X $pkg.Commit=$commit -X $pkg.Date=$date" \
		-o "$bin" ./forensic-agent) || die "building the forensic agent ($tag) failed"
	out=$(image_tarball "forensic/agent:$tag")
	tmp=$(mktemp "$IMAGES/.agent.XXXXXX")
	"$bin" image -o "$tmp" --name "forensic/agent:$tag" --binary "$bin" >/dev/null ||
		die "writing the agent image forensic/agent:$tag failed"
	if cmp -s "$tmp" "$out"; then
		rm -f "$tmp"
		log "image forensic/agent:$tag unchanged"
	else
		chmod 644 "$tmp"
		mv "$tmp" "$out"
		log "image forensic/agent:$tag written to $out"
	fi
}

agent_image v0.0.0-e2e
agent_image dev
