package cmd

import (
	"testing"

	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// TestUsageOnlyForBadCommandLines: a bad flag, a bad flag value, a wrong
// number of arguments and flags that do not go together print the
// problem, then the usage, on standard error (the docker CLI prints the
// StatusError there), exit 1; a failure at run time prints the problem
// alone.
func TestUsageOnlyForBadCommandLines(t *testing.T) {
	unreachable, err := client.New(client.WithHost("unix:///nonexistent/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		engine    client.APIClient
		args      []string
		wantFirst string // prefix of the first line
		wantUsage string // "" for none
	}{
		{"unknown flag", nil, []string{"export", "--bogus", "web"}, "docker forensic: unknown flag: --bogus",
			"Usage:  forensic export [OPTIONS] CONTAINER [CONTAINER...]"},
		{"bad flag value", nil, []string{"export", "--pcap", "soon", "web"}, `docker forensic: invalid argument "soon" for "--pcap" flag`,
			"Usage:  forensic export [OPTIONS] CONTAINER [CONTAINER...]"},
		{"no container", nil, []string{"export"}, "docker forensic: requires at least 1 arg(s), only received 0",
			"Usage:  forensic export [OPTIONS] CONTAINER [CONTAINER...]"},
		{"flags that do not go together", nil, []string{"export", "--pcap-iface", "eth0", "web"}, "docker forensic: --pcap-iface needs --pcap DURATION",
			"Usage:  forensic export [OPTIONS] CONTAINER [CONTAINER...]"},
		{"verify without a bundle", nil, []string{"verify"}, "docker forensic: requires at least 1 arg(s), only received 0",
			"Usage:  forensic verify BUNDLE [BUNDLE...]"},
		{"verify, unknown flag", nil, []string{"verify", "--bogus", "b.tar.gz"}, "docker forensic: unknown flag: --bogus",
			"Usage:  forensic verify BUNDLE [BUNDLE...]"},
		{"version with an argument", nil, []string{"version", "now"}, `docker forensic: unknown command "now" for "forensic version"`,
			"Usage:  forensic version"},
		{"unknown container", nil, []string{"export", "web"},
			"docker forensic: inspecting container web: no such container on unix:///fake.sock (see docker ps -a)", ""},
		{"unreachable engine", unreachable, []string{"export", "web"},
			"docker forensic: inspecting container web: cannot reach the Docker Engine at unix:///nonexistent/docker.sock", ""},
		{"missing bundle", nil, []string{"verify", "nope.tar.gz"}, "docker forensic: opening bundle nope.tar.gz: open nope.tar.gz: no such file or directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := executeWith(t, tc.engine, tc.args...)
			text, code := status(t, r.err)
			testutil.CommandError(t, text, code, r.stdout, r.stderr, tc.wantFirst, tc.wantUsage)
		})
	}
}
