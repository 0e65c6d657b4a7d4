//go:build linux

package agentcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/forensic-tools/forensic/shared/agent/nodesnap"
)

// nodeCmd is `forensic-agent node`: one pod's node evidence on stdout, with
// the same start and stop on stdin and exit codes as run.
func nodeCmd(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("forensic-agent node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reqJSON := fs.String("request", "", "the node `request` as JSON: namespace, pod, pod_uid, containers, pod_logs_dir, cri_endpoint, journal_dirs, since, checkpoints")
	hostRoot := fs.String("host-root", "/host", "`directory` where the host's / is mounted; every host path is read under it")
	waitStdin := fs.Bool("wait-stdin", true, "wait for one byte on stdin before starting; then end of stdin or another byte stops the session")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "forensic-agent node: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *reqJSON == "" {
		fmt.Fprintln(stderr, "forensic-agent node: give --request JSON (see forensic-agent node -h)")
		return exitUsage
	}
	req, err := nodesnap.ParseRequest(*reqJSON)
	if err != nil {
		fmt.Fprintf(stderr, "forensic-agent node: %v\n", err)
		return exitUsage
	}
	if fi, err := os.Stat(*hostRoot); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "forensic-agent node: --host-root %s is not a directory: mount the host's / there, or pass --host-root /\n", *hostRoot)
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
	if *waitStdin {
		var cancel context.CancelFunc
		if ctx, cancel, err = startOnStdin(ctx, stdin, log); err != nil {
			log.logf("%v", err)
			return exitFailed
		}
		defer cancel()
	}
	log.logf("node evidence of pod %s/%s (%d containers, %d checkpoints), host root %s", req.Namespace, req.Pod, len(req.Containers), len(req.Checkpoints), *hostRoot)
	res, err := nodesnap.Run(ctx, out, nodesnap.Config{Request: req, HostRoot: *hostRoot, Logf: log.logf})
	return sessionExit(ctx, log, res.Bytes, res.SHA256, err)
}
