// Package docker_e2e proves docker forensic end to end against a real
// Docker Engine: the real docker CLI runs the plugin from a temporary
// DOCKER_CONFIG/cli-plugins, containers come from images built locally
// (busybox-static with docker import, and a distroless image holding one
// static Go binary), and bundles are checked with tar, sha256sum -c and jq.
//
// The tests carry the build tag e2e and need root, a Docker Engine that
// answers (test/docker/engine ensure starts one), busybox-static, tar,
// zstd, jq and nsenter. A missing piece fails the suite; nothing is skipped:
//
//	go test -tags e2e -count=1 ./test/e2e/docker/...
package docker_e2e
