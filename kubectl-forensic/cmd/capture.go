package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/podcollect"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

const defaultConcurrency = 4

// CaptureOptions are the options of kubectl forensic capture.
type CaptureOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	args        []string
	sel         selectionFlags
	client      clientFlags
	output      collect.Output
	format      evidence.Format
	custody     fcli.CustodyFlags
	kube        preflight.Options
	concurrency int
	quiet       bool
	live        liveFlags
	scale       scaleFlags
	node        nodeFlags
	// nodeNamespaceSet is whether --node-namespace was given.
	nodeNamespaceSet bool

	// Set by Complete.
	selection target.Selection
	// newCluster, when set, replaces the cluster of the kubeconfig flags
	// (tests set a fake).
	newCluster func() (*kube.Cluster, error)
	// stdoutTerminal and stderrTerminal say where the streams go;
	// stdinTerminal whether a question can be asked.
	stdoutTerminal, stderrTerminal, stdinTerminal bool
	// attacher, when set, replaces the pods/attach of the kubeconfig
	// (tests set a fake).
	attacher live.Attacher
}

// NewCaptureOptions returns capture's options with their defaults.
func NewCaptureOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *CaptureOptions {
	return &CaptureOptions{configFlags: configFlags, IOStreams: streams, concurrency: defaultConcurrency,
		client: clientFlags{qps: defaultQPS, burst: defaultBurst}}
}

