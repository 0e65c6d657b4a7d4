package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

func TestLiveFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"--pcap", "30s", "--filesystem", "--processes", "--processes-env", "-c", "web", "--agent-image", "reg/agent:1", "--yes"}},
		{args: []string{"--pcap", "0", "--pcap-max-packets", "100"}},
		{args: []string{"--yes"}},
		{args: []string{"--pcap", "soon"}, wantErr: `invalid argument "soon" for "--pcap" flag: want a duration such as 30s or 2m`},
		{args: []string{"--pcap", "-1s"}, wantErr: "negative"},
		{args: []string{"--pcap", "0"}, wantErr: "--pcap 0 captures until a limit is reached"},
		{args: []string{"--pcap-iface", "eth0"}, wantErr: "--pcap-iface needs --pcap DURATION (e.g. --pcap 30s)"},
		{args: []string{"--pcap", "1s", "--pcap-max-bytes", "-5"}, wantErr: "--pcap-max-bytes -5 is negative: give a number of bytes, or 0 for no limit"},
		{args: []string{"--processes-env"}, wantErr: "--processes-env needs --processes"},
		{args: []string{"-c", "web"}, wantErr: "-c chooses the target container of live capture: use it with --pcap, --filesystem or --processes"},
		{args: []string{"--agent-image", "x:1"}, wantErr: "--agent-image is the image of live capture"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := &cobra.Command{}
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
			o.AddFlags(cmd)
			err := cmd.Flags().Parse(tc.args)
			if err == nil {
				err = o.live.validate()
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLiveConfirm(t *testing.T) {
	one := []*target.Pod{{Namespace: "shop", Name: "web-1"}}
	two := []*target.Pod{{Namespace: "shop", Name: "web-1"}, {Namespace: "shop", Name: "web-2"}}
	at := time.Date(2026, 11, 29, 12, 40, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		yes       bool
		terminal  bool
		input     string
		pods      []*target.Pod
		wantNote  string // a piece of the custody note; empty: refused
		wantErr   string
		wantAsked string // a piece of the question on standard error
	}{
		{name: "--yes", yes: true, pods: one, wantNote: "live capture: agreed with --yes to live capture (pcap, processes) adds an ephemeral container running the forensic agent (image forensic/agent:dev) to pod shop/web-1"},
		{name: "--yes at a terminal asks nothing", yes: true, terminal: true, pods: one, wantNote: "agreed with --yes"},
		{name: "no terminal", pods: one, wantErr: "live capture adds an ephemeral container that cannot be removed from pod shop/web-1: pass --yes to agree (nothing was captured)"},
		{name: "no terminal, two pods", pods: two, wantErr: "cannot be removed from pods shop/web-1, shop/web-2: pass --yes to agree"},
		{name: "answered y", terminal: true, input: "y\n", pods: one, wantNote: `agreed at the terminal (answered "y" at 2026-11-29T12:40:00Z)`,
			wantAsked: "an ephemeral container cannot be removed: it stays in the pod spec until the pod is deleted"},
		{name: "answered yes, two pods", terminal: true, input: "YES\n", pods: two, wantNote: "to each of 2 pods (shop/web-1, shop/web-2)", wantAsked: "Add them? [y/N] "},
		{name: "answered n", terminal: true, input: "n\n", pods: one, wantErr: "live capture not agreed to: nothing was captured", wantAsked: "Add it? [y/N] "},
		{name: "just enter", terminal: true, input: "\n", pods: one, wantErr: "not agreed to"},
		{name: "end of input", terminal: true, input: "", pods: one, wantErr: "not agreed to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &liveFlags{yes: tc.yes}
			l.run.Pcap, l.run.Proc = true, true
			var errOut strings.Builder
			note, err := l.confirm(context.Background(), tc.pods, tc.terminal, strings.NewReader(tc.input), &errOut, at)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || !strings.Contains(note, tc.wantNote) {
				t.Fatalf("note %q, err %v; want %q", note, err, tc.wantNote)
			}
			if tc.wantAsked != "" && !strings.Contains(errOut.String(), tc.wantAsked) {
				t.Errorf("question %q lacks %q", errOut.String(), tc.wantAsked)
			}
			if (!tc.terminal || tc.yes) && errOut.Len() > 0 {
				t.Errorf("asked without a terminal or with --yes: %q", errOut.String())
			}
		})
	}
}

// TestLiveConfirmInterrupted: Ctrl-C at the question refuses.
func TestLiveConfirmInterrupted(t *testing.T) {
	l := &liveFlags{}
	l.run.Proc = true
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by signal"))
	pr, pw := io.Pipe() // a terminal nobody types on
	defer pw.Close()
	_, err := l.confirm(ctx, []*target.Pod{{Namespace: "shop", Name: "web-1"}}, true, pr, io.Discard, time.Now())
	if err == nil || !strings.Contains(err.Error(), "live capture not agreed to (interrupted by signal)") {
		t.Errorf("err = %v", err)
	}
}

// TestCaptureLiveNeedsAgreement: without a terminal and without --yes a
// live capture refuses before anything is collected; answering no at the
// terminal too.
func TestCaptureLiveNeedsAgreement(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		input    string
		want     string
	}{
		{name: "no terminal", want: "live capture adds an ephemeral container that cannot be removed from pod shop/a: pass --yes to agree"},
		{name: "answered no", terminal: true, input: "n\n", want: "live capture not agreed to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, in, _, errOut := genericiooptions.NewTestIOStreams()
			in.WriteString(tc.input)
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), streams)
			dir := t.TempDir()
			o.output.Dir, o.quiet = dir, true
			o.selection = target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindPod, Name: "a", Arg: "a"}}}
			o.live.run.Proc = true
			o.stdinTerminal = tc.terminal
			o.attacher = refusingAttacher{}
			o.newCluster = func() (*kube.Cluster, error) { return fakeCluster("a"), nil }
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			err := o.Run(context.Background())
			var ee *fcli.ExitError
			if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run() = %v, want exit 1 and %q", err, tc.want)
			}
			if tc.terminal && !strings.Contains(errOut.String(), "Add it? [y/N]") {
				t.Errorf("no question asked: %q", errOut.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("refused, but %d files written", len(entries))
			}
		})
	}
}

type refusingAttacher struct{ live.Attacher }
