#!/usr/bin/env bash
# test/bench/kube-scale.sh: kubectl forensic capture of 500, 1,000, 2,000
# and 5,000 simulated pods, in one run, on the simulated cluster of
# test/k8s/kwok (brought up with BENCH_NODES nodes and the largest size of
# pods, and down at the end unless BENCH_KEEP=1).
#
# Each size is captured with -A -l forensic.test/first-N (the first N pods,
# spread over every namespace and node) and prints: wall time, pods per
# second, time per pod, peak RSS (GNU time's maximum resident set size) and
# API requests per pod (counted by the plugin, retries included: the index
# journal's end line). Time per pod should stay flat from the smallest size
# to the largest and peak RSS should not grow with the pods. The captures
# run at --qps 500 --burst 1000 (BENCH_FLAGS overrides them) and
# --concurrency BENCH_CONCURRENCY (default 8). Nothing here is a timed
# test: it prints figures. Each size is captured BENCH_RUNS times (default
# 3) and the run of median wall time is printed.
#
#   BENCH_SIZES="500 1000 2000 5000" BENCH_NODES=100 test/bench/kube-scale.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

sizes=${BENCH_SIZES:-500 1000 2000 5000}
nodes=${BENCH_NODES:-100}
conc=${BENCH_CONCURRENCY:-8}
runs=${BENCH_RUNS:-3}
flags=${BENCH_FLAGS:---qps 500 --burst 1000}
largest=0
for s in $sizes; do
	case $s in
	500 | 1000 | 2000 | 5000) ;;
	*) echo "bench: sizes are 500, 1000, 2000 and 5000 (the cluster's forensic.test/first-N labels), not $s" >&2; exit 2 ;;
	esac
	((s > largest)) && largest=$s
done
for tool in jq /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install jq time)" >&2; exit 1; }
done

kc=$(test/k8s/kwok up --nodes "$nodes" --pods "$largest" | sed -n 's/^KUBECONFIG=//p' | tail -n 1)
[ -n "$kc" ] || { echo "bench: test/k8s/kwok up printed no KUBECONFIG" >&2; exit 1; }
work=$(mktemp -d /var/tmp/forensic-kube-scale-XXXXXX)
cleanup() {
	rm -rf "$work"
	[ -n "${BENCH_KEEP:-}" ] || test/k8s/kwok down >/dev/null 2>&1 || true
}
trap cleanup EXIT

bin=$work/kubectl-forensic
# Built as make build builds the plugin users run (stripped: the symbol
# tables would otherwise add resident pages to every figure of RSS).
CGO_ENABLED=0 go build -trimpath -tags grpcnotrace -ldflags '-s -w' -o "$bin" ./kubectl-forensic

printf '%s\n' "kubectl forensic capture on a simulated cluster: $nodes nodes, concurrency $conc, $flags; median of $runs runs (peak RSS: the largest)"
printf '%7s %9s %9s %11s %13s %13s %9s\n' pods "wall (s)" "pods/s" "ms per pod" "peak RSS MiB" "API req/pod" complete
for s in $sizes; do
	: >"$work/runs-$s"
	for ((r = 1; r <= runs; r++)); do
		out=$work/out-$s
		mkdir -p "$out"
		# shellcheck disable=SC2086 # flags are words
		KUBECONFIG=$kc /usr/bin/time -f '%e %M' -o "$work/time-$s" \
			"$bin" capture -A -l "forensic.test/first-$s" --output-dir "$out" --concurrency "$conc" $flags -q >/dev/null 2>"$work/err-$s" || {
			echo "bench: capture of $s pods failed (exit $?):" >&2
			tail -n 20 "$work/err-$s" >&2
			exit 1
		}
		read -r wall rss_kb <"$work/time-$s"
		journal=$(ls "$out"/capture-*.index.jsonl)
		requests=$(jq -s '[.[] | select(.kind == "end") | .api_requests] | add' "$journal")
		complete=$(jq -s '[.[] | select(.kind == "pod" and .outcome == "complete")] | length' "$journal")
		echo "$wall $rss_kb $requests $complete" >>"$work/runs-$s"
		rm -rf "$out"
	done
	# The run of median wall time; the largest peak RSS of all runs.
	sort -n "$work/runs-$s" | awk -v s="$s" -v n="$runs" '
		{ if ($2 > rss) rss = $2 }
		NR == int((n + 1) / 2) { w = $1; q = $3; c = $4 }
		END { printf "%7d %9.1f %9.1f %11.1f %13.1f %13.2f %9d\n", s, w, s / w, w * 1000 / s, rss / 1024, q / s, c }'
done
