// Package agentcmd is the forensic agent's command line, shared by the
// forensic-agent command and by docker-forensic, which runs as the agent
// when it is started under the name forensic-agent (as the entrypoint of an
// agent image made from the plugin's own executable):
//
//	forensic-agent run --target-pid 1 --pcap 30s --fs --proc
//	forensic-agent node --request JSON --host-root /host
//	forensic-agent version
//	forensic-agent unpack --dir DIR < stream
//	forensic-agent image -o agent-image.tar
//
// The agent runs on linux only; elsewhere Main says so.
package agentcmd

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// Name is the program name the agent runs under; a multi-call binary
// checks it with Invoked.
const Name = "forensic-agent"

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitStopped = 130
)

// Invoked reports whether argv0, a program's os.Args[0], names the agent:
// its base name is forensic-agent (with .exe on windows).
func Invoked(argv0 string) bool {
	base := filepath.Base(argv0)
	return base == Name || strings.EqualFold(base, Name+".exe")
}

// ImageLabels are the labels of an agent image besides the agent's own
// (agentimage.Agent.Labels): title, version, revision, creation date and
// the stream protocol.
func ImageLabels(version, commit, date string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    Name,
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": commit,
		"org.opencontainers.image.created":  date,
		"io.forensic-tools.agent.protocol":  fmt.Sprint(stream.Version),
	}
}
