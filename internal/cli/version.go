package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/forensic-tools/forensic/shared/version"
)

// NewVersionCommand returns `version`, printing the build identity.
func NewVersionCommand(toolName string, out io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true // nothing to validate: any failure is at run time
			v := map[string]string{
				"name": toolName, "version": version.Version, "commit": version.Commit,
				"date": version.Date, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
			}
			if asJSON {
				return json.NewEncoder(out).Encode(v)
			}
			_, err := fmt.Fprintf(out, "%s %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s\n", toolName, version.Version, version.Commit, version.Date, v["go"], v["platform"])
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
