// Package cmd holds the cobra commands of kubectl forensic, in the kubectl
// dialect. The collection itself lives in shared/kube and shared/collect.
package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
)

// NewRootCommand returns `kubectl forensic` and its subcommands.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-forensic",
		Short: "Collect hashed forensic evidence from Kubernetes pods",
		Long: `kubectl forensic acquires evidence from pods into archives whose every file
is hashed (SHA-256) as it is written, with a manifest and a custody record.
Start with "kubectl forensic capture POD" (or deploy/NAME, -l SELECTOR);
"kubectl forensic preflight" says first what your access allows. Check a
bundle later with "kubectl forensic verify".`,
		// Cobra would print the usage on standard output: ShowUsage puts
		// it into the error instead, which main prints on standard error,
		// for bad command lines only.
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl forensic"},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	// The kubeconfig flags (--kubeconfig, --context, -n, --as, ...) are
	// kubectl's own, bound once here and shared by the subcommands.
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(
		NewCmdCapture(configFlags, streams),
		NewCmdPreflight(configFlags, streams),
		NewCmdOffline(streams),
		fcli.NewVerifyCommand("kubectl forensic", streams.Out),
		fcli.NewAnalyzeCommand("kubectl forensic", streams.Out),
		fcli.NewVersionCommand("kubectl-forensic", streams.Out),
	)
	fcli.ShowUsage(root, nil)
	return root
}
