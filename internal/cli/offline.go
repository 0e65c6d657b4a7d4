package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
	"github.com/forensic-tools/forensic/shared/offline/roots"
)

// OfflineStreams are where the offline commands write.
type OfflineStreams struct {
	Out, Err io.Writer
	// OutIsTerminal and ErrIsTerminal tell whether to refuse an archive on
	// standard output and whether to show progress.
	OutIsTerminal, ErrIsTerminal bool
}

// NewOfflineCommand returns `offline ls|export`, which read a Docker or
// containerd data root at rest with no daemon. commandPath is how users
// call the plugin ("docker forensic"), toolName the binary recorded in
// custody.json; kube adds --pod-logs.
func NewOfflineCommand(commandPath, toolName string, streams OfflineStreams, kube bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offline",
		Short: "List and export containers from a Docker or containerd data root at rest, with no daemon",
		Long: `Offline reads a container engine's data root from a mounted disk image or a
stopped node: a Docker data root (/var/lib/docker, overlay2) or a containerd
root (/var/lib/containerd, overlayfs snapshotter), recognised by what it holds.
Nothing under the root is written, renamed, locked or has its times changed;
a database that would take a lock to be read is copied to a temporary file
first, and the bundle says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newOfflineLs(commandPath, streams, kube), newOfflineExport(commandPath, toolName, streams, kube))
	return cmd
}

type offlineLsOptions struct {
	root    string
	output  string
	podLogs string
}

func newOfflineLs(commandPath string, streams OfflineStreams, kube bool) *cobra.Command {
	o := &offlineLsOptions{}
	cmd := &cobra.Command{
		Use:   "ls --root DIR",
		Short: "List the containers, images and volumes of a data root",
		Long: `ls lists what a data root records: each container's ID, name, image and its
digest, creation time and state when the engine last wrote it (for
Kubernetes, the pod, namespace and container name from the CRI labels),
then images and volumes. What cannot be read is listed as a problem on
standard error; the rest is shown.`,
		Example: fmt.Sprintf(`  %[1]s offline ls --root /mnt/evidence/var/lib/docker
  %[1]s offline ls --root /mnt/evidence/var/lib/containerd -o json | jq .containers`, commandPath),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.root == "" {
				return errors.New("--root is required: the data root folder, e.g. /mnt/image/var/lib/docker")
			}
			if o.output != "" && o.output != "json" && o.output != "table" {
				return fmt.Errorf("-o %s: use json or table", o.output)
			}
			cmd.SilenceUsage = true
			r, err := roots.Open(o.root)
			if err != nil {
				return err
			}
			defer r.Close()
			l, err := r.List(cmd.Context())
			if err != nil {
				return fmt.Errorf("listing root %s: %w", o.root, err)
			}
			for _, p := range l.Problems {
				fmt.Fprintf(streams.Err, "%s: %s\n", commandPath, p)
			}
			if o.output == "json" {
				b, err := json.MarshalIndent(l, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(streams.Out, "%s\n", b)
				return err
			}
			return printListing(streams.Out, l)
		},
	}
	cmd.Flags().StringVar(&o.root, "root", "", "the data root folder (/var/lib/docker or /var/lib/containerd of the image)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: table (default) or json")
	if kube {
		cmd.Flags().StringVar(&o.podLogs, "pod-logs", "", "the kubelet's pod logs folder (/var/log/pods of the image); only export reads it")
	}
	return cmd
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printListing(w io.Writer, l offline.Listing) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s root %s\n\n", l.Kind, l.Root)
	if l.Kind == offline.Containerd {
		fmt.Fprintln(tw, "CONTAINER ID\tNAMESPACE\tPOD\tPOD NAMESPACE\tCONTAINER\tIMAGE\tDIGEST\tCREATED\tSTATE")
		for _, c := range l.Containers {
			kc := dash(c.KubeContainer)
			if c.Sandbox {
				kc = "(sandbox)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", offline.ShortID(c.ID), dash(c.Namespace), dash(c.Pod), dash(c.PodNamespace), kc, dash(c.Image), dash(c.ImageDigest), fmtTime(c.Created), c.State)
		}
	} else {
		fmt.Fprintln(tw, "CONTAINER ID\tNAME\tIMAGE\tDIGEST\tCREATED\tSTATE")
		for _, c := range l.Containers {
			state := c.State
			if c.ExitCode != nil {
				state = fmt.Sprintf("%s (%d)", state, *c.ExitCode)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", offline.ShortID(c.ID), dash(c.Name), dash(c.Image), dash(c.ImageDigest), fmtTime(c.Created), state)
		}
	}
	fmt.Fprintln(tw, "\nIMAGE\tID\tDIGEST\tCREATED")
	for _, i := range l.Images {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(i.Name), offline.ShortID(strings.TrimPrefix(i.ID, "sha256:")), dash(i.Digest), fmtTime(i.Created))
	}
	if l.Kind == offline.Docker {
		fmt.Fprintln(tw, "\nVOLUME\tDRIVER\tPATH")
		for _, v := range l.Volumes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, dash(v.Driver), v.Path)
		}
	}
	return tw.Flush()
}

type offlineExportOptions struct {
	root    string
	all     bool
	opts    offline.ExportOptions
	output  collect.Output
	format  evidence.Format
	custody CustodyFlags
	quiet   bool
	refs    []string
}

func newOfflineExport(commandPath, toolName string, streams OfflineStreams, kube bool) *cobra.Command {
	o := &offlineExportOptions{}
	cmd := &cobra.Command{
		Use:   "export --root DIR (CONTAINER [CONTAINER...] | --all)",
		Short: "Export containers of a data root into hashed evidence bundles",
		Long: `Export writes one evidence bundle per container of a data root at rest, in the
format live export writes:

  container/config.v2.json, hostconfig.json   Docker's configuration as stored
  container/records/*.json                    containerd's container, image and
                                              snapshot records from meta.db
  logs/files/...                              every log file as stored (rotated,
                                              compressed; the pod logs folder's files)
  logs/stdout.log, logs/stderr.log            the decoded lines as docker logs -t prints them
  container/filesystem.tar                    the merged filesystem rebuilt from the layers
  container/upper.tar                         the writable layer alone, OCI layer form
  container/diff.json                         added, changed and deleted paths (docker diff)
  container/drift.json                        added, modified, deleted and new executable files
  image/config.json, image/history.json       the image's config and history
  volumes/NAME.json (NAME.tar with --volumes) named volumes

custody.json records the root: its path, the filesystem it is on, and what the
root says about its engine. A missing layer, a truncated log or an unreadable
record marks the bundle incomplete and names what is missing; the rest is
exported.

Exit status: 0 every bundle complete; 2 a bundle is incomplete, or one of
several containers failed; 1 nothing was collected.`,
		Example: fmt.Sprintf(`  %[1]s offline export --root /mnt/evidence/var/lib/docker web
  %[1]s offline export --root /mnt/evidence/var/lib/docker --all --volumes --output-dir /cases/IR-2041`, commandPath),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.refs = args
			o.output.FormatSet = cmd.Flags().Changed("format")
			o.output.Format = o.format
			switch {
			case o.root == "":
				return errors.New("--root is required: the data root folder, e.g. /mnt/image/var/lib/docker")
			case o.all && len(args) > 0:
				return errors.New("--all exports every container: give no container with it")
			case !o.all && len(args) == 0:
				return errors.New("name a container to export, or give --all")
			case (o.all || len(args) > 1) && o.output.Path != "":
				return errors.New("-o names one bundle: use --output-dir for several containers")
			case o.output.Path != "" && o.output.Dir != "":
				return errors.New("-o and --output-dir do not go together")
			}
			if err := o.output.Validate(streams.OutIsTerminal); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			return o.run(cmd.Context(), commandPath, toolName, streams)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", "", "the data root folder (/var/lib/docker or /var/lib/containerd of the image)")
	f.BoolVar(&o.all, "all", false, "export every container of the root")
	f.BoolVar(&o.opts.Volumes, "volumes", false, "also store the contents of the container's named volumes")
	if kube {
		f.StringVar(&o.opts.PodLogs, "pod-logs", "", "the kubelet's pod logs folder of the image (/var/log/pods), for the containers' log files")
	}
	f.StringVarP(&o.output.Path, "output", "o", "", `bundle file to create; "-" writes to standard output (default CONTAINER-<UTC time>.tar.gz)`)
	f.StringVar(&o.output.Dir, "output-dir", "", "folder for bundles with default names (default the current folder)")
	f.Var(&o.format, "format", "bundle format: "+strings.Join(evidence.FormatNames(), ", ")+" (default from the -o name, else tar.gz)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no summary on standard error")
	o.custody.AddFlags(f)
	return cmd
}

func (o *offlineExportOptions) run(ctx context.Context, commandPath, toolName string, streams OfflineStreams) error {
	ctx, stop := SignalContext(ctx)
	defer stop()
	r, err := roots.Open(o.root)
	if err != nil {
		return Exit(collect.ExitNothing, err)
	}
	defer r.Close()
	l, err := r.List(ctx)
	if err != nil {
		return Exit(collect.ExitNothing, fmt.Errorf("listing root %s: %w", o.root, err))
	}
	for _, p := range l.Problems {
		fmt.Fprintf(streams.Err, "%s: %s\n", commandPath, p)
	}
	var targets []offline.Container
	if o.all {
		targets = l.Containers
		if len(targets) == 0 {
			return Exit(collect.ExitNothing, fmt.Errorf("root %s records no container", o.root))
		}
	}
	var outcomes []collect.Outcome
	for _, ref := range o.refs {
		c, err := offline.Resolve(l, ref)
		if err != nil {
			if len(o.refs) == 1 {
				return Exit(collect.ExitNothing, err)
			}
			fmt.Fprintf(streams.Err, "%s: %v\n", commandPath, err)
			outcomes = append(outcomes, collect.Failed)
			continue
		}
		targets = append(targets, c)
	}
	engine := r.Engine()
	for _, c := range targets {
		if ctx.Err() != nil {
			fmt.Fprintf(streams.Err, "%s: %s: not collected: %v\n", commandPath, c.Label(), context.Cause(ctx))
			outcomes = append(outcomes, collect.Failed)
			continue
		}
		started := time.Now().UTC()
		bundle, err := o.output.Create(c.Label(), started, os.Stdout)
		if err != nil {
			if len(targets) == 1 {
				return Exit(collect.ExitNothing, fmt.Errorf("exporting container %s: %w", c.Label(), err))
			}
			fmt.Fprintf(streams.Err, "%s: exporting container %s: %v\n", commandPath, c.Label(), err)
			outcomes = append(outcomes, collect.Failed)
			continue
		}
		cu := o.custody.Custody(toolName, started)
		cu.Target = evidence.Target{Kind: "container", ID: c.ID, Name: c.Name, Namespace: c.PodNamespace, Image: c.Image, ImageID: c.ImageID, State: c.State,
			Extra: map[string]string{"source": "offline " + string(l.Kind) + " root"}}
		if c.ImageDigest != "" {
			cu.Target.ImageDigests = []string{c.ImageDigest}
		}
		for k, v := range map[string]string{"pod": c.Pod, "pod_uid": c.PodUID, "kube_container": c.KubeContainer, "containerd_namespace": c.Namespace} {
			if v != "" {
				cu.Target.Extra[k] = v
			}
		}
		cu.Engine = engine
		cu.Notes = append(cu.Notes, fmt.Sprintf("read offline from %s root %s with no daemon; nothing under the root was written", l.Kind, l.Root))
		bundle.Logf("offline %s root %s, container %s (%s), image %s, state %s", l.Kind, l.Root, c.Label(), c.ID, c.Image, c.State)
		for _, p := range c.Problems {
			bundle.Logf("container record: %s", p)
		}
		runner := &collect.Runner{Bundle: bundle, Custody: cu}
		if !o.quiet && streams.ErrIsTerminal {
			runner.Progress = collect.NewProgress(streams.Err, c.Label()+": ")
		}
		res := runner.Run(ctx, r.Collectors(c, o.opts))
		if !o.quiet {
			PrintResult(streams.Err, c.Label(), res)
		}
		if res.Outcome() != collect.Failed && o.output.Path != collect.Stdout {
			fmt.Fprintln(streams.Out, res.Path)
		}
		if res.Err != nil && o.quiet {
			fmt.Fprintf(streams.Err, "%s: %s: %v\n", commandPath, c.Label(), res.Err)
		}
		outcomes = append(outcomes, res.Outcome())
	}
	code := collect.ExitCode(outcomes)
	switch code {
	case collect.ExitComplete:
		return nil
	case collect.ExitNothing:
		return Exit(code, fmt.Errorf("nothing collected from %d containers", len(outcomes)))
	}
	if len(outcomes) == 1 {
		return Exit(code, errors.New("the bundle is incomplete: see the problems above and its manifest.json"))
	}
	n := 0
	for _, x := range outcomes {
		if x != collect.Complete {
			n++
		}
	}
	return Exit(code, fmt.Errorf("%d of %d bundles incomplete or failed", n, len(outcomes)))
}