// NewCmdCapture returns `kubectl forensic capture`.
func NewCmdCapture(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCaptureOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "capture [TARGET...] [-l SELECTOR] [-n NAMESPACE | -A]",
		Short: "Capture pods' evidence (objects, describe, events, owners, logs) into hashed bundles",
		Long: `Capture takes everything the API server and the kubelet know about a pod into
one evidence bundle, before the pod is gone. Without live capture nothing
runs in the pod and nothing in the cluster is changed: distroless pods are
captured like any other. Each pod gets its own bundle (same format as
docker forensic export):

  preflight.json, .txt       the access checks made first (see "kubectl forensic preflight")
  pod/pod.json               the pod as the API server returned it, byte for byte (with -l: its item
                             of a page of the pod list, kind and apiVersion put in front)
  pod/pod.yaml               the same object as YAML
  pod/describe.txt           kubectl describe, rendered from the same snapshot
  pod/events.json            events involving the pod
  pod/pod-end.json           the pod read again at the end (changes during the capture)
  containers/status.json     every container: image, image digest, container ID, state, restarts
  logs/NAME.log              each container's log (init, regular, ephemeral), with timestamps
  logs/NAME.previous.log     the previous run's log, where the container ran before
  owners/chain.json          the owner chain, e.g. ReplicaSet then Deployment, Job then CronJob
  owners/KIND_NAME.json      each owner object
  node/node.json             the node the pod runs on
  serviceaccount.json        the pod's service account (never a token)
  references.json            names of the ConfigMaps, Secrets and claims the pod uses, and where
  secrets/NAME.json          with --include-secrets only: those Secrets, values included
  services/NAME.json         each Service whose selector matches the pod
  services/NAME.endpointslices.json  its EndpointSlices
  networkpolicies/NAME.json  each NetworkPolicy that selects the pod
  collection.log, custody.json, manifest.json, SHA256SUMS

Targets: pod/NAME or a bare NAME (a pod); deploy/, sts/, ds/, rs/, job/, rc/
NAME (all their pods, by the workload's selector); -l SELECTOR (every
matching pod); in -n NAMESPACE (default: the context's), or with -A in
every namespace (with -l or pod names). Several targets may be given; each
pod is captured once.

Bundles are named NAMESPACE_POD-<UTC time>.tar.gz in --output-dir (default
the current folder); -o FILE names the bundle of a single pod. When more
than one pod is captured, capture-<UTC time>.index.json is written beside
the bundles: each pod, its bundle, the bundle's SHA-256, its outcome and
why it is incomplete. Up to --concurrency pods are captured at once; a
failure on one pod never stops the others.

At scale: pods are listed page by page; each pod's line is appended to
capture-<UTC time>.index.jsonl (synced) as it finishes, so a capture that
is killed still lists every pod it finished; --resume JOURNAL captures
only the pods that journal does not list complete and intact (each such
bundle's SHA-256 and contents are verified again) and appends to it.
Throttling (429), server errors and an API server that restarts are
retried with backoff, up to 90 s a request; a pod that still fails is
listed failed with its reason, for --resume. --shard-by-namespace puts
the bundles in one folder per namespace. On a terminal, a progress line
shows pods done of total, rate, errors and time left.

A preflight runs first: one SelfSubjectAccessReview per verb each step
needs. A step that is not allowed is skipped, and the bundle is marked
incomplete with the reason; custody.json records the identity
(SelfSubjectReview, else the kubeconfig user), the context, the server and
its version. The least role that captures fully is in
deploy/rbac/forensic-capture.yaml.

Live capture (--pcap DURATION, --filesystem, --processes) runs the forensic
agent in an ephemeral container added to each pod with targetContainerName
(-c, else the kubectl.kubernetes.io/default-container annotation, else the
first container): it shares the target's process namespace and the pod's
network namespace, and streams into the bundle:

  pcap/capture.pcapng        the pod's packets (tshark -r, tcpdump -r)
  fs/rootfs.tar              the target's root filesystem (fs/mounts.json, fs/report.json)
  proc/snapshot.json         processes, executables' SHA-256, open files, sockets
  agent/info.json            the agent's version, arguments and namespaces
  agent/transfer.json        the container (name, image, digest, security context and
                             why, times), stream totals and per-artifact checks
  agent/stderr.log           the agent's own log

The agent's security context is the least the job needs: packets need root
with NET_RAW and SYS_PTRACE (PodSecurity privileged); the filesystem and
processes of a target whose runAsUser and runAsGroup are set and not root
are read as that user and group with no capability (restricted fits);
otherwise as root with SYS_PTRACE. What the namespace's PodSecurity level
or your access forbids is refused with the reason and the rest is still
captured. An ephemeral container cannot be removed from a pod: capture
says so and asks first (--yes agrees without a question; without a
terminal, --yes is required), and custody.json records the container.
The agent image (default forensic/agent:<plugin version>) must be on the
nodes: make dist writes forensic-agent-image_<version>_linux_<arch>.tar for
ctr -n k8s.io images import. The access it needs is in
deploy/rbac/forensic-live-capture.yaml.

Node evidence (--node) takes what only the node holds. Per node that hosts
selected pods, one short-lived collector pod is created in --node-namespace
(default kube-system: admin-only, and privileged on every cluster; a
collector in the target's namespace could be exec'd into by whoever
controls it), pinned to the node, with the host's PID namespace and the
host's / mounted read-only, running the agent image in its node mode; one
container per target pod, each streaming into its pod's bundle. It runs
nothing from the host and is deleted afterwards, also on an error or
Ctrl-C; custody.json records it (name, UID, node, image, privileges,
times). The pod logs folder and CRI socket are read from the kubelet
(configz, or its command line). Per container (-c narrows):

  node/C/logs/FILE           every log file the kubelet keeps, rotated and gzipped ones too
  node/C/layer.tar           the writable layer, OCI layer form (.wh. whiteouts)
  node/C/diff.json           each change (added, changed, deleted), like docker diff
  node/C/cri-container-status.json, cri-image-status.json, oci-spec.json
  node/cri-pod-sandbox-status.json, node/journal/...   (when the node keeps journald files)
  node/report.json           what was found, read, and not, and why
  node/collector.json        the collector pod, the kubelet's configz, the checkpoints asked

--checkpoint (implies --node) asks the kubelet, through the API server's
nodes/proxy, to checkpoint each running container (CRIU freezes it while
dumping; containerd 2 or CRI-O and the ContainerCheckpoint feature, on by
default since 1.30): checkpoint/C.tar arrives with its SHA-256 computed on
the node and checked on arrival, and is deleted from the node unless
--keep-on-node. A checkpoint CRIU cannot make (e.g. a listening socket on
some kernels) is an error in the manifest with CRIU's error lines; the rest
is still collected. nodes/proxy reaches the whole kubelet API as the API
server: grant it only to responders who may create privileged pods anyway.
The access needed is in deploy/rbac/forensic-node-evidence.yaml; what is
refused is said before anything privileged is created.

Exit status: 0 every bundle complete; 2 some bundles incomplete, or some
pods or targets failed; 1 nothing captured. Ctrl-C stops the capture and
still closes readable bundles marked incomplete (a running agent is told
to stop and ends its stream first).`,
		Example: `  kubectl forensic capture web-7d4b9c-x2x9q
  kubectl forensic capture -n shop pod/web-7d4b9c-x2x9q --case IR-2041 --examiner "J. Doe"
  kubectl forensic capture -n shop deploy/web --output-dir evidence/
  kubectl forensic capture -A -l app=miner --concurrency 8
  kubectl forensic capture -n shop web-7d4b9c-x2x9q -o - | ssh vault 'cat > web.tar.gz'
  kubectl forensic capture -n shop pod/web-7d4b9c-x2x9q -c web --pcap 30s --filesystem --processes
  kubectl forensic capture -n shop deploy/web --processes --yes --output-dir evidence/
  kubectl forensic capture -n shop pod/web-7d4b9c-x2x9q --node --checkpoint`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds capture's own flags; the kubeconfig flags (-n,
// --context, --kubeconfig, --as, ...) are bound on the root command.
func (o *CaptureOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.sel.addFlags(f)
	o.client.addFlags(f)
	f.StringVarP(&o.output.Path, "output", "o", "", `bundle file for a single pod; "-" writes to standard output (default NAMESPACE_POD-<UTC time>.tar.gz)`)
	f.StringVar(&o.output.Dir, "output-dir", "", "folder for the bundles and the index (default the current folder)")
	f.Var(&o.format, "format", "bundle format: "+strings.Join(evidence.FormatNames(), ", ")+" (default from the -o name, else tar.gz)")
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "pods captured at once")
	f.BoolVar(&o.kube.IncludeSecrets, "include-secrets", false, "also store the Secrets the pods reference, values included (never service account tokens)")
	f.BoolVar(&o.kube.InsecureSkipTLSVerifyBackend, "insecure-skip-tls-verify-backend", false, "read logs even when the kubelet's serving certificate cannot be verified (recorded in custody.json)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no summary on standard error (failures are still reported)")
	o.custody.AddFlags(f)
	o.live.addFlags(f)
	o.scale.addFlags(f)
	o.node.addFlags(f)
}

