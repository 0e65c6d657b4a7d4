package kube

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// Status of a step in the preflight.
type Status string

// Step statuses.
const (
	// StatusOK: every permission the step needs is granted.
	StatusOK Status = "ok"
	// StatusCannot: a permission is denied; the step is skipped and the
	// bundle is marked incomplete with the reason.
	StatusCannot Status = "cannot"
	// StatusUnknown: the API server could not answer an access review; the
	// step is tried and its own error, if any, recorded.
	StatusUnknown Status = "unknown"
	// StatusOff: the step was not asked for (an option is off).
	StatusOff Status = "off"
	// StatusNone: there is nothing for the step to collect (no owner, not
	// scheduled, no Secret referenced).
	StatusNone Status = "none"
)

// Access is one permission a step needs, and the API server's answer to a
// SelfSubjectAccessReview for it.
type Access struct {
	Verb        string `json:"verb"`
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource,omitempty"`
	// Namespace is empty for cluster-scoped resources and for "in every
	// namespace".
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Allowed   bool   `json:"allowed"`
	// Reason is the authorizer's explanation, when it gave one.
	Reason string `json:"reason,omitempty"`
	// Error is set when the review failed: the answer is unknown.
	Error string `json:"error,omitempty"`
	// ClusterScoped marks resources that only a ClusterRoleBinding grants.
	ClusterScoped bool `json:"cluster_scoped,omitempty"`
}

func need(verb, group, resource, sub, ns string) Access {
	return Access{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns}
}

// The permissions the steps use, built in one place so that the preflight
// and the collectors ask the same questions (and hit the same cache).
func accessGetPods(ns string) Access    { return need("get", "", "pods", "", ns) }
func accessListPods(ns string) Access   { return need("list", "", "pods", "", ns) }
func accessPodLogs(ns string) Access    { return need("get", "", "pods", "log", ns) }
func accessListEvents(ns string) Access { return need("list", "", "events", "", ns) }
func accessGetSA(ns string) Access      { return need("get", "", "serviceaccounts", "", ns) }
func accessGetSecrets(ns string) Access { return need("get", "", "secrets", "", ns) }
func accessListServices(ns string) Access {
	return need("list", "", "services", "", ns)
}
func accessListSlices(ns string) Access {
	return need("list", "discovery.k8s.io", "endpointslices", "", ns)
}
func accessListNetpols(ns string) Access {
	return need("list", "networking.k8s.io", "networkpolicies", "", ns)
}
func accessGetNodes() Access {
	a := need("get", "", "nodes", "", "")
	a.ClusterScoped = true
	return a
}
func accessGetNamespace(ns string) Access {
	// GET /api/v1/namespaces/NS is authorized with namespace NS, so a
	// RoleBinding in NS can grant it.
	a := need("get", "", "namespaces", "", ns)
	a.Name = ns
	return a
}
func accessSelfSubjectReview() Access {
	a := need("create", "authentication.k8s.io", "selfsubjectreviews", "", "")
	a.ClusterScoped = true
	return a
}
func accessGetKind(kind, ns string) Access {
	k := kindByName(kind)
	if kind == KindCronJob {
		k = kindInfo{kind: KindCronJob, group: "batch", resource: "cronjobs"}
	}
	return need("get", k.group, k.resource, "", ns)
}

// The permissions of live capture: adding the agent's ephemeral container
// (client-go's UpdateEphemeralContainers is a PUT on the subresource: verb
// update) and attaching to it (SPDY is a POST: create; WebSocket is a GET
// that the API server authorizes as both get and create, and the plugin
// falls back to SPDY when it is refused). Watching the pod is how the
// plugin sees the container start; without it, it polls.
func accessUpdateEphemeral(ns string) Access {
	return need("update", "", "pods", "ephemeralcontainers", ns)
}
func accessCreateAttach(ns string) Access { return need("create", "", "pods", "attach", ns) }
func accessGetAttach(ns string) Access    { return need("get", "", "pods", "attach", ns) }
func accessWatchPods(ns string) Access    { return need("watch", "", "pods", "", ns) }

