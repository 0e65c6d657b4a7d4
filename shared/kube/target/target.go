package target

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/forensic-tools/forensic/shared/kube"
)

// Kinds of target, as the API names them.
const (
	KindPod                   = "Pod"
	KindDeployment            = "Deployment"
	KindStatefulSet           = "StatefulSet"
	KindDaemonSet             = "DaemonSet"
	KindReplicaSet            = "ReplicaSet"
	KindJob                   = "Job"
	KindReplicationController = "ReplicationController"
)

// kindInfo is what target parsing and resolution know about one kind.
type kindInfo struct {
	kind     string
	group    string   // API group, "" for core
	resource string   // plural resource name
	aliases  []string // what kubectl accepts before the slash
}

var targetKinds = []kindInfo{
	{KindPod, "", "pods", []string{"pod", "pods", "po"}},
	{KindDeployment, "apps", "deployments", []string{"deployment", "deployments", "deploy"}},
	{KindStatefulSet, "apps", "statefulsets", []string{"statefulset", "statefulsets", "sts"}},
	{KindDaemonSet, "apps", "daemonsets", []string{"daemonset", "daemonsets", "ds"}},
	{KindReplicaSet, "apps", "replicasets", []string{"replicaset", "replicasets", "rs"}},
	{KindJob, "batch", "jobs", []string{"job", "jobs"}},
	{KindReplicationController, "", "replicationcontrollers", []string{"replicationcontroller", "replicationcontrollers", "rc"}},
}

func kindByName(kind string) kindInfo {
	for _, k := range targetKinds {
		if k.kind == kind {
			return k
		}
	}
	return kindInfo{kind: kind, resource: strings.ToLower(kind) + "s"}
}

// Target is one target argument: a pod or a workload, by name.
type Target struct {
	// Kind is one of the Kind* constants.
	Kind string
	Name string
	// Arg is the argument as typed.
	Arg string
}

// ParseTarget parses pod/NAME, a bare NAME (a pod), and deploy/, sts/,
// ds/, rs/, job/, rc/ NAME, with the long and plural forms kubectl
// accepts (deployment/x, deployments.apps/x).
func ParseTarget(arg string) (Target, error) {
	typ, name, found := strings.Cut(arg, "/")
	if !found {
		typ, name = "pod", arg
	}
	if name == "" || strings.Contains(name, "/") {
		return Target{}, fmt.Errorf("target %q: want one of %s", arg, targetTypes())
	}
	if errs := validName(name); errs != "" {
		return Target{}, fmt.Errorf("target %q: %q is not a valid name: %s", arg, name, errs)
	}
	typ = strings.ToLower(typ)
	for _, k := range targetKinds {
		for _, a := range k.aliases {
			if typ == a || (k.group != "" && typ == a+"."+k.group) {
				return Target{Kind: k.kind, Name: name, Arg: arg}, nil
			}
		}
	}
	return Target{}, fmt.Errorf("target %q: unknown type %q: capture takes %s", arg, typ, targetTypes())
}

func targetTypes() string {
	return "NAME, pod/NAME, deploy/NAME, sts/NAME, ds/NAME, rs/NAME, job/NAME, rc/NAME"
}

// validName checks a name the way the API server would (a DNS subdomain),
// so that a typo is caught before anything is asked.
func validName(name string) string {
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return "only lower-case letters, digits, '-' and '.' are allowed"
		}
	}
	return ""
}

// Selection says which pods to capture, in the kubectl dialect.
type Selection struct {
	// Targets are the named pods and workloads.
	Targets []Target
	// Namespace is -n, or the kubeconfig context's namespace.
	Namespace string
	// AllNamespaces is -A: selectors and pod names are looked up in every
	// namespace.
	AllNamespaces bool
	// Selector is -l: every pod whose labels match.
	Selector string
}

// Validate checks the selection before the cluster is asked anything.
func (s Selection) Validate() error {
	if len(s.Targets) == 0 && s.Selector == "" {
		return fmt.Errorf("nothing to capture: name a pod (NAME or pod/NAME), a workload (deploy/NAME, sts/, ds/, rs/, job/) or select pods with -l SELECTOR")
	}
	if s.Selector != "" {
		if _, err := labels.Parse(s.Selector); err != nil {
			return fmt.Errorf("-l %q is not a label selector: %v", s.Selector, err)
		}
	}
	if s.AllNamespaces {
		for _, t := range s.Targets {
			if t.Kind != KindPod {
				return fmt.Errorf("%s with -A: a workload is named in one namespace; use -n NAMESPACE %s, or -A -l SELECTOR", t.Arg, t.Arg)
			}
		}
	} else if s.Namespace == "" {
		return fmt.Errorf("no namespace: give -n NAMESPACE or -A")
	}
	return nil
}

