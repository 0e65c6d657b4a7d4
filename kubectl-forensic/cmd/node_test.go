package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestNodeFlagsValidate: the node stage's flags as a group, and -c and
// --agent-image with the node stage alone.
func TestNodeFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		wantNS  string
	}{
		{args: []string{"--node"}, wantNS: "kube-system"},
		{args: []string{"--checkpoint", "--keep-on-node", "-c", "web", "--agent-image", "reg/agent:1"}, wantNS: "kube-system"},
		{args: []string{"--node", "--node-namespace", "forensics"}, wantNS: "forensics"},
		{args: []string{"--keep-on-node"}, wantErr: "--keep-on-node keeps checkpoint archives on the node: use it with --checkpoint"},
		{args: []string{"--node", "--keep-on-node"}, wantErr: "use it with --checkpoint"},
		{args: []string{"--node-namespace", "x"}, wantErr: "--node-namespace is where the node collector runs: use it with --node or --checkpoint"},
		{args: []string{"--node", "--node-namespace", ""}, wantErr: "--node-namespace must name a namespace"},
		{args: []string{"-c", "web"}, wantErr: "-c chooses the target container of live capture"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := &cobra.Command{}
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
			o.AddFlags(cmd)
			err := cmd.Flags().Parse(tc.args)
			if err == nil {
				o.live.nodeStage = o.node.enabled()
				err = o.live.validate()
			}
			if err == nil {
				err = o.node.validate(cmd.Flags().Changed("node-namespace"))
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			case tc.wantErr == "":
				opts := o.node.options(o.live.container, o.live.image, nil, "")
				if opts.NS() != tc.wantNS || opts.Container != o.live.container {
					t.Errorf("options: namespace %q container %q, want %q", opts.NS(), opts.Container, tc.wantNS)
				}
			}
		})
	}
}
