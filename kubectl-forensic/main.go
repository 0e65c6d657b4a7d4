// Command kubectl-forensic is the `kubectl forensic` plugin: evidence
// collection from Kubernetes pods into hashed bundles.
package main

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/kubectl-forensic/cmd"
)

func main() {
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
