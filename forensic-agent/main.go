//go:build linux

// Command forensic-agent is the in-container forensic agent. It runs beside
// the target, in a container that shares the target's namespaces, and
// streams what it captures to the plugin over its stdout (package
// shared/agent/stream). Its command line is package shared/agent/agentcmd,
// which docker-forensic also runs when started as forensic-agent. See
// README.md for the command line and the image.
//
//	forensic-agent run --target-pid 1 --pcap 30s --fs --proc
//	forensic-agent version
//	forensic-agent unpack --dir DIR < stream
//	forensic-agent image -o agent-image.tar
package main

import (
	"os"

	"github.com/forensic-tools/forensic/shared/agent/agentcmd"
)

func main() {
	os.Exit(agentcmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
