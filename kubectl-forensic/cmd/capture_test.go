package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// writeKubeconfig writes a kubeconfig whose one context points at server.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ` + server + `
users:
- name: responder
  user:
    token: abc
contexts:
- name: ctx
  context: {cluster: c, user: responder, namespace: shop}
current-context: ctx
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// execute runs the root command with args in dir and returns its error
// and what it wrote.
func execute(t *testing.T, dir string, args ...string) (error, string, string) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewRootCommand(streams)
	root.SetArgs(args)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	err := root.ExecuteContext(context.Background())
	return err, out.String(), errOut.String()
}

func TestCaptureValidate(t *testing.T) {
	pod := target.Target{Kind: target.KindPod, Name: "a", Arg: "a"}
	for _, tc := range []struct {
		name    string
		set     func(o *CaptureOptions)
		wantErr string
	}{
		{"one pod", func(o *CaptureOptions) {}, ""},
		{"one pod to a file", func(o *CaptureOptions) { o.output.Path = "x.tar.gz" }, ""},
		{"zero concurrency", func(o *CaptureOptions) { o.concurrency = 0 }, "--concurrency must be at least 1"},
		{"zero qps", func(o *CaptureOptions) { o.client.qps = 0 }, "--qps must be above 0"},
		{"zero burst", func(o *CaptureOptions) { o.client.burst = 0 }, "--burst must be at least 1"},
		{"-o with --output-dir", func(o *CaptureOptions) { o.output.Path, o.output.Dir = "x.tar.gz", "." }, "do not go together"},
		{"-o with -l", func(o *CaptureOptions) { o.output.Path, o.selection.Selector = "x.tar.gz", "app=web" }, "-o names one bundle"},
		{"-o with two targets", func(o *CaptureOptions) {
			o.output.Path = "x.tar.gz"
			o.selection.Targets = append(o.selection.Targets, pod)
		}, "-o names one bundle"},
		{"-o to a terminal", func(o *CaptureOptions) { o.output.Path, o.stdoutTerminal = "-", true }, "refusing to write an evidence archive to a terminal"},
		{"missing output folder", func(o *CaptureOptions) { o.output.Dir = "/nonexistent/dir" }, "does not exist"},
		{"unknown format", func(o *CaptureOptions) { o.output.Path = "x.rar" }, "x.rar"},
		{"nothing selected", func(o *CaptureOptions) { o.selection.Targets = nil }, "nothing to capture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
			o.selection = target.Selection{Namespace: "shop", Targets: []target.Target{pod}}
			tc.set(o)
			err := o.Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCaptureFlags(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	root := NewRootCommand(streams)
	capture, _, err := root.Find([]string{"capture"})
	if err != nil {
		t.Fatal(err)
	}
	// kubectl's own flags come from the root; capture's are its own.
	for _, name := range []string{"namespace", "context", "kubeconfig", "as", "request-timeout"} {
		if capture.InheritedFlags().Lookup(name) == nil {
			t.Errorf("capture does not inherit --%s", name)
		}
	}
	var got []string
	for _, name := range []string{"selector", "all-namespaces", "output", "output-dir", "format", "concurrency", "qps", "burst",
		"include-secrets", "insecure-skip-tls-verify-backend", "quiet", "case", "examiner"} {
		f := capture.Flags().Lookup(name)
		if f == nil {
			t.Errorf("capture has no --%s", name)
			continue
		}
		got = append(got, name+"="+f.Shorthand+":"+f.DefValue)
	}
	want := []string{"selector=l:", "all-namespaces=A:false", "output=o:", "output-dir=:", "format=:tar.gz", "concurrency=:4", "qps=:100", "burst=:200",
		"include-secrets=:false", "insecure-skip-tls-verify-backend=:false", "quiet=q:false", "case=:", "examiner=:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
}

// TestBadInputOneLine: each bad input ends with one error (which main
// prints once), a non-zero exit code, nothing else on the streams and no
// file left behind.
func TestBadInputOneLine(t *testing.T) {
	unreachable := writeKubeconfig(t, "https://127.0.0.1:1")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no kubeconfig", map[string]string{"KUBECONFIG": "/nonexistent/kubeconfig"}, []string{"capture", "web"},
			"no kubeconfig: nothing usable in KUBECONFIG=/nonexistent/kubeconfig; set KUBECONFIG or pass --kubeconfig"},
		{"missing --kubeconfig", nil, []string{"capture", "--kubeconfig", "/nonexistent/kc", "web"},
			"no kubeconfig: /nonexistent/kc: no such file or directory"},
		{"unreachable server", map[string]string{"KUBECONFIG": unreachable}, []string{"capture", "web"},
			"asking the API server for its version: cannot reach the API server at https://127.0.0.1:1: is the cluster up"},
		{"unreachable server, preflight", map[string]string{"KUBECONFIG": unreachable}, []string{"preflight", "web"},
			"cannot reach the API server at https://127.0.0.1:1"},
		{"unknown context", map[string]string{"KUBECONFIG": unreachable}, []string{"capture", "--context", "nope", "web"},
			`context "nope" is not in the kubeconfig (kubectl config get-contexts)`},
		{"bad target", map[string]string{"KUBECONFIG": unreachable}, []string{"capture", "svc/web"}, `unknown type "svc"`},
		{"bad selector", map[string]string{"KUBECONFIG": unreachable}, []string{"capture", "-l", "a in ("}, "not a label selector"},
		{"unknown flag", nil, []string{"capture", "--nope"}, "unknown flag: --nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("KUBECONFIG", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			err, out, errOut := execute(t, dir, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			// A bad command line is followed by the usage (TestUsageOnlyForBadCommandLines).
			problem := err
			var ue *fcli.UsageError
			if errors.As(err, &ue) {
				problem = ue.Err
			}
			if strings.Contains(problem.Error(), "\n") {
				t.Errorf("error spans several lines: %q", problem)
			}
			var ee *fcli.ExitError
			if errors.As(err, &ee) && ee.Code == 0 {
				t.Errorf("exit code 0")
			}
			if out != "" || errOut != "" {
				t.Errorf("printed besides the error: stdout %q, stderr %q", out, errOut)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("left %d files behind, e.g. %s", len(entries), entries[0].Name())
			}
		})
	}
}

func TestPreflightExit(t *testing.T) {
	report := func(st ...kube.Status) preflight.Report {
		steps := []string{preflight.StepSelect, preflight.StepPod, preflight.StepNode}
		var r preflight.Report
		for i, s := range st {
			r.Checks = append(r.Checks, kube.Check{Step: steps[i], Status: s})
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		reports []preflight.Report
		noPods  bool
		want    int
	}{
		{"all ok", []preflight.Report{report(kube.StatusOK, kube.StatusOK, kube.StatusOK)}, false, 0},
		{"node denied", []preflight.Report{report(kube.StatusOK, kube.StatusOK, kube.StatusCannot)}, false, 2},
		{"pods denied", []preflight.Report{report(kube.StatusOK, kube.StatusCannot, kube.StatusOK)}, false, 1},
		{"selection denied", []preflight.Report{report(kube.StatusCannot, kube.StatusOK, kube.StatusOK)}, false, 1},
		{"no pods", []preflight.Report{report(kube.StatusOK)}, true, 1},
	} {
		if got := preflightExit(tc.reports, tc.noPods); got != tc.want {
			t.Errorf("%s: preflightExit = %d, want %d", tc.name, got, tc.want)
		}
	}
}