// Complete parses the targets and settles the namespace and the streams.
func (o *CaptureOptions) Complete(cmd *cobra.Command, args []string) error {
	o.args = args
	sel, err := o.sel.selection(o.configFlags, args)
	if err != nil {
		return err
	}
	o.selection = sel
	o.output.FormatSet = cmd.Flags().Changed("format")
	o.nodeNamespaceSet = cmd.Flags().Changed("node-namespace")
	o.output.Format = o.format
	o.stdoutTerminal = isTerminal(o.Out)
	o.stderrTerminal = isTerminal(o.ErrOut)
	o.stdinTerminal = isTerminal(o.In)
	return nil
}

// Validate checks the options before the cluster is asked anything.
func (o *CaptureOptions) Validate() error {
	if err := o.selection.Validate(); err != nil {
		return err
	}
	if err := o.client.validate(); err != nil {
		return err
	}
	switch {
	case o.concurrency < 1:
		return fmt.Errorf("--concurrency must be at least 1, not %d", o.concurrency)
	case o.output.Path != "" && o.output.Dir != "":
		return fmt.Errorf("-o and --output-dir do not go together: -o names the one bundle, --output-dir holds several")
	case o.output.Path != "" && (len(o.selection.Targets) > 1 || o.selection.Selector != "" || o.selection.AllNamespaces):
		return fmt.Errorf("-o names one bundle, but these targets may select several pods: use --output-dir")
	}
	o.live.nodeStage = o.node.enabled()
	if err := o.live.validate(); err != nil {
		return err
	}
	if err := o.scale.validate(o); err != nil {
		return err
	}
	if err := o.node.validate(o.nodeNamespaceSet); err != nil {
		return err
	}
	return o.output.Validate(o.stdoutTerminal)
}

