package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/version"
)

// CommandLine is the command line recorded in custody records. A main
// that rewrites os.Args sets it to the original first.
var CommandLine []string

// CustodyFlags are the flags that go into every bundle's custody record.
type CustodyFlags struct {
	Case     string
	Examiner string
}

// AddFlags binds --case and --examiner.
func (c *CustodyFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Case, "case", "", "case or incident identifier, recorded in custody.json")
	fs.StringVar(&c.Examiner, "examiner", "", "name of the person collecting, recorded in custody.json (default: the OS user)")
}

// Custody starts a custody record for toolName at `started`.
func (c *CustodyFlags) Custody(toolName string, started time.Time) evidence.Custody {
	cu := evidence.NewCustody(evidence.Tool{Name: toolName, Version: version.Version, Commit: version.Commit, BuildDate: version.Date}, started)
	cu.Case, cu.Examiner = c.Case, c.Examiner
	if CommandLine != nil {
		cu.CommandLine = append([]string(nil), CommandLine...)
	}
	return cu
}
