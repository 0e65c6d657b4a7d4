// Package agentbin says which forensic agents docker-forensic can put into
// the agent image of an engine, without any registry:
//
//   - static linux agents embedded at build time, one per architecture, as
//     bin/forensic-agent-linux-GOARCH. The tree holds none: release builds
//     (make build, make dist) feed them to the compiler with
//     `go build -overlay`, so that no build step writes here and a later
//     plain `go build` never picks up a stale or foreign agent;
//   - the plugin's own executable, on linux: main runs as the agent when
//     started under the name forensic-agent, so a plain `go build` or
//     `go install` can capture on an engine of its own architecture.
package agentbin

import (
	"embed"
	"io/fs"
	"runtime"
	"strings"

	"github.com/forensic-tools/forensic/shared/docker"
)

//go:embed bin
var files embed.FS

// Prefix is the name of an embedded agent before its GOARCH.
const Prefix = "bin/forensic-agent-linux-"

// Embedded returns the carried static agents by GOARCH; empty for a plain
// build.
func Embedded() map[string][]byte {
	entries, err := fs.ReadDir(files, "bin")
	if err != nil {
		return nil
	}
	agents := map[string][]byte{}
	for _, e := range entries {
		name := "bin/" + e.Name()
		arch, ok := strings.CutPrefix(name, Prefix)
		if !ok {
			continue
		}
		if b, err := fs.ReadFile(files, name); err == nil && len(b) > 0 {
			agents[arch] = b
		}
	}
	return agents
}

// Self is the executable that runs as the agent: the running plugin
// (/proc/self/exe), on linux; empty elsewhere.
func Self() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	return "/proc/self/exe"
}

// Source is every agent this plugin can put into an image.
func Source() docker.AgentSource {
	return docker.AgentSource{Embedded: Embedded(), Self: Self()}
}
