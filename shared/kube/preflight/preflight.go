package preflight

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// Collection steps, as named in the preflight table, in preflight.json
// and in the manifest's producers ("kube.<step>").
const (
	StepSelect          = "select"
	StepPod             = "pod"
	StepLogs            = "logs"
	StepEvents          = "events"
	StepDescribe        = "describe"
	StepOwners          = "owners"
	StepNode            = "node"
	StepServiceAccount  = "serviceaccount"
	StepReferences      = "references"
	StepSecrets         = "secrets"
	StepServices        = "services"
	StepNetworkPolicies = "networkpolicies"
	StepPodSecurity     = "podsecurity"
	StepIdentity        = "identity"
)

// stepCollects says in words what each step collects, in table order.
var stepCollects = []struct{ step, collects string }{
	{StepSelect, "finding the pods (by name, workload or label selector)"},
	{StepPod, "pod object (JSON, YAML), container statuses, image digests"},
	{StepLogs, "logs of every container (init, regular, ephemeral), current and previous"},
	{StepEvents, "events involving the pod"},
	{StepDescribe, "describe text of the same pod snapshot"},
	{StepOwners, "owner chain (ReplicaSet, Deployment, Job, CronJob, ...)"},
	{StepNode, "the node object"},
	{StepServiceAccount, "the service account object (never a token)"},
	{StepReferences, "names of the ConfigMaps, Secrets and volume claims it references"},
	{StepSecrets, "contents of the Secrets it references (--include-secrets)"},
	{StepServices, "Services whose selector matches it, their EndpointSlices"},
	{StepNetworkPolicies, "NetworkPolicies that select it"},
	{StepPodSecurity, "the namespace's PodSecurity labels"},
	{StepIdentity, "who the capture runs as (SelfSubjectReview), for custody"},
}

// PodSecurity is what the namespace's pod-security.kubernetes.io labels say.
type PodSecurity struct {
	// Labels are the namespace's pod-security.kubernetes.io/* labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Enforce is the enforced level; empty when the namespace sets none
	// (then the cluster's default applies, privileged unless configured).
	Enforce string `json:"enforce,omitempty"`
	// Error says why the labels could not be read.
	Error string `json:"error,omitempty"`
}

// Ephemeral says whether ephemeral containers, which live capture
// (--pcap, --filesystem, --processes) adds to a pod, are available and
// allowed. Capture without them adds nothing to pods.
type Ephemeral struct {
	// Served is "yes", "no" or "unknown": whether the API serves
	// pods/ephemeralcontainers.
	Served string `json:"served"`
	// Access holds the reviews for adding an ephemeral container,
	// attaching to it (create: SPDY and WebSocket; get: WebSocket) and
	// watching the pod.
	Access []kube.Access `json:"access"`
	// Note explains what limits them (e.g. PodSecurity).
	Note string `json:"note,omitempty"`
	// Error says why discovery failed.
	Error string `json:"error,omitempty"`
}

// Report is the preflight of one namespace: what each step needs, whether
// it is allowed, and what will be collected. It goes into every bundle as
// preflight.json.
type Report struct {
	Taken     time.Time     `json:"taken"`
	Server    string        `json:"server"`
	Version   string        `json:"version,omitempty"`
	Context   string        `json:"context,omitempty"`
	Identity  kube.Identity `json:"identity"`
	Namespace string        `json:"namespace"`
	// Pods are the names of the pods the report was made for.
	Pods        []string     `json:"pods,omitempty"`
	Checks      []kube.Check `json:"checks"`
	PodSecurity PodSecurity  `json:"pod_security"`
	Ephemeral   Ephemeral    `json:"ephemeral_containers"`
	// Live is, with live capture asked for, how it would go in each pod:
	// target container, steps, the agent's security context and why, and
	// the steps refused.
	Live []live.LivePlan `json:"live,omitempty"`
	// Node is, with --node or --checkpoint, where the collector pods run,
	// the PodSecurity level there and the strategy; its rows are in Checks.
	Node *nodecollect.Plan `json:"node_stage,omitempty"`
}

