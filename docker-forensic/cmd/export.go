package cmd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/forensic-tools/forensic/docker-forensic/internal/agentbin"
	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/docker"
	"github.com/forensic-tools/forensic/shared/evidence"
)

type exportOptions struct {
	containers []string
	live       docker.LiveOptions
	liveNames  agent.FlagNames
	output     collect.Output
	custody    fcli.CustodyFlags
	docker     docker.Options
	quiet      bool
	format     evidence.Format
}

func newExportCommand(dockerCLI command.Cli) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Collect a container's evidence into one hashed bundle",
		Long: `Export collects everything the engine knows about a container into one
evidence bundle, running nothing inside the container:

  container/inspect.json   docker inspect, the engine's JSON byte for byte
  container/top.json       processes (running containers)
  container/stats.json     one stats sample (running containers)
  logs/stdout.log          every stdout line with its timestamp
  logs/stderr.log          every stderr line with its timestamp (tty.log for a TTY)
  container/diff.json      filesystem changes against the image (and diff.txt)
  container/filesystem.tar the engine's export stream, byte for byte
  image/inspect.json       the image, and image/history.json its layers
  networks/NAME.json       every attached network
  volumes/NAME.json        every mounted named volume
  engine/info.json         the engine, and engine/version.json

With --image the image itself is saved; with --checkpoint a CRIU checkpoint
is taken. Live captures run the forensic agent in a sidecar container that
joins the target's network and process namespaces (nothing is exec'd in the
target, so distroless containers work):

  pcap/capture.pcapng      --pcap 30s: the container's traffic (tshark -r, tcpdump -r)
  proc/snapshot.json       --processes: processes (cmdline, exe and its SHA-256,
                           cwd, maps, open files, namespaces) and sockets
  agent/transfer.json      the sidecar, the agent's byte counts and SHA-256, checked

Nothing changes the container unless you ask: --pause pauses it during the
filesystem export, --checkpoint freezes it briefly, --pcap/--processes add a
sidecar that is removed afterwards; all are recorded in custody.json.

Each container gets its own bundle, named CONTAINER-<UTC time>.tar.gz unless
-o is given; the format follows the name (.tar.gz, .tgz, .tar.zst, .tar, .zip)
or --format. An existing file is never overwritten. On a terminal, progress
is shown on standard error; the bundle's path is printed on standard output.

Exit status: 0 every bundle complete; 2 a bundle was written but is
incomplete (see its manifest), or one of several containers failed;
1 nothing was collected (for a bad command line, the usage follows the
error). Ctrl-C stops the collection and still closes a
readable bundle marked incomplete.`,
		Example: `  docker forensic export web
  docker forensic export --case IR-2041 --examiner "J. Doe" -o web.tar.zst web
  docker forensic export --pause --image web db
  docker forensic export --pcap 30s --processes web
  docker forensic export -o - web | ssh evidence-host 'cat > web.tar.gz'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(dockerCLI.Out().IsTerminal()); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			return o.Run(cmd.Context(), dockerCLI)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output.Path, "output", "o", "", `bundle file to create; "-" writes to standard output (default CONTAINER-<UTC time>.tar.gz)`)
	f.StringVar(&o.output.Dir, "output-dir", "", "folder for bundles with default names (default the current folder)")
	f.Var(&o.format, "format", "bundle format: "+strings.Join(evidence.FormatNames(), ", ")+" (default from the -o name, else tar.gz)")
	f.BoolVar(&o.docker.SaveImage, "image", false, "also save the container's image (docker save) into the bundle")
	f.BoolVar(&o.docker.Pause, "pause", false, "pause the container during the filesystem export (changes the target; recorded)")
	f.BoolVar(&o.docker.Checkpoint, "checkpoint", false, "take a CRIU checkpoint through the engine (experimental engines; changes the target briefly; recorded)")
	o.liveNames = fcli.BindLiveFlags(f, &o.live.Run, fcli.LiveFlags{Network: "the container's", Target: "the container's", By: "by the forensic agent in a sidecar (recorded)"})
	f.StringVar(&o.live.Image, "agent-image", "", "agent image for --pcap/--processes, used as it is but refused when it is for another architecture than the engine's (default "+agent.DefaultImage()+": made from the agent this plugin carries, and replaced when its labels do not name that agent for the engine's architecture)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no summary on standard error")
	o.custody.AddFlags(f)
	return cmd
}

// Complete fills in what the flags leave implicit.
func (o *exportOptions) Complete(cmd *cobra.Command, args []string) error {
	o.containers = args
	o.output.FormatSet = cmd.Flags().Changed("format")
	o.output.Format = o.format
	if o.live.Enabled() {
		o.live.Agents = agentbin.Source()
		o.docker.Live = &o.live
	}
	return nil
}

// Validate checks the options before anything is collected or created:
// live capture flags the agent would refuse are refused here, before a
// sidecar exists, and so are flags that would be ignored.
func (o *exportOptions) Validate(stdoutIsTerminal bool) error {
	if len(o.containers) > 1 && o.output.Path != "" {
		return fmt.Errorf("-o names one bundle, but %d containers were given: use --output-dir for several", len(o.containers))
	}
	if err := o.live.Run.ValidateFlags(o.liveNames); err != nil {
		return err
	}
	if o.live.Image != "" && !o.live.Enabled() {
		return fmt.Errorf("--agent-image is the image of live capture: use it with --pcap or --processes")
	}
	if o.output.Path != "" && o.output.Dir != "" {
		return fmt.Errorf("-o and --output-dir do not go together")
	}
	return o.output.Validate(stdoutIsTerminal)
}

// Run collects each container into its own bundle, one after the other.
func (o *exportOptions) Run(ctx context.Context, dockerCLI command.Cli) error {
	ctx, stop := fcli.SignalContext(ctx)
	defer stop()
	c := dockerCLI.Client()
	stderr := dockerCLI.Err()
	var outcomes []collect.Outcome
	for _, ref := range o.containers {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "docker forensic: %s: not collected: %v\n", ref, context.Cause(ctx))
			outcomes = append(outcomes, collect.Failed)
			continue
		}
		res, err := o.exportOne(ctx, dockerCLI, c, ref)
		if err != nil {
			if len(o.containers) == 1 {
				return fcli.Exit(collect.ExitNothing, err)
			}
			fmt.Fprintf(stderr, "docker forensic: %v\n", err)
			outcomes = append(outcomes, collect.Failed)
			continue
		}
		if !o.quiet {
			fcli.PrintResult(stderr, ref, res)
		}
		if res.Outcome() != collect.Failed && o.output.Path != collect.Stdout {
			fmt.Fprintln(dockerCLI.Out(), res.Path)
		}
		if res.Err != nil && o.quiet {
			fmt.Fprintf(stderr, "docker forensic: %s: %v\n", ref, res.Err)
		}
		outcomes = append(outcomes, res.Outcome())
	}
	code := collect.ExitCode(outcomes)
	switch code {
	case collect.ExitComplete:
		return nil
	case collect.ExitNothing:
		return fcli.Exit(code, fmt.Errorf("nothing collected from %d containers", len(outcomes)))
	}
	if len(outcomes) == 1 {
		return fcli.Exit(code, fmt.Errorf("the bundle is incomplete: see the problems above and its manifest.json"))
	}
	return fcli.Exit(code, fmt.Errorf("%d of %d bundles incomplete or failed", countNot(outcomes, collect.Complete), len(outcomes)))
}

func countNot(os []collect.Outcome, o collect.Outcome) int {
	n := 0
	for _, x := range os {
		if x != o {
			n++
		}
	}
	return n
}

// exportOne collects one container. An error means nothing was written.
func (o *exportOptions) exportOne(ctx context.Context, dockerCLI command.Cli, c docker.Client, ref string) (collect.Result, error) {
	started := time.Now().UTC()
	t, err := docker.Resolve(ctx, c, ref)
	if err != nil {
		return collect.Result{}, err
	}
	bundle, err := o.output.Create(t.Name(), started, os.Stdout)
	if err != nil {
		return collect.Result{}, err
	}
	custody := o.custody.Custody("docker-forensic", started)
	custody.Target = t.Identity(ctx, c)
	custody.Engine = docker.Engine(ctx, c, dockerCLI.CurrentContext())
	bundle.Logf("target container %s (%s), image %s, engine %s", t.Name(), t.ID(), custody.Target.Image, custody.Engine.Host)
	opts := o.docker
	opts.SpoolDir = os.TempDir()
	runner := &collect.Runner{Bundle: bundle, Custody: custody}
	if !o.quiet && dockerCLI.Err().IsTerminal() {
		runner.Progress = collect.NewProgress(dockerCLI.Err(), t.Name()+": ")
	}
	return runner.Run(ctx, docker.Collectors(c, t, opts)), nil
}