// liveNeeds are the permissions without which no live step can run.
func liveNeeds(ns string) []Access {
	return []Access{accessUpdateEphemeral(ns), accessCreateAttach(ns)}
}

// KindCronJob is an owner kind (of Jobs); it is not a capture target.
const KindCronJob = "CronJob"

// resourceName is resource[/sub][.group], as kubectl auth can-i takes it.
func (a Access) resourceName() string {
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Group != "" {
		r += "." + a.Group
	}
	return r
}

// String is e.g. "get pods/log -n shop" or "get nodes (cluster-wide)".
func (a Access) String() string {
	s := a.Verb + " " + a.resourceName()
	if a.Name != "" {
		s += " " + a.Name
	}
	switch {
	case a.ClusterScoped:
		s += " (cluster-wide)"
	case a.Namespace == "":
		s += " -A"
	default:
		s += " -n " + a.Namespace
	}
	return s
}

func (a Access) key() string {
	return strings.Join([]string{a.Verb, a.Group, a.Resource, a.Subresource, a.Namespace, a.Name}, "|")
}

// denied reports whether the review answered "no" (not merely failed).
func (a Access) denied() bool { return !a.Allowed && a.Error == "" }

// Can asks the API server whether we may do a (SelfSubjectAccessReview).
// Answers are cached for the run.
func (c *Cluster) Can(ctx context.Context, a Access) Access {
	got, _ := cached(ctx, &c.cache, "ssar/"+a.key(), func(ctx context.Context) (Access, error) {
		review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource,
				Subresource: a.Subresource, Name: a.Name,
			},
		}}
		res, err := c.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			a.Error = c.Error("SelfSubjectAccessReview", err).Error()
			return a, nil
		}
		a.Allowed, a.Reason = res.Status.Allowed, res.Status.Reason
		if !a.Allowed && res.Status.EvaluationError != "" && !res.Status.Denied {
			a.Error = "the authorizer could not decide: " + res.Status.EvaluationError
		}
		return a, nil
	})
	return got
}

// notAllowed returns an error saying why a was refused, when the access
// review said no; nil when it is allowed or unknown (then the request is
// tried and its own error recorded).
func (c *Cluster) notAllowed(ctx context.Context, a Access) error {
	got := c.Can(ctx, a)
	if !got.denied() {
		return nil
	}
	return fmt.Errorf("not allowed (preflight): %s", whyDenied(got, c.WhoAmI(ctx)))
}

func whyDenied(a Access, id Identity) string {
	who := id.Username
	if who == "" {
		who = "this user"
	}
	s := fmt.Sprintf("%s may not %s", who, a.String())
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	if a.ClusterScoped {
		s += "; it is cluster-scoped: only a ClusterRoleBinding grants it"
		if a.Resource == "nodes" {
			s += " (bind ClusterRole forensic-capture-nodes)"
		}
	}
	return s
}

// Check is one row of the preflight table.
type Check struct {
	Step     string   `json:"step"`
	Collects string   `json:"collects"`
	Needs    []Access `json:"needs,omitempty"`
	Status   Status   `json:"status"`
	// Why explains a status other than ok.
	Why string `json:"why,omitempty"`
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
	Access []Access `json:"access"`
	// Note explains what limits them (e.g. PodSecurity).
	Note string `json:"note,omitempty"`
	// Error says why discovery failed.
	Error string `json:"error,omitempty"`
}

