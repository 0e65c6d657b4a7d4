# shellcheck shell=bash
# test/k8s/images.d/memtarget.sh: the memory-capture target of
# test/e2e/kube/memory_test.go, sourced by `test/k8s/cluster images` from
# the repository root: test/images/memtarget alone in an image, built with
# -trimpath and its symbols (not build_go_binary's -s -w), so that the
# test's own build of the same source is the same file and gdb reads the
# core with symbols.

(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -o "$IMAGES/bin/memtarget" ./test/images/memtarget) ||
	die "building memtarget failed"
import_binary_image forensic-test/memtarget:1.0 "$IMAGES/bin/memtarget"
