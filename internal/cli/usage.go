package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// UsageError is a bad command line: a flag that does not parse, a wrong
// number of arguments, or options that do not go together. Its text is the
// problem on one line, then the command's usage; Unwrap gives the problem
// alone.
type UsageError struct {
	Err   error
	Usage string
}

func (e *UsageError) Error() string { return e.Err.Error() + "\n\n" + e.Usage }
func (e *UsageError) Unwrap() error { return e.Err }

// NewUsageError returns err as a bad command line of cmd, with cmd's usage
// line and where to read more, as the docker CLI shows them.
func NewUsageError(cmd *cobra.Command, err error) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		return err
	}
	return &UsageError{Err: err, Usage: fmt.Sprintf("Usage:  %s\n\nRun '%s --help' for more information", cmd.UseLine(), cmd.CommandPath())}
}

// ShowUsage makes root and every command under it return a *UsageError
// for a bad command line: a flag that does not parse, arguments that the
// command's Args refuses, and any error its RunE returns while its
// SilenceUsage is still false. Each RunE sets SilenceUsage once its
// Validate passed (the stern pattern), so that a failure at run time (an
// unknown container, an unreachable engine) comes without usage. The
// caller prints the error on standard error; cobra itself must not print
// usage (SilenceUsage on root), as it would print it on standard output.
// then, when not nil, is applied to every error a command returns.
func ShowUsage(root *cobra.Command, then func(error) error) {
	if then == nil {
		then = func(err error) error { return err }
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return then(NewUsageError(c, err))
	})
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, c := range cmd.Commands() {
			walk(c)
		}
		if args := cmd.Args; args != nil {
			cmd.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return then(NewUsageError(c, err))
				}
				return nil
			}
		}
		if run := cmd.RunE; run != nil {
			cmd.RunE = func(c *cobra.Command, a []string) error {
				err := run(c, a)
				if err == nil {
					return nil
				}
				if !c.SilenceUsage {
					err = NewUsageError(c, err)
				}
				return then(err)
			}
		}
	}
	walk(root)
}
