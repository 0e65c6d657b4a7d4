// Command docker-forensic is the `docker forensic` CLI plugin: evidence
// collection from containers of a Docker Engine into hashed bundles. It
// also runs on its own, as `docker-forensic export ...`.
package main

import (
	"os"

	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/forensic-tools/forensic/docker-forensic/cmd"
	fcli "github.com/forensic-tools/forensic/internal/cli"
)

func main() {
	fcli.CommandLine = append([]string(nil), os.Args...)
	if plugin.RunningStandalone() {
		// Run by hand: behave as if docker had called us as "forensic".
		os.Args = append([]string{os.Args[0], cmd.PluginName}, os.Args[1:]...)
	}
	plugin.Run(cmd.NewRootCommand, cmd.Metadata())
}
