// Package cmd holds the cobra commands of docker forensic. The collection
// itself lives in shared/docker and shared/collect.
package cmd

import (
	"errors"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/version"
)

// PluginName is the name docker knows the plugin by.
const PluginName = "forensic"

// Metadata is what `docker-forensic docker-cli-plugin-metadata` reports.
func Metadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "forensic-tools",
		Version:          version.Version,
		ShortDescription: "Collect hashed forensic evidence from containers",
		URL:              "https://github.com/forensic-tools/forensic",
	}
}

// NewRootCommand returns `docker forensic` and its subcommands.
func NewRootCommand(dockerCLI command.Cli) *cobra.Command {
	root := &cobra.Command{
		Use:   PluginName,
		Short: "Collect hashed forensic evidence from containers",
		Long: `docker forensic acquires evidence from containers of a Docker Engine in one
command: inspect, filesystem, diff, logs, processes, stats, image, networks,
volumes and engine details, written into one archive whose every file is
hashed (SHA-256) as it is written, with a manifest and a custody record.
Check a bundle later with "docker forensic verify".`,
		// Cobra would print the usage on standard output: ShowUsage puts
		// it into the error instead, which the docker CLI prints on
		// standard error, for bad command lines only.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newExportCommand(dockerCLI),
		newOfflineCommand(dockerCLI),
		offline(fcli.NewVerifyCommand("docker forensic", dockerCLI.Out())),
		offline(fcli.NewAnalyzeCommand("docker forensic", dockerCLI.Out())),
		offline(fcli.NewVersionCommand("docker-forensic", dockerCLI.Out())),
	)
	fcli.ShowUsage(root, statusError)
	return root
}

// offline marks a command that does not talk to the engine, so that the
// plugin framework does not set up an engine connection for it.
func offline(cmd *cobra.Command) *cobra.Command {
	cmd.PersistentPreRun = func(*cobra.Command, []string) {}
	return cmd
}

// statusError turns a command's error into the docker CLI's StatusError,
// which the plugin framework prints on standard error before it exits
// with the status: an ExitError's code, else 1 (nothing collected, or a
// bad command line, whose usage is part of the error).
func statusError(err error) error {
	code := 1
	var ee *fcli.ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	return cli.StatusError{Cause: err, Status: "docker forensic: " + err.Error(), StatusCode: code}
}