// Status returns the status of step, kube.StatusOff when the report has no row for it.
func (r *Report) Status(step string) kube.Status {
	for _, c := range r.Checks {
		if c.Step == step {
			return c.Status
		}
	}
	return kube.StatusOff
}

// Cannot returns the checks whose status is kube.StatusCannot.
func (r *Report) Cannot() []kube.Check {
	var out []kube.Check
	for _, c := range r.Checks {
		if c.Status == kube.StatusCannot {
			out = append(out, c)
		}
	}
	return out
}

// Preflight checks, for the pods of namespace ns, every permission each
// collection step needs, and reads the namespace's PodSecurity labels and
// whether ephemeral containers are served. pods may be empty when they
// could not be listed: the checks are then those of a typical pod. sel,
// when set, adds the row for finding the pods.
func Preflight(ctx context.Context, c *kube.Cluster, ns string, pods []*corev1.Pod, sel *target.Selection, opts Options) Report {
	r := Report{Taken: opts.NowUTC(), Server: c.Host, Context: c.Context, Namespace: ns}
	if v, err := c.ServerVersion(ctx); err == nil {
		r.Version = v.GitVersion
	}
	r.Identity = c.WhoAmI(ctx)
	for _, p := range pods {
		r.Pods = append(r.Pods, p.Name)
	}

	rows := map[string]*kube.Check{}
	for _, s := range stepCollects {
		rows[s.step] = &kube.Check{Step: s.step, Collects: s.collects}
	}
	if sel != nil {
		rows[StepSelect].Needs = selectNeeds(*sel, ns)
	}
	rows[StepPod].Needs = []kube.Access{kube.AccessGetPods(ns)}
	rows[StepLogs].Needs = []kube.Access{kube.AccessPodLogs(ns)}
	rows[StepEvents].Needs = []kube.Access{kube.AccessListEvents(ns)}
	rows[StepDescribe].Needs = []kube.Access{kube.AccessGetPods(ns)}
	rows[StepServiceAccount].Needs = []kube.Access{kube.AccessGetSA(ns)}
	rows[StepServices].Needs = []kube.Access{kube.AccessListServices(ns), kube.AccessListSlices(ns)}
	rows[StepNetworkPolicies].Needs = []kube.Access{kube.AccessListNetpols(ns)}
	rows[StepPodSecurity].Needs = []kube.Access{kube.AccessGetNamespace(ns)}
	rows[StepIdentity].Needs = []kube.Access{kube.AccessSelfSubjectReview()}
	rows[StepReferences].Why = "read from the pod spec: no request"

	owners, scheduled, secrets := ownerKinds(pods), len(pods) == 0, len(pods) == 0
	for _, p := range pods {
		scheduled = scheduled || p.Spec.NodeName != ""
		secrets = secrets || len(kube.References(p).Secrets) > 0
	}
	if len(pods) == 0 {
		owners = []string{target.KindReplicaSet, target.KindDeployment, target.KindStatefulSet, target.KindDaemonSet, target.KindJob, target.KindCronJob}
	}
	for _, k := range owners {
		rows[StepOwners].Needs = append(rows[StepOwners].Needs, target.AccessGetKind(k, ns))
	}
	if len(owners) == 0 {
		rows[StepOwners].Status, rows[StepOwners].Why = kube.StatusNone, "no owner: a bare pod"
	}
	if scheduled {
		rows[StepNode].Needs = []kube.Access{kube.AccessGetNodes()}
	} else {
		rows[StepNode].Status, rows[StepNode].Why = kube.StatusNone, "not scheduled to a node yet"
	}
	switch {
	case !opts.IncludeSecrets:
		rows[StepSecrets].Status, rows[StepSecrets].Why = kube.StatusOff, "Secret values are collected only with --include-secrets"
	case !secrets:
		rows[StepSecrets].Status, rows[StepSecrets].Why = kube.StatusNone, "the pod references no Secret"
	default:
		rows[StepSecrets].Needs = []kube.Access{kube.AccessGetSecrets(ns)}
	}

	// Ask every review once, concurrently: the answers are cached for the
	// collectors, which ask the same questions.
	eph := []kube.Access{kube.AccessUpdateEphemeral(ns), kube.AccessCreateAttach(ns), kube.AccessGetAttach(ns), kube.AccessWatchPods(ns)}
	liveChecks := live.LiveRows(opts.Live, ns)
	var all []*kube.Access
	for _, s := range stepCollects {
		for i := range rows[s.step].Needs {
			all = append(all, &rows[s.step].Needs[i])
		}
	}
	for i := range eph {
		all = append(all, &eph[i])
	}
	for _, row := range liveChecks {
		for i := range row.Needs {
			all = append(all, &row.Needs[i])
		}
	}
	var wg sync.WaitGroup
	for _, a := range all {
		wg.Go(func() { *a = c.Can(ctx, *a) })
	}
	wg.Wait()

	for _, s := range stepCollects {
		row := rows[s.step]
		if s.step == StepSelect && sel == nil {
			continue
		}
		if row.Status == "" {
			status, why := kube.Judge(row.Needs, r.Identity)
			row.Status = status
			if why != "" {
				row.Why = why
			}
		}
		r.Checks = append(r.Checks, *row)
	}
	r.PodSecurity = podSecurity(ctx, c, ns)
	r.Ephemeral = ephemeral(ctx, c, eph, r.PodSecurity)
	if len(liveChecks) > 0 {
		r.Live = live.JudgeLive(liveChecks, pods, opts.Live, r.Identity, r.PodSecurity.Enforce, r.Ephemeral.Served)
		for _, row := range liveChecks {
			r.Checks = append(r.Checks, *row)
		}
	}
	if opts.Node.Enabled() {
		plan := nodecollect.Preflight(ctx, c, opts.Node)
		r.Node = &plan
		r.Checks = append(r.Checks, plan.Rows...)
	}
	return r
}

