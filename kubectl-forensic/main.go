// Command kubectl-forensic is the `kubectl forensic` plugin: evidence
// collection from Kubernetes pods into hashed bundles.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/kubectl-forensic/cmd"
)

// completeHelper is the name kubectl runs for plugin completion
// (kubectl_complete-forensic ARGS): a link to this binary under that name
// answers like `kubectl-forensic __complete ARGS`.
const completeHelper = "kubectl_complete-forensic"

func main() {
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == completeHelper {
		os.Args = append([]string{os.Args[0], cobra.ShellCompRequestCmd}, os.Args[1:]...)
	}
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := cmd.NewRootCommand(streams)
	if err := root.Execute(); err != nil {
		code := 1
		var ee *fcli.ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		}
		fmt.Fprintf(os.Stderr, "kubectl forensic: %v\n", err)
		os.Exit(code)
	}
}