// Run resolves the targets, runs the preflight and captures every pod.
func (o *CaptureOptions) Run(ctx context.Context) error {
	ctx, stop := fcli.SignalContext(ctx)
	defer stop()
	started := time.Now().UTC()
	cluster, err := connect(ctx, o.configFlags, o.client, o.ErrOut, o.newCluster)
	if err != nil {
		return fcli.Exit(collect.ExitNothing, err)
	}
	pods, problems := target.Resolve(ctx, cluster, o.selection)
	if len(pods) == 0 {
		return fcli.Exit(collect.ExitNothing, o.nothingSelected(problems))
	}
	for _, p := range problems {
		fmt.Fprintf(o.ErrOut, "kubectl forensic: %v\n", p)
	}
	if o.output.Path != "" && len(pods) > 1 {
		return fcli.Exit(collect.ExitNothing, fmt.Errorf("-o names one bundle, but the targets select %d pods: use --output-dir", len(pods)))
	}
	if len(pods) > 1 && o.scale.resume == "" {
		indexPath := filepath.Join(o.output.Dir, podcollect.IndexName(started))
		if _, err := os.Lstat(indexPath); err == nil {
			return fcli.Exit(collect.ExitNothing, fmt.Errorf("index %s already exists: refusing to overwrite it; wait a second or use another --output-dir", indexPath))
		}
	}
	agreed := ""
	if o.live.enabled() {
		if !o.live.yes && !o.stdinTerminal {
			_, err := o.live.confirm(ctx, pods, false, o.In, o.ErrOut, time.Now())
			return fcli.Exit(collect.ExitNothing, err)
		}
		if o.kube.Live, err = o.liveOptions(); err != nil {
			return fcli.Exit(collect.ExitNothing, err)
		}
	}
	if o.node.enabled() {
		attacher, spool, err := o.attachAndSpool()
		if err != nil {
			return fcli.Exit(collect.ExitNothing, err)
		}
		o.kube.Node = o.node.options(o.live.container, o.live.image, attacher, spool)
	}
	// Pods in several namespaces: each permission is asked for every
	// namespace at once before it is asked namespace by namespace.
	cluster.WideReviews = spansNamespaces(pods)
	if !o.quiet {
		o.preflightWarnings(ctx, cluster, pods)
	}
	if o.live.enabled() {
		// Asked after the preflight said what cannot be captured.
		if agreed, err = o.live.confirm(ctx, pods, o.stdinTerminal, o.In, o.ErrOut, time.Now()); err != nil {
			return fcli.Exit(collect.ExitNothing, err)
		}
	}

	// The index journal: each pod's line as it finishes (--resume: only
	// the pods it does not list complete and intact).
	run, pods, err := o.startRun(ctx, cluster, started, pods)
	if err != nil {
		return fcli.Exit(collect.ExitNothing, err)
	}
	// Several bundles written at once: each compresses on its own
	// goroutine, so that memory does not grow with --concurrency.
	o.output.Serial = len(pods) > 1 && o.concurrency > 1
	c := o.capture(cluster, started, len(pods), agreed)
	if run != nil {
		run.hook(c)
	}
	c.Pages = o.pages(cluster, pods)
	if !o.node.enabled() {
		// The checks are made: what is left of each pod is its name, so
		// that memory does not grow with the pods (the node stage needs
		// the objects, to know each node's pods).
		for _, p := range pods {
			p.Object = nil
		}
	}
	results := c.Run(ctx, pods)
	if c.Pages != nil && ctx.Err() == nil {
		if err := c.Pages.Err(); err != nil {
			fmt.Fprintf(o.ErrOut, "kubectl forensic: reading the pods a page of the list at a time stopped (%v); the pods after it were read one by one\n", err)
		}
	}
	for _, p := range c.NodeProblems {
		fmt.Fprintf(o.ErrOut, "kubectl forensic: node stage: %v\n", p)
	}

	if o.output.Path != collect.Stdout {
		for _, r := range results {
			if r.Outcome() != collect.Failed {
				fmt.Fprintln(o.Out, r.Result.Path)
			}
		}
	}
	outcomes := make([]collect.Outcome, 0, len(results)+len(problems))
	for _, r := range results {
		outcomes = append(outcomes, r.Outcome())
	}
	for range problems {
		outcomes = append(outcomes, collect.Failed)
	}
	code := collect.ExitCode(outcomes)
	if len(c.NodeProblems) > 0 && code == collect.ExitComplete {
		code = collect.ExitIncomplete
	}
	indexPath := ""
	if run != nil {
		if indexPath, err = run.finish(problems); err != nil {
			fmt.Fprintf(o.ErrOut, "kubectl forensic: %v\n", err)
			if code == collect.ExitComplete {
				code = collect.ExitIncomplete
			}
		} else {
		}
		if indexPath != "" {
			fmt.Fprintln(o.Out, indexPath)
		}
	}
	if len(results) == 0 && len(problems) == 0 {
		return nil // --resume: every pod was complete already
	}
	if len(results) == 1 && len(problems) == 0 && results[0].Err != nil {
		return fcli.Exit(code, results[0].Err)
	}
	switch code {
	case collect.ExitComplete:
		return nil
	case collect.ExitNothing:
		if len(results) == 1 {
			return fcli.Exit(code, errors.New("nothing captured: the bundle could not be finished (see above)"))
		}
		return fcli.Exit(code, fmt.Errorf("nothing captured from %d pods", len(results)))
	}
	if len(outcomes) == 1 {
		return fcli.Exit(code, errors.New("the bundle is incomplete: see the problems above and its manifest.json"))
	}
	bad := 0
	for _, oc := range outcomes {
		if oc != collect.Complete {
			bad++
		}
	}
	msg := fmt.Sprintf("%d of %d pods or targets incomplete or failed", bad, len(outcomes))
	if indexPath != "" {
		msg += "; see " + indexPath
	}
	return fcli.Exit(code, errors.New(msg))
}

