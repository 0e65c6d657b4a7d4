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
# and prints both times and their ratio (target: capture >= 10x faster),
# plus where the capture's time goes: the same capture with --concurrency 1,
# with client-go's default rate limits (--qps 5 --burst 10), the preflight
# alone, and the per-pod times from the index. The namespace is deleted at
# the end. Nothing here is a timed test: it prints figures.
#
# Needs the test node up: test/k8s/cluster up, and its KUBECONFIG exported.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

pods=${BENCH_PODS:-50}
lines=${BENCH_LINES:-2000}

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

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}'; }

capture() { # capture DIR [FLAGS...]
	local dir=$work/$1
	shift
	mkdir -p "$dir"
	"$kf" capture -q -n "$ns" -l app=bench --output-dir "$dir" "$@"
}

loop() {
	local dir=$work/loop
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

echo "bench: measuring" >&2
# Warm both once (page cache, the kubectl discovery cache), then measure.
capture warm >/dev/null
"$kubectl" -n "$ns" get pods >/dev/null
# The capture is short: take the median of three runs.
t_capture=$(for i in 1 2 3; do secs capture "run$i"; echo; done | sort -n | sed -n 2p)
mv "$work/run1" "$work/main"
t_loop=$(secs loop)
t_serial=$(secs capture serial --concurrency 1)
t_slow=$(secs capture ratelimited --qps 5 --burst 10)
t_preflight=$(secs "$kf" preflight -n "$ns" -l app=bench)
t_version=$(secs "$kf" version)

index=$(ls "$work"/main/capture-*.index.json)
bundles=$(jq '.summary.complete' "$index")
verify_ok=0
for b in "$work"/main/*.tar.gz; do
	"$kf" verify "$b" >/dev/null && verify_ok=$((verify_ok + 1))
done
per_pod_ms=$(jq -r '[.pods[] | ((.ended | capture("T(?<h>..):(?<m>..):(?<s>[0-9.]+)Z") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber)) - (.started | capture("T(?<h>..):(?<m>..):(?<s>[0-9.]+)Z") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber)))] | (add / length * 1000 | floor)' "$index")
bundle_mib=$(du -sm "$work/main" | cut -f1)
loop_mib=$(du -sm "$work/loop" | cut -f1)
calls=$((pods * 7))
rss=$(/usr/bin/time -f %M "$kf" capture -q -n "$ns" -l app=bench --output-dir "$(mkdir -p "$work/rss" && echo "$work/rss")" 2>&1 >/dev/null | tail -n 1)

printf '\n%s pods, 2 containers each, %s log lines per container, %s cores\n\n' "$pods" "$lines" "$(nproc)"
printf '%-64s %8s\n' "command" "seconds"
printf '%-64s %8s\n' "kubectl forensic capture -l app=bench (defaults; median of 3)" "$t_capture"
printf '%-64s %8s\n' "cheat-sheet loop ($calls kubectl runs: get -o yaml, describe, 4x logs, events)" "$t_loop"
awk -v c="$t_capture" -v l="$t_loop" 'BEGIN{printf "\nratio: capture is %.1fx faster than the loop (target >= 10x)\n\n", l/c}'
printf 'where the capture time goes:\n'
printf '  %-62s %8s\n' "same capture, --concurrency 1" "$t_serial"
printf '  %-62s %8s\n' "same capture, client-go default limits (--qps 5 --burst 10)" "$t_slow"
printf '  %-62s %8s\n' "preflight alone (start-up, version, resolve, access reviews)" "$t_preflight"
printf '  %-62s %8s\n' "process start-up alone (kubectl-forensic version)" "$t_version"
printf '  %-62s %8s\n' "mean time per pod, from the index (ms)" "$per_pod_ms"
awk -v l="$t_loop" -v n="$calls" 'BEGIN{printf "  %-62s %8.0f\n", "loop: mean time per kubectl run (ms)", l/n*1000}'
printf '\nbundles: %s complete, %s verified, %s MiB (tar.gz); loop output: %s MiB (uncompressed, unhashed); capture peak RSS %s MiB\n' \
	"$bundles" "$verify_ok" "$bundle_mib" "$loop_mib" "$((rss / 1024))"