// Pod is a pod chosen for capture.
type Pod struct {
	Namespace string
	Name      string
	UID       types.UID
	// From lists the arguments that selected the pod, e.g. "deploy/web",
	// "-l app=web".
	From []string
	// NodeName is the node the pod was on when selected.
	NodeName string
	// Object is the pod as it was when selected, for the checks made
	// before the capture; the capture may drop it once they are made. The
	// capture reads the pod again, so that the bundle holds the API
	// server's bytes of that moment.
	Object *corev1.Pod
}

// Key is namespace/name.
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Resolve turns a selection into pods, in the order of the arguments
// (pods selected by one argument sorted by namespace and name), each pod
// once. Each argument that selects nothing, or cannot be looked up, gives
// one error; the pods of the others are still returned.
func Resolve(ctx context.Context, c *kube.Cluster, sel Selection) ([]*Pod, []error) {
	var (
		pods []*Pod
		errs []error
		seen = map[string]*Pod{}
	)
	add := func(from string, list []corev1.Pod) {
		// namespace/name as strings: the order the API server lists pods
		// in, which lets a capture read them a page at a time.
		sort.Slice(list, func(i, j int) bool {
			return list[i].Namespace+"/"+list[i].Name < list[j].Namespace+"/"+list[j].Name
		})
		for i := range list {
			p := &list[i]
			key := p.Namespace + "/" + p.Name
			if old := seen[key]; old != nil {
				old.From = append(old.From, from)
				continue
			}
			np := &Pod{Namespace: p.Namespace, Name: p.Name, UID: p.UID, From: []string{from}, NodeName: p.Spec.NodeName, Object: p}
			seen[key] = np
			pods = append(pods, np)
		}
	}
	for _, t := range sel.Targets {
		list, err := resolveTarget(ctx, c, sel, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		add(t.Arg, list)
	}
	if sel.Selector != "" {
		from := "-l " + sel.Selector
		list, err := listPods(ctx, c, sel.Namespace, sel.AllNamespaces, sel.Selector, "")
		switch {
		case err != nil:
			errs = append(errs, err)
		case len(list) == 0:
			errs = append(errs, noPodsMatch(ctx, c, sel))
		default:
			add(from, list)
		}
	}
	return pods, errs
}

func noPodsMatch(ctx context.Context, c *kube.Cluster, sel Selection) error {
	if sel.AllNamespaces {
		return fmt.Errorf("no pods match -l %s in any namespace (kubectl get pods -A -l %s)", sel.Selector, sel.Selector)
	}
	if err := namespaceMissing(ctx, c, sel.Namespace); err != nil {
		return err
	}
	return fmt.Errorf("no pods match -l %s in namespace %q (kubectl get pods -n %s -l %s)", sel.Selector, sel.Namespace, sel.Namespace, sel.Selector)
}

func resolveTarget(ctx context.Context, c *kube.Cluster, sel Selection, t Target) ([]corev1.Pod, error) {
	if t.Kind == KindPod {
		if sel.AllNamespaces {
			list, err := listPods(ctx, c, "", true, "", t.Name)
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("pod %q not found in any namespace (kubectl get pods -A --field-selector metadata.name=%s)", t.Name, t.Name)
			}
			return list, err
		}
		p, err := c.Client.CoreV1().Pods(sel.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, LookupError(ctx, c, KindPod, sel.Namespace, t.Name, err)
		}
		return []corev1.Pod{*p}, nil
	}
	obj, err := GetWorkload(ctx, c, t.Kind, sel.Namespace, t.Name)
	if err != nil {
		return nil, LookupError(ctx, c, t.Kind, sel.Namespace, t.Name, err)
	}
	_, selector, err := polymorphichelpers.SelectorsForObject(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: reading its pod selector: %w", t.Arg, err)
	}
	if selector.Empty() {
		return nil, fmt.Errorf("%s has an empty pod selector: name its pods instead", t.Arg)
	}
	list, err := listPods(ctx, c, sel.Namespace, false, selector.String(), "")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s in namespace %q has no pods (selector %s)", t.Arg, sel.Namespace, selector)
	}
	return list, nil
}

