#!/usr/bin/env bash
# test/k8s/e2e.sh: the Kubernetes end-to-end run. Builds and starts the test
# node, runs the e2e suite in test/e2e/kube against it and stops the node,
# also when something fails. Extra arguments go to `go test` (e.g. -run X).
# Exits with the tests' status.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cluster=$here/cluster

"$cluster" deps
"$cluster" build
"$cluster" images

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	"$cluster" down || echo "e2e.sh: 'cluster down' failed; see its output above" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

up_out=$("$cluster" up)
kubeconfig=$(tail -n 1 <<<"$up_out")
[[ $kubeconfig == KUBECONFIG=* ]] || {
	echo "e2e.sh: 'cluster up' did not end with KUBECONFIG=...: $kubeconfig" >&2
	exit 1
}
export KUBECONFIG=${kubeconfig#KUBECONFIG=}
KUBECTL=$("$cluster" bindir)/kubectl
export KUBECTL
echo "e2e.sh: KUBECONFIG=$KUBECONFIG" >&2

status=0
(cd "$repo" && go run ./tools/testjson -- -tags e2e -count=1 -v -timeout 20m ./test/e2e/kube/... "$@") || status=$?
exit "$status"
