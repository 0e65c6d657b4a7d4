// Package version holds the build identity of the forensic binaries. The
// values are set at link time, for example
//
//	go build -ldflags "-X github.com/forensic-tools/forensic/shared/version.Version=v0.1.0 \
//	  -X github.com/forensic-tools/forensic/shared/version.Commit=$(git rev-parse HEAD) \
//	  -X github.com/forensic-tools/forensic/shared/version.Date=2026-11-29T00:00:00Z"
//
// and stay "dev"/"unknown" in plain `go build` and `go test` builds.
package version

import "fmt"

// Version, Commit and Date identify the build. They are variables, not
// constants, so that -ldflags -X can set them.
var (
	// Version is the release version, such as "v0.1.0", or "dev".
	Version = "dev"
	// Commit is the source commit the binary was built from.
	Commit = "unknown"
	// Date is the build time, RFC 3339 in UTC.
	Date = "unknown"
)

// Info returns the build identity on one line, for `version` commands and
// logs: "v0.1.0 (commit abc123, built 2026-11-29T00:00:00Z)".
func Info() string {
	return fmt.Sprintf("%s (commit %s, built %s)", Version, Commit, Date)
}
