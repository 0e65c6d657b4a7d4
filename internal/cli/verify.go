package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// VerifyOptions are the options of the verify command.
type VerifyOptions struct {
	JSON    bool
	Bundles []string
	Out     io.Writer
}

// NewVerifyCommand returns `verify BUNDLE...`. commandPath is how users
// call the plugin, e.g. "docker forensic", for the examples.
func NewVerifyCommand(commandPath string, out io.Writer) *cobra.Command {
	o := &VerifyOptions{Out: out}
	cmd := &cobra.Command{
		Use:   "verify BUNDLE [BUNDLE...]",
		Short: "Check an evidence bundle: every hash, nothing missing, nothing added",
		Long: `Verify reads each bundle once, recomputes the SHA-256 of every file in it and
compares them with the bundle's manifest.json and SHA256SUMS. It reports
artifacts that are missing, altered or added, and says when a bundle is intact
but was marked incomplete when it was collected.

Exit status: 0 intact and complete; 2 intact but marked incomplete;
1 altered, missing files, or unreadable.`,
		Example: fmt.Sprintf(`  %[1]s verify web-20261129T124000Z.tar.gz
  %[1]s verify --json *.tar.gz | jq .`, commandPath),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Bundles = args
			cmd.SilenceUsage = true
			return o.Run(cmd)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON report per bundle instead of text")
	return cmd
}

// Run verifies every bundle and returns an ExitError unless all are
// intact and complete.
func (o *VerifyOptions) Run(cmd *cobra.Command) error {
	worst := collect.ExitComplete
	var last string
	for _, b := range o.Bundles {
		r, err := evidence.Verify(cmd.Context(), b)
		if err != nil {
			if len(o.Bundles) > 1 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%v\n", err)
			}
			worst, last = collect.ExitNothing, err.Error()
			continue
		}
		if o.JSON {
			enc := json.NewEncoder(o.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else if err := r.WriteText(o.Out); err != nil {
			return err
		}
		switch {
		case !r.Intact:
			worst, last = collect.ExitNothing, r.Summary()
		case !r.Complete && worst == collect.ExitComplete:
			worst, last = collect.ExitIncomplete, r.Summary()
		}
	}
	if worst == collect.ExitComplete {
		return nil
	}
	return Exit(worst, fmt.Errorf("%s", last))
}