// GetWorkload reads a workload object of one of the target kinds.
func GetWorkload(ctx context.Context, c *kube.Cluster, kind, ns, name string) (runtime.Object, error) {
	opts := metav1.GetOptions{}
	switch kind {
	case KindDeployment:
		return c.Client.AppsV1().Deployments(ns).Get(ctx, name, opts)
	case KindStatefulSet:
		return c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, opts)
	case KindDaemonSet:
		return c.Client.AppsV1().DaemonSets(ns).Get(ctx, name, opts)
	case KindReplicaSet:
		return c.Client.AppsV1().ReplicaSets(ns).Get(ctx, name, opts)
	case KindJob:
		return c.Client.BatchV1().Jobs(ns).Get(ctx, name, opts)
	case KindReplicationController:
		return c.Client.CoreV1().ReplicationControllers(ns).Get(ctx, name, opts)
	}
	return nil, fmt.Errorf("kind %s is not a workload kubectl forensic reads", kind)
}

// listPods lists pods by label selector and, with name, by name; in one
// namespace or, with all, in every namespace. Pages are followed.
func listPods(ctx context.Context, c *kube.Cluster, ns string, all bool, selector, name string) ([]corev1.Pod, error) {
	if all {
		ns = metav1.NamespaceAll
	}
	opts := metav1.ListOptions{LabelSelector: selector}
	if name != "" {
		opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	list, err := kube.ListAll(ctx, c.Client.CoreV1().Pods(ns).List, opts, func(l *corev1.PodList) []corev1.Pod {
		for i := range l.Items {
			// The capture reads each pod again for its bundle: the
			// selection keeps no managed fields, the bulk of a pod
			// object, for thousands of pods (dropped a page at a time).
			l.Items[i].ManagedFields = nil
		}
		return l.Items
	})
	if err != nil {
		where := fmt.Sprintf("in namespace %q", ns)
		if all {
			where = "in all namespaces"
		}
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("listing pods %s: %w (%s)", where, err, canIHint("list", "pods", ns))
		}
		return nil, c.Error("listing pods "+where, err)
	}
	// Field selectors are not applied by every client (fakes): check.
	out := list[:0]
	for _, p := range list {
		if name == "" || p.Name == name {
			out = append(out, p)
		}
	}
	return out, nil
}

// LookupError says why a named object could not be read: missing (and
// whether its namespace is missing too), forbidden, or the server.
func LookupError(ctx context.Context, c *kube.Cluster, kind, ns, name string, err error) error {
	k := kindByName(kind)
	kind = strings.ToLower(k.kind)
	switch {
	case apierrors.IsNotFound(err):
		if nerr := namespaceMissing(ctx, c, ns); nerr != nil {
			return nerr
		}
		return fmt.Errorf("%s %q not found in namespace %q (kubectl get %s -n %s)", kind, name, ns, k.resource, ns)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("getting %s %q in namespace %q: %w (%s)", kind, name, ns, err, canIHint("get", k.resource, ns))
	}
	return c.Error(fmt.Sprintf("getting %s %q in namespace %q", kind, name, ns), err)
}

// namespaceMissing returns an error when namespace ns surely does not
// exist, and nil when it exists or we may not know.
func namespaceMissing(ctx context.Context, c *kube.Cluster, ns string) error {
	if ns == "" {
		return nil
	}
	_, err := c.Namespace(ctx, ns)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %q not found (kubectl get namespaces)", ns)
	}
	return nil
}

// canIHint tells how to check a permission, and where the role is.
func canIHint(verb, resource, ns string) string {
	where := "-A"
	if ns != "" {
		where = "-n " + ns
	}
	return fmt.Sprintf("check with kubectl auth can-i %s %s %s; the role capture needs is in deploy/rbac/forensic-capture.yaml", verb, resource, where)
}

// AccessGetKind is the permission to get an object of kind (a target
// kind or KindCronJob) in namespace ns.
func AccessGetKind(kind, ns string) kube.Access {
	k := kindByName(kind)
	if kind == KindCronJob {
		k = kindInfo{kind: KindCronJob, group: "batch", resource: "cronjobs"}
	}
	return kube.Need("get", k.group, k.resource, "", ns)
}

// KindCronJob is an owner kind (of Jobs); it is not a capture target.
const KindCronJob = "CronJob"

// ReadableOwner reports whether kubectl forensic reads owners of kind.
func ReadableOwner(kind string) bool {
	switch kind {
	case KindReplicaSet, KindDeployment, KindStatefulSet, KindDaemonSet, KindJob, KindCronJob, KindReplicationController:
		return true
	}
	return false
}