// Report is the preflight of one namespace: what each step needs, whether
// it is allowed, and what will be collected. It goes into every bundle as
// preflight.json.
type Report struct {
	Taken     time.Time `json:"taken"`
	Server    string    `json:"server"`
	Version   string    `json:"version,omitempty"`
	Context   string    `json:"context,omitempty"`
	Identity  Identity  `json:"identity"`
	Namespace string    `json:"namespace"`
	// Pods are the names of the pods the report was made for.
	Pods        []string    `json:"pods,omitempty"`
	Checks      []Check     `json:"checks"`
	PodSecurity PodSecurity `json:"pod_security"`
	Ephemeral   Ephemeral   `json:"ephemeral_containers"`
	// Live is, with live capture asked for, how it would go in each pod:
	// target container, steps, the agent's security context and why, and
	// the steps refused.
	Live []LivePlan `json:"live,omitempty"`
}

// Status returns the status of step, StatusOff when the report has no row for it.
func (r *Report) Status(step string) Status {
	for _, c := range r.Checks {
		if c.Step == step {
			return c.Status
		}
	}
	return StatusOff
}

// Cannot returns the checks whose status is StatusCannot.
func (r *Report) Cannot() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusCannot {
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
func Preflight(ctx context.Context, c *Cluster, ns string, pods []*corev1.Pod, sel *Selection, opts Options) Report {
	r := Report{Taken: opts.now(), Server: c.Host, Context: c.Context, Namespace: ns}
	if v, err := c.ServerVersion(ctx); err == nil {
		r.Version = v.GitVersion
	}
	r.Identity = c.WhoAmI(ctx)
	for _, p := range pods {
		r.Pods = append(r.Pods, p.Name)
	}

	rows := map[string]*Check{}
	for _, s := range stepCollects {
		rows[s.step] = &Check{Step: s.step, Collects: s.collects}
	}
	if sel != nil {
		rows[StepSelect].Needs = selectNeeds(*sel, ns)
	}
	rows[StepPod].Needs = []Access{accessGetPods(ns)}
	rows[StepLogs].Needs = []Access{accessPodLogs(ns)}
	rows[StepEvents].Needs = []Access{accessListEvents(ns)}
	rows[StepDescribe].Needs = []Access{accessGetPods(ns)}
	rows[StepServiceAccount].Needs = []Access{accessGetSA(ns)}
	rows[StepServices].Needs = []Access{accessListServices(ns), accessListSlices(ns)}
	rows[StepNetworkPolicies].Needs = []Access{accessListNetpols(ns)}
	rows[StepPodSecurity].Needs = []Access{accessGetNamespace(ns)}
	rows[StepIdentity].Needs = []Access{accessSelfSubjectReview()}
	rows[StepReferences].Why = "read from the pod spec: no request"

	owners, scheduled, secrets := ownerKinds(pods), len(pods) == 0, len(pods) == 0
	for _, p := range pods {
		scheduled = scheduled || p.Spec.NodeName != ""
		secrets = secrets || len(References(p).Secrets) > 0
	}
	if len(pods) == 0 {
		owners = []string{KindReplicaSet, KindDeployment, KindStatefulSet, KindDaemonSet, KindJob, KindCronJob}
	}
	for _, k := range owners {
		rows[StepOwners].Needs = append(rows[StepOwners].Needs, accessGetKind(k, ns))
	}
	if len(owners) == 0 {
		rows[StepOwners].Status, rows[StepOwners].Why = StatusNone, "no owner: a bare pod"
	}
	if scheduled {
		rows[StepNode].Needs = []Access{accessGetNodes()}
	} else {
		rows[StepNode].Status, rows[StepNode].Why = StatusNone, "not scheduled to a node yet"
	}
	switch {
	case !opts.IncludeSecrets:
		rows[StepSecrets].Status, rows[StepSecrets].Why = StatusOff, "Secret values are collected only with --include-secrets"
	case !secrets:
		rows[StepSecrets].Status, rows[StepSecrets].Why = StatusNone, "the pod references no Secret"
	default:
		rows[StepSecrets].Needs = []Access{accessGetSecrets(ns)}
	}

	// Ask every review once, concurrently: the answers are cached for the
	// collectors, which ask the same questions.
	eph := []Access{accessUpdateEphemeral(ns), accessCreateAttach(ns), accessGetAttach(ns), accessWatchPods(ns)}
	live := liveRows(opts.Live, ns)
	var all []*Access
	for _, s := range stepCollects {
		for i := range rows[s.step].Needs {
			all = append(all, &rows[s.step].Needs[i])
		}
	}
	for i := range eph {
		all = append(all, &eph[i])
	}
	for _, row := range live {
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
			status, why := judge(row.Needs, r.Identity)
			row.Status = status
			if why != "" {
				row.Why = why
			}
		}
		r.Checks = append(r.Checks, *row)
	}
	r.PodSecurity = podSecurity(ctx, c, ns)
	r.Ephemeral = ephemeral(ctx, c, eph, r.PodSecurity)
	if len(live) > 0 {
		r.Live = judgeLive(live, pods, opts.Live, r)
		for _, row := range live {
			r.Checks = append(r.Checks, *row)
		}
	}
	return r
}

