// Package kubee2e holds the end-to-end tests of kubectl forensic against a
// real single-node Kubernetes (a kubelet, containerd and real pods), and the
// helpers that those tests share.
//
// The node is brought up by test/k8s/cluster; test/k8s/e2e.sh builds and
// starts it, runs
//
//	go test -tags e2e -count=1 -v ./test/e2e/kube/...
//
// with KUBECONFIG set to the kubeconfig that `cluster up` printed, and stops
// the node afterwards. The tests sit behind the e2e build tag. A missing
// KUBECONFIG or an unreachable cluster fails them: it never skips them.
//
// The tests run on the node's own machine, as root: they reach pods by
// their IP addresses and read the kubelet's checkpoint archives from disk.
package kubee2e