// selectNeeds are the permissions Resolve uses for sel in namespace ns.
func selectNeeds(sel target.Selection, ns string) []kube.Access {
	var out []kube.Access
	seen := map[string]bool{}
	add := func(a kube.Access) {
		if !seen[a.Key()] {
			seen[a.Key()] = true
			out = append(out, a)
		}
	}
	for _, t := range sel.Targets {
		switch {
		case t.Kind == target.KindPod && sel.AllNamespaces:
			add(kube.AccessListPods(""))
		case t.Kind == target.KindPod:
			add(kube.AccessGetPods(ns))
		default:
			add(target.AccessGetKind(t.Kind, ns))
			add(kube.AccessListPods(ns))
		}
	}
	if sel.Selector != "" {
		if sel.AllNamespaces {
			add(kube.AccessListPods(""))
		} else {
			add(kube.AccessListPods(ns))
		}
	}
	return out
}

// ownerKinds returns the kinds the owner chains of pods are expected to
// hold: each direct owner's kind, and the kind that usually owns it in
// turn (a ReplicaSet's Deployment, a Job's CronJob).
func ownerKinds(pods []*corev1.Pod) []string {
	set := map[string]bool{}
	for _, p := range pods {
		for _, o := range p.OwnerReferences {
			if !target.ReadableOwner(o.Kind) {
				continue
			}
			set[o.Kind] = true
			switch o.Kind {
			case target.KindReplicaSet:
				set[target.KindDeployment] = true
			case target.KindJob:
				set[target.KindCronJob] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func podSecurity(ctx context.Context, c *kube.Cluster, ns string) PodSecurity {
	var ps PodSecurity
	if err := c.NotAllowed(ctx, kube.AccessGetNamespace(ns)); err != nil {
		ps.Error = err.Error()
		return ps
	}
	n, err := c.Namespace(ctx, ns)
	if err != nil {
		if apierrors.IsNotFound(err) {
			ps.Error = fmt.Sprintf("namespace %q not found", ns)
		} else {
			ps.Error = c.Error("reading namespace "+ns, err).Error()
		}
		return ps
	}
	for k, v := range n.Labels {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			if ps.Labels == nil {
				ps.Labels = map[string]string{}
			}
			ps.Labels[k] = v
		}
	}
	ps.Enforce = ps.Labels["pod-security.kubernetes.io/enforce"]
	return ps
}

func ephemeral(ctx context.Context, c *kube.Cluster, access []kube.Access, ps PodSecurity) Ephemeral {
	e := Ephemeral{Served: "unknown", Access: access}
	served, err := kube.Cached(ctx, c, "discovery/v1", func(ctx context.Context) (bool, error) {
		list, err := c.Client.Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			return false, err
		}
		for _, r := range list.APIResources {
			if r.Name == "pods/ephemeralcontainers" {
				return true, nil
			}
		}
		return false, nil
	})
	switch {
	case err != nil:
		e.Error = c.Error("reading the API's resources", err).Error()
	case served:
		e.Served = "yes"
	default:
		e.Served = "no"
	}
	switch ps.Enforce {
	case "baseline", "restricted":
		e.Note = fmt.Sprintf("PodSecurity enforces %q here: an ephemeral container with extra privileges or capabilities would be rejected", ps.Enforce)
	}
	return e
}

// WriteText prints the report as a table, the form kubectl forensic
// preflight prints and preflight.txt keeps.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	pods := "no pods found"
	if len(r.Pods) > 0 {
		pods = fmt.Sprintf("%d pod(s): %s", len(r.Pods), strings.Join(r.Pods, ", "))
	}
	fmt.Fprintf(&b, "Preflight for namespace %q, %s\n", r.Namespace, pods)
	server := r.Server
	if r.Version != "" {
		server += " (" + r.Version + ")"
	}
	if r.Context != "" {
		server += ", context " + r.Context
	}
	fmt.Fprintf(&b, "  server:     %s\n", server)
	fmt.Fprintf(&b, "  identity:   %s [%s]\n", r.Identity.String(), r.Identity.Source)
	fmt.Fprintf(&b, "  PodSecurity: %s\n", r.PodSecurity.text())
	fmt.Fprintf(&b, "  ephemeral containers (live capture): %s\n", r.Ephemeral.text())
	for _, p := range r.Live {
		fmt.Fprintf(&b, "  live capture: %s\n", p.Text())
	}
	if r.Node != nil {
		enforce := r.Node.Enforce
		if enforce == "" {
			enforce = "no enforce label (privileged unless the cluster says otherwise)"
		}
		fmt.Fprintf(&b, "  node stage: %s; PodSecurity of %s: %s\n", r.Node.Strategy, r.Node.Namespace, enforce)
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tCOLLECTS\tNEEDS")
	for _, c := range r.Checks {
		var needs []string
		for _, a := range c.Needs {
			needs = append(needs, a.String())
		}
		status := string(c.Status)
		if c.Status == kube.StatusCannot {
			status = "CANNOT"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Step, status, c.Collects, strings.Join(needs, ", "))
	}
	tw.Flush()

	var will, cannot, other []string
	for _, c := range r.Checks {
		switch c.Status {
		case kube.StatusOK, kube.StatusUnknown:
			will = append(will, c.Step)
		case kube.StatusCannot:
			cannot = append(cannot, c.Step)
		}
		if c.Status != kube.StatusOK && c.Why != "" {
			other = append(other, fmt.Sprintf("  %s (%s): %s", c.Step, c.Status, c.Why))
		}
	}
	fmt.Fprintf(&b, "\nWill collect: %s\n", orNone(will))
	fmt.Fprintf(&b, "Cannot collect: %s\n", orNone(cannot))
	if len(other) > 0 {
		fmt.Fprintf(&b, "Why:\n%s\n", strings.Join(other, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (p PodSecurity) text() string {
	if p.Error != "" {
		return "unknown: " + p.Error
	}
	if len(p.Labels) == 0 {
		return "no labels (the cluster's default applies: privileged unless configured otherwise)"
	}
	var kv []string
	for k, v := range p.Labels {
		kv = append(kv, strings.TrimPrefix(k, "pod-security.kubernetes.io/")+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

func (e Ephemeral) text() string {
	s := "served: " + e.Served
	if e.Error != "" {
		s += " (" + e.Error + ")"
	}
	for _, a := range e.Access {
		ans := "no"
		switch {
		case a.Allowed:
			ans = "yes"
		case a.Error != "":
			ans = "unknown"
		}
		s += fmt.Sprintf("; %s %s: %s", a.Verb, a.ResourceName(), ans)
	}
	if e.Note != "" {
		s += "; " + e.Note
	}
	return s
}