// judge folds a step's reviews into its status.
func judge(needs []Access, id Identity) (Status, string) {
	var denied, unknown []string
	for _, a := range needs {
		switch {
		case a.Allowed:
		case a.denied():
			denied = append(denied, whyDenied(a, id))
		default:
			unknown = append(unknown, a.String()+": "+a.Error)
		}
	}
	switch {
	case len(denied) > 0:
		return StatusCannot, strings.Join(denied, "; ")
	case len(unknown) > 0:
		return StatusUnknown, "will try: " + strings.Join(unknown, "; ")
	}
	return StatusOK, ""
}

// selectNeeds are the permissions Resolve uses for sel in namespace ns.
func selectNeeds(sel Selection, ns string) []Access {
	var out []Access
	seen := map[string]bool{}
	add := func(a Access) {
		if !seen[a.key()] {
			seen[a.key()] = true
			out = append(out, a)
		}
	}
	for _, t := range sel.Targets {
		switch {
		case t.Kind == KindPod && sel.AllNamespaces:
			add(accessListPods(""))
		case t.Kind == KindPod:
			add(accessGetPods(ns))
		default:
			add(accessGetKind(t.Kind, ns))
			add(accessListPods(ns))
		}
	}
	if sel.Selector != "" {
		if sel.AllNamespaces {
			add(accessListPods(""))
		} else {
			add(accessListPods(ns))
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
			if !readableOwner(o.Kind) {
				continue
			}
			set[o.Kind] = true
			switch o.Kind {
			case KindReplicaSet:
				set[KindDeployment] = true
			case KindJob:
				set[KindCronJob] = true
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

func podSecurity(ctx context.Context, c *Cluster, ns string) PodSecurity {
	var ps PodSecurity
	if err := c.notAllowed(ctx, accessGetNamespace(ns)); err != nil {
		ps.Error = err.Error()
		return ps
	}
	n, err := c.namespace(ctx, ns)
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

func ephemeral(ctx context.Context, c *Cluster, access []Access, ps PodSecurity) Ephemeral {
	e := Ephemeral{Served: "unknown", Access: access}
	served, err := cached(ctx, &c.cache, "discovery/v1", func(ctx context.Context) (bool, error) {
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
		fmt.Fprintf(&b, "  live capture: %s\n", p.text())
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
		if c.Status == StatusCannot {
			status = "CANNOT"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Step, status, c.Collects, strings.Join(needs, ", "))
	}
	tw.Flush()

	var will, cannot, other []string
	for _, c := range r.Checks {
		switch c.Status {
		case StatusOK, StatusUnknown:
			will = append(will, c.Step)
		case StatusCannot:
			cannot = append(cannot, c.Step)
		}
		if c.Status != StatusOK && c.Why != "" {
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
		s += fmt.Sprintf("; %s %s: %s", a.Verb, a.resourceName(), ans)
	}
	if e.Note != "" {
		s += "; " + e.Note
	}
	return s
}