// nothingSelected is the one error of a run whose targets selected no pod.
func (o *CaptureOptions) nothingSelected(problems []error) error {
	if len(problems) == 1 {
		return problems[0]
	}
	for _, p := range problems[:len(problems)-1] {
		fmt.Fprintf(o.ErrOut, "kubectl forensic: %v\n", p)
	}
	if len(problems) == 0 {
		return errors.New("the targets selected no pod")
	}
	return problems[len(problems)-1]
}

// preflightWarnings runs the preflight of each namespace once (its answers
// are cached for the pods' own preflights) and says what cannot be
// collected, before anything is.
func (o *CaptureOptions) preflightWarnings(ctx context.Context, cluster *kube.Cluster, pods []*target.Pod) {
	byNS, order := podsByNamespace(pods)
	for _, ns := range order {
		r := preflight.Preflight(ctx, cluster, ns, byNS[ns], &o.selection, o.kube)
		for _, ch := range r.Cannot() {
			fmt.Fprintf(o.ErrOut, "kubectl forensic: preflight: namespace %s: cannot collect %s (%s): %s\n", ns, ch.Step, ch.Collects, ch.Why)
		}
	}
	if id := cluster.WhoAmI(ctx); id.Source != kube.FromSelfSubjectReview {
		fmt.Fprintf(o.ErrOut, "kubectl forensic: identity: %s\n", id)
	}
}

// liveOptions sets up live capture: the attach through the kubeconfig's
// API server, and where agent artifacts wait for their turn.
func (o *CaptureOptions) liveOptions() (*live.LiveOptions, error) {
	attacher, spool, err := o.attachAndSpool()
	if err != nil {
		return nil, err
	}
	return o.live.options(attacher, spool), nil
}

