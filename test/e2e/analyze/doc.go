// Package analyze_e2e proves `docker forensic analyze` and `kubectl
// forensic analyze` end to end: images are built on a real Docker Engine
// with docker import, docker run and docker commit (a layer that adds a
// setuid program, deletes a file and plants a private key and a cloud key,
// and a layer that drops a program in /tmp), saved with docker save, and
// converted to the OCI layout in the test (Debian's Docker 20.10 writes
// only the legacy layout; see imagetest.LegacyToOCI). A container of that
// image is exported with `docker forensic export --image` and the bundle is
// analysed; the HTML report is opened in headless Chromium.
//
// The tests carry the build tag e2e and need root, a Docker Engine that
// answers (test/docker/engine ensure starts one) and these Debian packages:
// docker.io, busybox-static, chromium, tar, gzip. A missing piece fails the
// suite; nothing is skipped and nothing is installed:
//
//	go test -tags e2e -count=1 -v ./test/e2e/analyze/...
package analyze_e2e
