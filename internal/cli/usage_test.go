package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestShowUsage: flag, argument and validation errors carry the usage;
// errors once the command validated its options do not; then sees every
// error, and nothing is printed by cobra itself.
func TestShowUsage(t *testing.T) {
	newRoot := func() (*cobra.Command, *[]error) {
		root := &cobra.Command{Use: "tool", SilenceUsage: true, SilenceErrors: true}
		var seen []error
		var limit int
		cmd := &cobra.Command{
			Use:  "do [flags] THING",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if limit < 0 {
					return fmt.Errorf("--limit %d is negative", limit)
				}
				cmd.SilenceUsage = true
				return Exit(2, errors.New("thing failed at run time"))
			},
		}
		cmd.Flags().IntVar(&limit, "limit", 0, "a limit")
		root.AddCommand(cmd)
		ShowUsage(root, func(err error) error { seen = append(seen, err); return err })
		return root, &seen
	}
	for _, tc := range []struct {
		name      string
		args      []string
		wantFirst string
		wantUsage bool
		wantCode  int
	}{
		{"unknown flag", []string{"do", "--nope", "x"}, "unknown flag: --nope", true, 0},
		{"bad flag value", []string{"do", "--limit", "many", "x"}, `invalid argument "many" for "--limit" flag: must be an integer`, true, 0},
		{"missing argument", []string{"do"}, "accepts 1 arg(s), received 0", true, 0},
		{"validation", []string{"do", "--limit", "-1", "x"}, "--limit -1 is negative", true, 0},
		{"run time", []string{"do", "x"}, "thing failed at run time", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, seen := newRoot()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(tc.args)
			err := root.Execute()
			if err == nil {
				t.Fatal("no error")
			}
			if len(*seen) != 1 || (*seen)[0] != err {
				t.Errorf("then saw %v, want the one error", *seen)
			}
			first, _, _ := strings.Cut(err.Error(), "\n")
			if first != tc.wantFirst {
				t.Errorf("first line %q, want %q", first, tc.wantFirst)
			}
			var ue *UsageError
			if got := errors.As(err, &ue); got != tc.wantUsage {
				t.Errorf("usage error %v, want %v: %q", got, tc.wantUsage, err)
			}
			if hasUsage := strings.Contains(err.Error(), "\n\nUsage:  tool do [flags] THING\n\nRun 'tool do --help' for more information"); hasUsage != tc.wantUsage {
				t.Errorf("usage in the error text %v, want %v:\n%s", hasUsage, tc.wantUsage, err)
			}
			code := 0
			if ee := (*ExitError)(nil); errors.As(err, &ee) {
				code = ee.Code
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if out.Len() != 0 {
				t.Errorf("cobra printed %q", out.String())
			}
		})
	}
}
