package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// PreflightOptions are the options of kubectl forensic preflight.
type PreflightOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	sel    selectionFlags
	client clientFlags
	kube   preflight.Options
	live   liveFlags
	node   nodeFlags
	json   bool
	// nodeNamespaceSet is whether --node-namespace was given.
	nodeNamespaceSet bool

	selection target.Selection
}

// NewPreflightOptions returns preflight's options with their defaults.
func NewPreflightOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *PreflightOptions {
	return &PreflightOptions{configFlags: configFlags, IOStreams: streams, client: clientFlags{qps: defaultQPS, burst: defaultBurst}}
}

// NewCmdPreflight returns `kubectl forensic preflight`.
func NewCmdPreflight(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewPreflightOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "preflight [TARGET...] [-l SELECTOR] [-n NAMESPACE | -A]",
		Short: "Say what capture could collect from the targets, and what not and why",
		Long: `Preflight checks, without collecting anything, what "kubectl forensic capture"
could take from the same targets. For every step of the capture it asks the
API server, with one SelfSubjectAccessReview per verb, whether you may do
what the step needs (get pods, get pods/log, list events, get nodes, ...);
it reads who you are (SelfSubjectReview), the namespace's PodSecurity labels,
and whether ephemeral containers are served and allowed. With the live
capture flags of capture (--pcap, --filesystem, --processes, -c,
--agent-image) it also checks what the ephemeral agent container needs
(update pods/ephemeralcontainers, create pods/attach) and whether the
security context it would get passes the namespace's PodSecurity level.
With --node or --checkpoint it adds the rows of the node stage: creating,
watching, deleting and attaching to pods in --node-namespace, whose
PodSecurity level must be privileged, get nodes, and for --checkpoint
create nodes/proxy; and it says which strategy will run.
It prints one table per namespace:

  STEP    STATUS   COLLECTS   NEEDS

STATUS is ok; CANNOT (a permission is denied: the capture skips the step
and marks the bundle incomplete, with the reason); unknown (the review
failed: the capture tries); off (an option is off, e.g. --include-secrets);
none (nothing to collect: no owner, not scheduled). The same checks run at
the start of every capture and are stored in each bundle as preflight.json
and preflight.txt.

Exit status: 0 everything can be collected; 2 some steps cannot; 1 the pods
cannot even be found or read.`,
		Example: `  kubectl forensic preflight -n shop deploy/web
  kubectl forensic preflight -A -l app=miner --json | jq '.[].checks[] | select(.status=="cannot")'
  kubectl forensic preflight --as system:serviceaccount:ir:responder -n shop web-0
  kubectl forensic preflight --pcap 30s --filesystem -n shop web-0`,
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

// AddFlags binds preflight's flags.
func (o *PreflightOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.sel.addFlags(f)
	o.client.addFlags(f)
	f.BoolVar(&o.kube.IncludeSecrets, "include-secrets", false, "check the access --include-secrets needs too")
	f.BoolVar(&o.json, "json", false, "print the reports as a JSON array instead of tables")
	o.live.addFlags(f)
	o.node.addFlags(f)
	// Preflight adds nothing to pods: there is nothing to agree to.
	_ = f.MarkHidden("yes")
}

// Complete parses the targets and settles the namespace.
func (o *PreflightOptions) Complete(cmd *cobra.Command, args []string) error {
	o.nodeNamespaceSet = cmd.Flags().Changed("node-namespace")
	sel, err := o.sel.selection(o.configFlags, args)
	o.selection = sel
	return err
}

// Validate checks the options before the cluster is asked anything.
func (o *PreflightOptions) Validate() error {
	if err := o.selection.Validate(); err != nil {
		return err
	}
	o.live.nodeStage = o.node.enabled()
	if err := o.live.validate(); err != nil {
		return err
	}
	if err := o.node.validate(o.nodeNamespaceSet); err != nil {
		return err
	}
	o.kube.Live = o.live.options(nil, "")
	o.kube.Node = o.node.options(o.live.container, o.live.image, nil, "")
	return o.client.validate()
}

// Run resolves the targets and prints one report per namespace.
func (o *PreflightOptions) Run(ctx context.Context) error {
	cluster, err := connect(ctx, o.configFlags, o.client, o.ErrOut, nil)
	if err != nil {
		return fcli.Exit(collect.ExitNothing, err)
	}
	pods, problems := target.Resolve(ctx, cluster, o.selection)
	forbidden := false
	for _, p := range problems {
		forbidden = forbidden || apierrors.IsForbidden(p)
	}
	if len(pods) == 0 && (!forbidden || o.selection.AllNamespaces) {
		// Nothing to check against: a missing pod or namespace.
		if len(problems) == 1 {
			return fcli.Exit(collect.ExitNothing, problems[0])
		}
		return fcli.Exit(collect.ExitNothing, errors.Join(problems...))
	}
	byNS, order := podsByNamespace(pods)
	if len(order) == 0 {
		order = []string{o.selection.Namespace}
	}
	reports := make([]preflight.Report, 0, len(order))
	for _, ns := range order {
		reports = append(reports, preflight.Preflight(ctx, cluster, ns, byNS[ns], &o.selection, o.kube))
	}
	if err := o.print(reports); err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(o.ErrOut, "kubectl forensic: %v\n", p)
	}
	code := preflightExit(reports, len(pods) == 0)
	if len(problems) > 0 && code == collect.ExitComplete {
		code = collect.ExitIncomplete
	}
	switch code {
	case collect.ExitComplete:
		return nil
	case collect.ExitNothing:
		return fcli.Exit(code, errors.New("the pods cannot be found or read: capture would collect nothing (see the table)"))
	}
	return fcli.Exit(code, errors.New("some steps cannot be collected: capture would mark the bundles incomplete (see the table)"))
}

func (o *PreflightOptions) print(reports []preflight.Report) error {
	if o.json {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	for i := range reports {
		if i > 0 {
			fmt.Fprintln(o.Out)
		}
		if err := reports[i].WriteText(o.Out); err != nil {
			return err
		}
	}
	return nil
}

// preflightExit: 1 when the pods cannot be found or read, 2 when some
// step cannot be collected, 0 otherwise.
func preflightExit(reports []preflight.Report, noPods bool) int {
	code := collect.ExitComplete
	if noPods {
		return collect.ExitNothing
	}
	for _, r := range reports {
		for _, s := range []string{preflight.StepSelect, preflight.StepPod} {
			if r.Status(s) == kube.StatusCannot {
				return collect.ExitNothing
			}
		}
		if len(r.Cannot()) > 0 {
			code = collect.ExitIncomplete
		}
	}
	return code
}
