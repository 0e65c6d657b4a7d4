package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/docker/cli/cli"
	"github.com/moby/moby/client"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/docker/dockertest"
)

// ran is one run of `docker forensic ARGS` against the fake engine.
type ran struct {
	err            error
	stdout, stderr string
	calls          []string
	files          []string // left in the working folder
}

// execute runs `docker forensic ARGS` in a new working folder, as the
// plugin framework runs the root command.
func execute(t *testing.T, args ...string) ran {
	t.Helper()
	return executeWith(t, nil, args...)
}

// executeWith is execute with c as the engine client, when not nil.
func executeWith(t *testing.T, c client.APIClient, args ...string) ran {
	t.Helper()
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var stdout, stderr bytes.Buffer
	dockerCLI := dockertest.NewCLI(&stdout, &stderr).WithClient(c)
	root := NewRootCommand(dockerCLI)
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	return ran{err: err, stdout: stdout.String(), stderr: stderr.String(), calls: dockerCLI.Engine.Calls(), files: files}
}

// status returns what the plugin framework prints on standard error for
// err, and the exit status it exits with.
func status(t *testing.T, err error) (string, int) {
	t.Helper()
	var se cli.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v is not the docker CLI's StatusError", err, err)
	}
	return se.Error(), se.StatusCode
}

// TestExportValidate: live capture flags that do not go together are
// refused before the engine is asked anything (so before any sidecar
// exists), with one line that names the flag and says what to do, then
// the usage, and exit status 1.
func TestExportValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the first line on standard error
	}{
		{"negative max packets", []string{"--pcap", "2s", "--pcap-max-packets", "-5"},
			"docker forensic: --pcap-max-packets -5 is negative: give a number of packets, or 0 for no limit"},
		{"negative max bytes", []string{"--pcap", "2s", "--pcap-max-bytes", "-1"},
			"docker forensic: --pcap-max-bytes -1 is negative: give a number of bytes, or 0 for no limit"},
		{"negative duration", []string{"--pcap", "-2s", "--pcap-max-packets", "5"},
			"docker forensic: --pcap -2s is negative: give how long to capture (e.g. --pcap 30s)"},
		{"pcap 0 without a limit", []string{"--pcap", "0"},
			"docker forensic: --pcap 0 captures until a limit is reached: add --pcap-max-packets or --pcap-max-bytes, or give a duration (e.g. --pcap 30s)"},
		{"iface without pcap", []string{"--pcap-iface", "eth0"},
			"docker forensic: --pcap-iface needs --pcap DURATION (e.g. --pcap 30s)"},
		{"max packets without pcap", []string{"--processes", "--pcap-max-packets", "10"},
			"docker forensic: --pcap-max-packets needs --pcap DURATION (e.g. --pcap 30s)"},
		{"max bytes without pcap", []string{"--pcap-max-bytes", "10"},
			"docker forensic: --pcap-max-bytes needs --pcap DURATION (e.g. --pcap 30s)"},
		{"env without processes", []string{"--processes-env"},
			"docker forensic: --processes-env needs --processes"},
		{"agent image without live capture", []string{"--agent-image", "forensic/agent:x"},
			"docker forensic: --agent-image is the image of live capture: use it with --pcap or --processes"},
		{"-o with --output-dir", []string{"-o", "x.tar.gz", "--output-dir", "."},
			"docker forensic: -o and --output-dir do not go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(t, append(append([]string{"export"}, tc.args...), "web")...)
			text, code := status(t, r.err)
			if first, _, _ := strings.Cut(text, "\n"); first != tc.want {
				t.Errorf("first line on standard error:\n got %q\nwant %q", first, tc.want)
			}
			if !strings.Contains(text, "\n\nUsage:  forensic export [OPTIONS] CONTAINER [CONTAINER...]") {
				t.Errorf("no usage after the error:\n%s", text)
			}
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if len(r.calls) != 0 {
				t.Errorf("the engine was asked %v before the flags were checked", r.calls)
			}
			if len(r.files) != 0 || r.stdout != "" || r.stderr != "" {
				t.Errorf("left files %v, printed stdout %q, stderr %q", r.files, r.stdout, r.stderr)
			}
		})
	}
}

// TestExportValidFlagsReachTheEngine: flags that go together pass, and
// the export asks the engine for the container.
func TestExportValidFlagsReachTheEngine(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--pcap", "30s", "--pcap-iface", "eth0", "--pcap-max-packets", "100", "--pcap-max-bytes", "1000000"},
		{"--pcap", "0", "--pcap-max-packets", "5"},
		{"--processes", "--processes-env", "--agent-image", "forensic/agent:x"},
	} {
		r := execute(t, append(append([]string{"export"}, args...), "web")...)
		if len(r.calls) != 1 || r.calls[0] != "ContainerInspect web" {
			t.Errorf("export %v: engine calls %v, want inspect web; error %v", args, r.calls, r.err)
		}
		var ue *fcli.UsageError
		if errors.As(r.err, &ue) {
			t.Errorf("export %v: usage error %v", args, r.err)
		}
	}
}
