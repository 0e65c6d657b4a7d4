package cli

import (
	"fmt"
	"io"

	"github.com/forensic-tools/forensic/shared/collect"
)

// PrintResult tells people how one target's collection ended: the bundle,
// its own SHA-256, and every reason it is incomplete.
func PrintResult(w io.Writer, target string, res collect.Result) {
	switch res.Outcome() {
	case collect.Failed:
		fmt.Fprintf(w, "%s: bundle NOT finished: %v\n", target, res.Err)
		if res.Path != "" {
			fmt.Fprintf(w, "%s: what was written is kept in %s (not a verifiable bundle)\n", target, res.Path)
		}
		return
	case collect.Complete:
		fmt.Fprintf(w, "%s: bundle %s complete: %d artifacts, %s\n", target, name(res.Path), len(res.Manifest.Artifacts), collect.HumanBytes(res.Size))
	case collect.Incomplete:
		fmt.Fprintf(w, "%s: bundle %s INCOMPLETE: %d artifacts, %s; %d problems:\n", target, name(res.Path), len(res.Manifest.Artifacts), collect.HumanBytes(res.Size), len(res.Manifest.Incomplete))
		for _, r := range res.Manifest.Incomplete {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	fmt.Fprintf(w, "%s: sha256 %s  %s\n", target, res.SHA256, name(res.Path))
}

func name(p string) string {
	if p == "" {
		return "(standard output)"
	}
	return p
}
