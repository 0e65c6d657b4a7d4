//go:build linux

package agentcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentimage"
	"github.com/forensic-tools/forensic/shared/agent/session"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/version"
)

const usage = `usage: forensic-agent COMMAND [flags]

commands:
  run      capture (--pcap DURATION, --fs, --proc) and stream to stdout
  node     stream one pod's node evidence (--request JSON, --host-root DIR) to stdout
  version  print the version
  unpack   read a stream on stdin and write its artifacts under --dir
  image    write the agent's image tarball (docker load, ctr images import)

Run "forensic-agent COMMAND -h" for a command's flags.
`

// Main runs the agent's command line (args without the program name) and
// returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	return run(args, stdin, stdout, stderr)
}

func run(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "node":
		return nodeCmd(args[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "forensic-agent %s, protocol %d, %s/%s\n", version.Info(), stream.Version, runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "unpack":
		return unpackCmd(args[1:], stdin, stdout, stderr)
	case "image":
		return imageCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "forensic-agent: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// logger writes plain, timestamped lines to stderr, one write per line.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) logf(format string, args ...any) {
	line := fmt.Sprintf("%s forensic-agent: %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

func runCmd(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	o := agent.DefaultRunOptions()
	fs := flag.NewFlagSet("forensic-agent run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "forensic-agent run: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "forensic-agent run: %v\n", err)
		return exitUsage
	}
	log := &logger{w: stderr}

	out, err := protectStdout(stdout, stderr)
	if err != nil {
		log.logf("%v", err)
		return exitFailed
	}
	defer out.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.WaitStdin {
		var cancel context.CancelFunc
		var err error
		if ctx, cancel, err = startOnStdin(ctx, stdin, log); err != nil {
			log.logf("%v", err)
			return exitFailed
		}
		defer cancel()
	}
	log.logf("starting: %s", o)
	res, err := session.Run(ctx, out, session.Config{RunOptions: o, Logf: log.logf})
	return sessionExit(ctx, log, res.Bytes, res.SHA256, err)
}

// startOnStdin waits for one byte on stdin, then returns a context that
// ends when stdin ends (the client went away) or any further byte arrives,
// so that an agent nobody reads does not go on capturing into a log.
func startOnStdin(ctx context.Context, stdin io.Reader, log *logger) (context.Context, context.CancelFunc, error) {
	log.logf("%s ready, waiting for one byte on stdin to start", version.Version)
	if err := waitStart(ctx, stdin); err != nil {
		return ctx, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		var b [1]byte
		_, err := stdin.Read(b[:])
		if err != nil {
			log.logf("stdin closed: stopping")
		} else {
			log.logf("stop requested on stdin")
		}
		cancel()
	}()
	return ctx, cancel, nil
}

// sessionExit logs how a session ended and folds it into the exit code:
// failed when it failed (or sent nothing), stopped when ctx was cut.
func sessionExit(ctx context.Context, log *logger, n int64, sum string, err error) int {
	if err != nil {
		log.logf("%v", err)
		if sum == "" {
			return exitFailed
		}
	}
	log.logf("sent %d bytes, sha256 %s", n, sum)
	switch {
	case err != nil:
		return exitFailed
	case ctx.Err() != nil:
		return exitStopped
	}
	return exitOK
}

// waitStart blocks until one byte arrives on stdin.
func waitStart(ctx context.Context, stdin io.Reader) error {
	done := make(chan error, 1)
	go func() {
		var b [1]byte
		n, err := stdin.Read(b[:])
		for n == 0 && err == nil {
			n, err = stdin.Read(b[:])
		}
		if n == 1 {
			done <- nil
			return
		}
		done <- fmt.Errorf("stdin closed before the start byte: attach with stdin open (kubectl attach -i, docker attach), or pass --wait-stdin=false: %w", err)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("stopped before the start byte arrived")
	}
}

func unpackCmd(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("forensic-agent unpack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "write the artifacts under this `directory` (must be empty or absent)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "forensic-agent unpack: give --dir DIRECTORY and the stream on stdin")
		return exitUsage
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "forensic-agent unpack: %v\n", err)
		return exitFailed
	}
	sum, err := stream.Demux(stdin, stream.ExtractTo(*dir), &stream.Options{SpoolDir: *dir})
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	type artifact struct {
		stream.ArtifactResult
		Verified bool   `json:"verified"`
		Err      string `json:"error,omitempty"`
	}
	var arts []artifact
	for _, a := range sum.Artifacts {
		e := ""
		if a.Err != nil {
			e = a.Err.Error()
		}
		arts = append(arts, artifact{a, a.Verified(), e})
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	enc.Encode(map[string]any{
		"artifacts": arts, "ended": sum.Ended, "bytes": sum.Bytes, "sha256": sum.SHA256,
		"declared_bytes": sum.DeclaredBytes, "declared_sha256": sum.DeclaredSHA256,
		"agent_errors": sum.AgentErrors(), "error": errText,
	})
	if err != nil {
		fmt.Fprintf(stderr, "forensic-agent unpack: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func imageCmd(args []string, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("forensic-agent image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the image tarball to this `file`")
	name := fs.String("name", agent.DefaultImage(), "image `reference`")
	binary := fs.String("binary", "", "agent `binary` to put in the image (default: this executable)")
	arch := fs.String("arch", "", "GOARCH of the binary (default: read from the binary; a different one is refused)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "forensic-agent image: give -o FILE")
		return exitUsage
	}
	if err := writeImage(*out, *name, *binary, *arch); err != nil {
		fmt.Fprintf(stderr, "forensic-agent image: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: image %s\n", *out, *name)
	return exitOK
}

func writeImage(out, name, binary, arch string) error {
	source := agentimage.SourceFile
	if binary == "" {
		binary = "/proc/self/exe"
	}
	a, err := agentimage.FromExecutable(binary, source)
	if err != nil {
		return fmt.Errorf("reading the agent binary: %w", err)
	}
	if arch != "" && arch != a.Arch {
		return fmt.Errorf("--arch %s, but %s is built for linux/%s", arch, binary, a.Arch)
	}
	created, _ := time.Parse(time.RFC3339, version.Date)
	tmp, err := os.CreateTemp(filepath.Dir(out), ".forensic-agent-image-*")
	if err != nil {
		return fmt.Errorf("creating image tarball: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = a.WriteImage(tmp, name, created, ImageLabels(version.Version, version.Commit, version.Date))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing image tarball: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("writing image tarball: %w", err)
	}
	return nil
}