// attachAndSpool returns the attach through the kubeconfig's API server
// (live capture and the node stage attach to their agents with it), and
// the folder where agent artifacts wait for their turn.
func (o *CaptureOptions) attachAndSpool() (live.Attacher, string, error) {
	attacher := o.attacher
	if attacher == nil {
		rc, err := o.configFlags.ToRESTConfig()
		if err != nil {
			return nil, "", kubeconfigError(o.configFlags, err)
		}
		if attacher, err = live.NewAttacher(rc); err != nil {
			return nil, "", err
		}
	}
	// Beside the bundles, as the bundle writer's own spool files.
	spool := o.output.Dir
	switch {
	case o.output.Path == collect.Stdout:
		spool = "" // the system's temporary folder
	case o.output.Path != "":
		spool = filepath.Dir(o.output.Path)
	case spool == "":
		spool = "."
	}
	return attacher, spool, nil
}

// capture sets up the run: bundle names, custody, progress and the
// per-pod report lines. agreed, when set, is the custody note of the
// agreement to live capture.
func (o *CaptureOptions) capture(cluster *kube.Cluster, started time.Time, n int, agreed string) *podcollect.Capture {
	var mu sync.Mutex
	done := 0
	c := &podcollect.Capture{
		Cluster: cluster, Options: o.kube, Selection: o.selection, Concurrency: o.concurrency,
		Open: func(p *target.Pod, _ time.Time) (*evidence.Writer, error) {
			return o.openBundle(p, started, o.Out)
		},
		Custody: func(at time.Time) evidence.Custody {
			cu := o.custody.Custody("kubectl-forensic", at)
			if agreed != "" {
				cu.Notes = append(cu.Notes, agreed)
			}
			return cu
		},
		OnDone: func(r podcollect.PodResult) {
			mu.Lock()
			defer mu.Unlock()
			done++
			switch {
			case r.Err != nil && n == 1:
				// Returned as the command's error: said once.
			case r.Err != nil:
				fmt.Fprintf(o.ErrOut, "kubectl forensic: %s: not captured: %v\n", r.Pod.Key(), r.Err)
			case !o.quiet:
				prefix := r.Pod.Key()
				if n > 1 {
					prefix = fmt.Sprintf("[%d/%d] %s", done, n, prefix)
				}
				fcli.PrintResult(o.ErrOut, prefix, r.Result)
			case r.Result.Err != nil:
				fmt.Fprintf(o.ErrOut, "kubectl forensic: %s: %v\n", r.Pod.Key(), r.Result.Err)
			}
		},
	}
	if o.quiet || !o.stderrTerminal {
		return c
	}
	if n == 1 {
		c.Progress = func(p *target.Pod) *collect.Progress { return collect.NewProgress(o.ErrOut, p.Key()+": ") }
		return c
	}
	c.OnStart = func(p *target.Pod) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(o.ErrOut, "%s: capturing (selected by %s)\n", p.Key(), strings.Join(p.From, ", "))
	}
	return c
}

// pages returns the reader of the pods' start snapshots a page of the
// label selection at a time, nil when the selection has no -l or one pod.
func (o *CaptureOptions) pages(cluster *kube.Cluster, pods []*target.Pod) *podcollect.Pages {
	if o.selection.Selector == "" || len(pods) < 2 {
		return nil
	}
	from := "-l " + o.selection.Selector
	keys := make([]string, 0, len(pods))
	for _, p := range pods {
		if slices.Contains(p.From, from) {
			keys = append(keys, p.Key())
		}
	}
	ns := o.selection.Namespace
	if o.selection.AllNamespaces {
		ns = ""
	}
	return podcollect.NewPages(cluster, ns, o.selection.Selector, keys)
}

// spansNamespaces reports whether pods are in more than one namespace.
func spansNamespaces(pods []*target.Pod) bool {
	for _, p := range pods {
		if p.Namespace != pods[0].Namespace {
			return true
		}
	}
	return false
}

// podsByNamespace groups pods by namespace, in their order.
func podsByNamespace(pods []*target.Pod) (map[string][]*corev1.Pod, []string) {
	by := map[string][]*corev1.Pod{}
	var order []string
	for _, p := range pods {
		if _, ok := by[p.Namespace]; !ok {
			order = append(order, p.Namespace)
		}
		by[p.Namespace] = append(by[p.Namespace], p.Object)
	}
	return by, order
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && collect.IsTerminal(f)
}
