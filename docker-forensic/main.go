// Command docker-forensic is the `docker forensic` CLI plugin: evidence
// collection from containers of a Docker Engine into hashed bundles. It
// also runs on its own, as `docker-forensic export ...`.
//
// Started under the name forensic-agent, it is the forensic agent
// (package shared/agent/agentcmd): that is how, on linux, the plugin
// serves as its own agent in the agent image of an engine of its
// architecture when it was built without embedded agents (a plain
// `go build` or `go install`).
package main

import (
	"os"

	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/forensic-tools/forensic/docker-forensic/cmd"
	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/agent/agentcmd"
)

func main() {
	if agentcmd.Invoked(os.Args[0]) {
		os.Exit(agentcmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	fcli.CommandLine = append([]string(nil), os.Args...)
	if plugin.RunningStandalone() {
		// Run by hand: behave as if docker had called us as "forensic".
		os.Args = append([]string{os.Args[0], cmd.PluginName}, os.Args[1:]...)
	}
	plugin.Run(cmd.NewRootCommand, cmd.Metadata())
}
