package cmd

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	fcli "github.com/forensic-tools/forensic/internal/cli"
)

// newOfflineCommand returns `docker forensic offline ls|export`, which
// read a data root at rest and need no engine.
func newOfflineCommand(dockerCLI command.Cli) *cobra.Command {
	return offline(fcli.NewOfflineCommand("docker forensic", "docker-forensic", fcli.OfflineStreams{
		Out: dockerCLI.Out(), Err: dockerCLI.Err(),
		OutIsTerminal: dockerCLI.Out().IsTerminal(), ErrIsTerminal: dockerCLI.Err().IsTerminal(),
	}, false))
}
