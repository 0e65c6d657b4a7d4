#!/usr/bin/env bash
# test/bench/kube-capture.sh: `kubectl forensic capture -l ...` against the
# cheat sheet's per-pod loop, in one run, on the test node.
#
# It starts BENCH_PODS pods (50 by default; a Deployment of busybox pods with
# two containers each, each container logging BENCH_LINES lines) in a
# namespace of its own, then times:
#
#   kubectl forensic capture -n NS -l app=bench   (one bundle per pod + index)
#   the loop, per pod: kubectl get pod -o yaml; kubectl describe pod;
#     kubectl logs and kubectl logs --previous per container; kubectl get
#     events (involving the pod)
#
# The capture runs with its defaults (4 pods at once) and with
# --concurrency 1 (one pod at a time, as the loop goes), each against the
# loop (target: the default capture >= 10x faster). Then where the
# capture's time goes: with client-go's default rate limits (--qps 5
# --burst 10), the preflight alone, process start-up, and the per-pod times
# from the index. Every command runs BENCH_RUNS times (3 at least), the
# commands taking turns; each figure is the median with the range
# (min-max), each ratio one of medians. The namespace is deleted at the
# end. Nothing here is a timed test: it prints figures.
#
# Needs the test node up: test/k8s/cluster up, and its KUBECONFIG exported.
set -euo pipefail
cd "$(dirname "$0")/../.."

pods=${BENCH_PODS:-50}
lines=${BENCH_LINES:-2000}
runs=${BENCH_RUNS:-3}
case "$runs" in
	'' | *[!0-9]*) echo "bench: BENCH_RUNS must be a number of at least 3, not '$runs'" >&2; exit 2 ;;
esac
[ "$runs" -ge 3 ] || { echo "bench: BENCH_RUNS must be at least 3 (median and range), not $runs" >&2; exit 2; }

if [ -z "${KUBECONFIG:-}" ]; then
	echo "bench: KUBECONFIG is not set: the test node must be up (test/k8s/cluster up; export the KUBECONFIG=... line it prints)" >&2
	exit 1
fi
kubectl=${KUBECTL:-}
if [ -z "$kubectl" ]; then
	kubectl=$(test/k8s/cluster bindir 2>/dev/null)/kubectl
	[ -x "$kubectl" ] || kubectl=$(command -v kubectl)
fi
if ! "$kubectl" get --raw /readyz >/dev/null 2>&1; then
	echo "bench: the cluster of KUBECONFIG=$KUBECONFIG does not answer: is the test node up? (test/k8s/cluster up)" >&2
	exit 1
fi
for tool in jq /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install jq time)" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/forensic-kube-bench-XXXXXX)
ns=forensic-bench-$$
cleanup() {
	"$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "bench: building kubectl-forensic" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/kubectl-forensic" ./kubectl-forensic
kf=$work/kubectl-forensic

echo "bench: starting $pods pods in namespace $ns" >&2
"$kubectl" create namespace "$ns" >/dev/null
"$kubectl" apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: $pods
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      containers:
      - name: app
        image: forensic-test/busybox:1.0
        imagePullPolicy: Never
        command: [sh, -c, 'seq 1 $lines | sed "s/^/app request id=/;s/$/ GET \/api\/items status=200 bytes=512/"; exec sleep 100000']
      - name: sidecar
        image: forensic-test/busybox:1.0
        imagePullPolicy: Never
        command: [sh, -c, 'seq 1 $lines | sed "s/^/sidecar tick /"; exec sleep 100000']
YAML
"$kubectl" -n "$ns" rollout status deployment/bench --timeout=10m >/dev/null
running=$("$kubectl" -n "$ns" get pods -l app=bench --field-selector status.phase=Running -o name | wc -l)
[ "$running" -eq "$pods" ] || { echo "bench: $running of $pods pods run" >&2; exit 1; }
# Let every container finish writing its log, and the kubelet settle.
sleep "${BENCH_SETTLE:-10}"

now() { date +%s.%N; }
# timed KEY CMD...: appends the seconds CMD took to $work/KEY.time.
timed() {
	local key=$1 s e
	shift
	s=$(now)
	if ! "$@" >"$work/$key.out" 2>&1; then
		echo "bench: $key failed: $*" >&2
		tail -n 20 "$work/$key.out" >&2
		exit 1
	fi
	e=$(now)
	awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f\n", e-s}' >>"$work/$key.time"
}
# stat3 KEY -> "median min max" of $work/KEY.time.
stat3() {
	sort -g "$work/$1.time" | awk '{v[NR] = $1} END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR]
	}'
}

capture() { # capture DIR [FLAGS...]
	local dir=$work/$1
	shift
	mkdir -p "$dir"
	"$kf" capture -q -n "$ns" -l app=bench --output-dir "$dir" "$@"
}

