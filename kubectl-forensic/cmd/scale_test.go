package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/forensic-tools/forensic/shared/kube/target"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total, errs int
		elapsed           time.Duration
		want              string
	}{
		{0, 2000, 0, 0, "[0/2000 pods] 0.0 pods/s, 0 errors, ? left"},
		{500, 2000, 3, 10 * time.Second, "[500/2000 pods] 50.0 pods/s, 3 errors, 30s left"},
		{2000, 2000, 0, 40 * time.Second, "[2000/2000 pods] 50.0 pods/s, 0 errors, 0s left"},
	} {
		if got := progressLine(tc.done, tc.total, tc.errs, tc.elapsed); got != tc.want {
			t.Errorf("progressLine(%d, %d, %d, %v) = %q, want %q", tc.done, tc.total, tc.errs, tc.elapsed, got, tc.want)
		}
	}
}

func TestResumeValidate(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "capture-20261206T120000Z.index.jsonl")
	if err := os.WriteFile(journal, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, resume, output, wantErr string
	}{
		{"journal", journal, "", ""},
		{"with -o", journal, "x.tar.gz", "--resume and -o do not go together"},
		{"the index, not the journal", strings.TrimSuffix(journal, "l"), "", "give the index journal"},
		{"missing", filepath.Join(dir, "capture-x.index.jsonl"), "", "no such index journal"},
		{"negative retry", journal, "", "--retry-timeout must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
			o.selection = target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindPod, Name: "a", Arg: "a"}}}
			o.scale.resume, o.output.Path = tc.resume, tc.output
			if tc.name == "negative retry" {
				o.client.retry = -time.Second
			}
			err := o.Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
			if err == nil && o.output.Dir != dir {
				t.Errorf("output folder %q, want the journal's %q", o.output.Dir, dir)
			}
		})
	}
}
