package cmd

import (
	"errors"
	"testing"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/internal/testutil"
)

// stderrOf returns what main prints on standard error for err, and the
// exit status it exits with.
func stderrOf(err error) (string, int) {
	code := 1
	var ee *fcli.ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	return "kubectl forensic: " + err.Error() + "\n", code
}

// TestUsageOnlyForBadCommandLines: a bad flag, a bad flag value, a wrong
// number of arguments and options that do not go together print the
// problem on one line, then the usage, on standard error, exit 1; a
// failure at run time prints the problem alone.
func TestUsageOnlyForBadCommandLines(t *testing.T) {
	unreachable := writeKubeconfig(t, "https://127.0.0.1:1")
	const captureUsage = "Usage:  kubectl forensic capture [TARGET...] [-l SELECTOR] [-n NAMESPACE | -A] [flags]\n\nRun 'kubectl forensic capture --help' for more information\n"
	for _, tc := range []struct {
		name      string
		args      []string
		wantFirst string
		wantUsage string // "" for none
	}{
		{"unknown flag", []string{"capture", "--nope", "web"}, "kubectl forensic: unknown flag: --nope", captureUsage},
		{"bad flag value", []string{"capture", "--concurrency", "many", "web"},
			`kubectl forensic: invalid argument "many" for "--concurrency" flag: must be an integer`, captureUsage},
		{"options that do not go together", []string{"capture", "--concurrency", "0", "web"},
			"kubectl forensic: --concurrency must be at least 1, not 0", captureUsage},
		{"live flags that do not go together", []string{"capture", "--pcap-iface", "eth0", "web"},
			"kubectl forensic: --pcap-iface needs --pcap DURATION (e.g. --pcap 30s)", captureUsage},
		{"preflight, unknown flag", []string{"preflight", "--nope"}, "kubectl forensic: unknown flag: --nope",
			"Usage:  kubectl forensic preflight [TARGET...] [-l SELECTOR] [-n NAMESPACE | -A] [flags]\n"},
		{"verify without a bundle", []string{"verify"}, "kubectl forensic: requires at least 1 arg(s), only received 0",
			"Usage:  kubectl forensic verify BUNDLE [BUNDLE...] [flags]\n"},
		{"unreachable server", []string{"capture", "web"},
			"kubectl forensic: asking the API server for its version: cannot reach the API server at https://127.0.0.1:1", ""},
		{"missing bundle", []string{"verify", "nope.tar.gz"},
			"kubectl forensic: opening bundle nope.tar.gz: open nope.tar.gz: no such file or directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("KUBECONFIG", unreachable)
			err, out, errOut := execute(t, t.TempDir(), tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			text, code := stderrOf(err)
			testutil.CommandError(t, text, code, out, errOut, tc.wantFirst, tc.wantUsage)
		})
	}
}
