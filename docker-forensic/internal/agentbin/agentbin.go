// Package agentbin carries the forensic agent binary inside docker-forensic,
// so that the plugin can create the agent image on an engine that lacks it
// without any registry. The binary is placed in bin/ by the build (make
// build); a plugin built without it says so when live capture is asked for.
package agentbin

import (
	"embed"
	"io/fs"
	"runtime"
)

//go:embed bin
var files embed.FS

// Arch is the GOARCH of the carried agent: the build makes it for linux on
// the plugin's own architecture.
var Arch = runtime.GOARCH

// Binary returns the carried agent, or nil when the build did not include it.
func Binary() []byte {
	b, err := fs.ReadFile(files, "bin/forensic-agent")
	if err != nil {
		return nil
	}
	return b
}
