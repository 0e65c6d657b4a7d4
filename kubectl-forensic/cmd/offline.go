package cmd

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/collect"
)

// NewCmdOffline returns `kubectl forensic offline ls|export`, which read a
// node's containerd root (or a Docker data root) at rest, with the
// kubelet's pod logs folder given by --pod-logs; no cluster is contacted.
func NewCmdOffline(streams genericiooptions.IOStreams) *cobra.Command {
	isTerminal := func(w any) bool {
		f, ok := w.(*os.File)
		return ok && collect.IsTerminal(f)
	}
	return fcli.NewOfflineCommand("kubectl forensic", "kubectl-forensic", fcli.OfflineStreams{
		Out: streams.Out, Err: streams.ErrOut,
		OutIsTerminal: isTerminal(streams.Out), ErrIsTerminal: isTerminal(streams.ErrOut),
	}, true)
}