loop() { # loop DIR
	local dir=$work/$1
	mkdir -p "$dir"
	local p c
	for p in $("$kubectl" -n "$ns" get pods -l app=bench -o jsonpath='{.items[*].metadata.name}'); do
		"$kubectl" -n "$ns" get pod "$p" -o yaml >"$dir/$p.yaml"
		"$kubectl" -n "$ns" describe pod "$p" >"$dir/$p.describe.txt"
		for c in app sidecar; do
			"$kubectl" -n "$ns" logs "$p" -c "$c" --timestamps >"$dir/$p.$c.log"
			"$kubectl" -n "$ns" logs "$p" -c "$c" --timestamps --previous >"$dir/$p.$c.previous.log" 2>/dev/null || true
		done
		"$kubectl" -n "$ns" get events --field-selector "involvedObject.name=$p" -o yaml >"$dir/$p.events.yaml"
	done
}

echo "bench: measuring ($runs runs)" >&2
# Warm both once (page cache, the kubectl discovery cache), then measure.
capture warm >/dev/null
"$kubectl" -n "$ns" get pods >/dev/null
for ((i = 1; i <= runs; i++)); do
	echo "bench: round $i of $runs" >&2
	timed capture capture "main-$i"
	timed serial capture "serial-$i" --concurrency 1
	timed loop loop "loop-$i"
	timed slow capture "ratelimited-$i" --qps 5 --burst 10
	timed preflight "$kf" preflight -n "$ns" -l app=bench
	timed version "$kf" version
done
declare -A t lo hi
for k in capture serial loop slow preflight version; do read -r "t[$k]" "lo[$k]" "hi[$k]" < <(stat3 "$k"); done

# The last run of each must be complete and verify: a figure of a failed
# capture means nothing.
for dir in "main-$runs" "serial-$runs" "ratelimited-$runs"; do
	index=$(ls "$work/$dir"/capture-*.index.json)
	complete=$(jq '.summary.complete' "$index")
	[ "$complete" -eq "$pods" ] || { echo "bench: the $dir capture has $complete of $pods bundles complete" >&2; exit 1; }
done
index=$(ls "$work/main-$runs"/capture-*.index.json)
bundles=$(jq '.summary.complete' "$index")
verify_ok=0
for b in "$work/main-$runs"/*.tar.gz; do
	"$kf" verify "$b" >/dev/null && verify_ok=$((verify_ok + 1))
done
[ "$verify_ok" -eq "$bundles" ] || { echo "bench: $verify_ok of $bundles bundles verify" >&2; exit 1; }
per_pod_ms=$(jq -r '[.pods[] | ((.ended | capture("T(?<h>..):(?<m>..):(?<s>[0-9.]+)Z") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber)) - (.started | capture("T(?<h>..):(?<m>..):(?<s>[0-9.]+)Z") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber)))] | (add / length * 1000 | floor)' "$index")
bundle_mib=$(du -sm "$work/main-$runs" | cut -f1)
loop_mib=$(du -sm "$work/loop-$runs" | cut -f1)
calls=$((pods * 7))
rss=$(/usr/bin/time -f %M "$kf" capture -q -n "$ns" -l app=bench --output-dir "$(mkdir -p "$work/rss" && echo "$work/rss")" 2>&1 >/dev/null | tail -n 1)

row() { # row LABEL KEY
	printf '%-76s %7.2f %15s\n' "$1" "${t[$2]}" "$(printf '(%.2f-%.2f)' "${lo[$2]}" "${hi[$2]}")"
}
printf '\n%s pods, 2 containers each, %s log lines per container; %s cores, load average %s\n' "$pods" "$lines" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'each figure: median (min-max) of %s runs, the commands taking turns\n\n' "$runs"
printf '%-76s %7s %15s\n' "command" "seconds" "(range)"
row "kubectl forensic capture -l app=bench (defaults)" capture
row "kubectl forensic capture -l app=bench --concurrency 1" serial
row "cheat-sheet loop ($calls kubectl runs: get -o yaml, describe, 4x logs, events)" loop
awk -v c="${t[capture]}" -v s="${t[serial]}" -v l="${t[loop]}" 'BEGIN{
	printf "\nratios of medians (loop time / capture time):\n"
	printf "  capture (defaults) against the loop     : %5.1fx faster (target >= 10x)\n", l/c
	printf "  capture --concurrency 1 against the loop: %5.1fx faster (one pod at a time, as the loop)\n\n", l/s
}'
printf 'where the capture time goes:\n'
row "  same capture, client-go default limits (--qps 5 --burst 10)" slow
row "  preflight alone (start-up, version, resolve, access reviews)" preflight
row "  process start-up alone (kubectl-forensic version)" version
printf '  %-74s %7s\n' "mean time per pod, from the last default capture's index (ms)" "$per_pod_ms"
awk -v l="${t[loop]}" -v n="$calls" 'BEGIN{printf "  %-74s %7.0f\n", "loop: mean time per kubectl run (ms)", l/n*1000}'
printf '\nbundles: %s complete, %s verified, %s MiB (tar.gz); loop output: %s MiB (uncompressed, unhashed); capture peak RSS %s MiB\n' \
	"$bundles" "$verify_ok" "$bundle_mib" "$loop_mib" "$((rss / 1024))"
