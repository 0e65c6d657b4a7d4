// Package dist_e2e proves installation as users do it: `make dist`
// (tools/dist) builds every archive and the krew manifest; krew and its
// manifest validator, built from the Go module proxy, validate and install
// the plugin offline from the archives; the docker CLI lists the installed
// docker plugin; every archive matches SHA256SUMS and the manifest and holds
// a binary for its os/arch; a second build gives the same bytes.
//
//	go test -tags e2e -count=1 ./test/e2e/dist/...
package dist_e2e
