//go:build !linux

package agentcmd

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// Main says that the agent runs on linux only.
func Main(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	fmt.Fprintf(stderr, "forensic-agent: the agent runs on linux only, not on %s/%s\n", runtime.GOOS, runtime.GOARCH)
	return exitFailed
}
