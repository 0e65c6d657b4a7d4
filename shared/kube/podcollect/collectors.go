package podcollect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/event"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// Snapshot is a pod as read at one moment: the API server's JSON bytes,
// kept as they came, and their decoding.
type Snapshot struct {
	Raw   []byte
	Pod   *corev1.Pod
	Taken time.Time
	// ListResourceVersion is set when the pod came from a page of a pod
	// list (Pages): the list's resourceVersion.
	ListResourceVersion string
}

// ReadPod reads pod ns/name and keeps the API server's JSON as it came.
// A missing pod gives an error that says so and what to run.
func ReadPod(ctx context.Context, c *kube.Cluster, ns, name string) (*Snapshot, error) {
	taken := time.Now().UTC()
	raw, err := getPodRaw(ctx, c, ns, name)
	if err != nil {
		return nil, target.LookupError(ctx, c, target.KindPod, ns, name, err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(raw, &pod); err != nil {
		return nil, fmt.Errorf("decoding pod %s/%s as the API server sent it: %w", ns, name, err)
	}
	return &Snapshot{Raw: raw, Pod: &pod, Taken: taken}, nil
}

// coreREST returns the core API's REST client, through which pods are
// read as the API server's bytes; nil for a fake clientset, which has none
// (its callers then encode the typed objects instead).
func coreREST(c *kube.Cluster) rest.Interface {
	rc := c.Client.CoreV1().RESTClient()
	if r, ok := rc.(*rest.RESTClient); rc == nil || (ok && r == nil) {
		return nil
	}
	return rc
}

// getPodRaw returns the pod's JSON byte for byte. A fake clientset has no
// REST client: then the typed object is encoded instead.
func getPodRaw(ctx context.Context, c *kube.Cluster, ns, name string) ([]byte, error) {
	rc := coreREST(c)
	if rc == nil {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return json.Marshal(withKind(p))
	}
	return rc.Get().Namespace(ns).Resource("pods").Name(name).SetHeader("Accept", "application/json").Do(ctx).Raw()
}

// Collectors returns the collection steps for one pod, the most volatile
// first: the pod object, then every container log, then events, and the
// objects around the pod last. The list is built here and only here: a
// later step (an agent's packet capture, filesystem or process snapshot)
// is appended to it, and records what it changed with sink.Action.
func Collectors(c *kube.Cluster, snap *Snapshot, report preflight.Report, opts preflight.Options) []collect.Collector {
	return collectors(c, snap, report, opts, false)
}

// collectors is Collectors; namespaceEvents lists the namespace's events
// once for all its pods (Capture.Run sets it when a namespace has several
// target pods).
func collectors(c *kube.Cluster, snap *Snapshot, report preflight.Report, opts preflight.Options, namespaceEvents bool) []collect.Collector {
	return collectorsWith(c, snap, report, opts, namespaceEvents, nil)
}

// collectorsWith is collectors with the node stage of the run, when it
// has one: right after the live step (checkpoints are volatile).
func collectorsWith(c *kube.Cluster, snap *Snapshot, report preflight.Report, opts preflight.Options, namespaceEvents bool, stage *nodecollect.Stage) []collect.Collector {
	x := &podSteps{c: c, snap: snap, pod: snap.Pod, ns: snap.Pod.Namespace, report: report, opts: opts, namespaceEvents: namespaceEvents}
	steps := []collect.Collector{
		collect.Func("kube.preflight", x.preflight),
		collect.Func("kube.pod", x.podObject),
	}
	if opts.Live.Enabled() {
		// Packets and processes are the most volatile evidence: right
		// after the pod object. The logs step reads the pod as it was
		// before, so the agent's own stream is not read back as a log.
		steps = append(steps, live.Collector(c, snap.Pod, opts.Live, report.PodSecurity.Enforce, report.Ephemeral.Served, opts.NowUTC))
	}
	if stage != nil {
		steps = append(steps, stage.Collector(snap.Pod))
	}
	return append(steps,
		collect.Func("kube.logs", x.logs),
		collect.Func("kube.events", x.eventsStep),
		collect.Func("kube.describe", x.describe),
		collect.Func("kube.owners", x.owners),
		collect.Func("kube.node", x.node),
		collect.Func("kube.serviceaccount", x.serviceAccount),
		collect.Func("kube.references", x.references),
		collect.Func("kube.services", x.services),
		collect.Func("kube.networkpolicies", x.networkPolicies),
		collect.Func("kube.pod-end", x.podEnd),
	)
}

// podSteps holds one pod's collection state.
type podSteps struct {
	c      *kube.Cluster
	snap   *Snapshot
	pod    *corev1.Pod
	ns     string
	report preflight.Report
	opts   preflight.Options
	// namespaceEvents: see collectors.
	namespaceEvents bool

	eventsOnce sync.Once
	events     *corev1.EventList
	eventsErr  error
}

func (x *podSteps) preflight(ctx context.Context, sink collect.Sink) error {
	for _, ch := range x.report.Cannot() {
		sink.Note("preflight: cannot collect %s (%s): %s", ch.Step, ch.Collects, ch.Why)
	}
	err := sink.JSON(evidence.Meta{Path: "preflight.json", MediaType: "application/json",
		Description: "access checks made before the capture (one SelfSubjectAccessReview per verb), the namespace's PodSecurity labels, ephemeral containers"}, x.report)
	if kube.IsFatal(err) {
		return err
	}
	var text strings.Builder
	x.report.WriteText(&text)
	return errors.Join(err, sink.Bytes(evidence.Meta{Path: "preflight.txt", MediaType: "text/plain",
		Description: "the preflight as the table kubectl forensic preflight prints"}, []byte(text.String())))
}

func (x *podSteps) podObject(ctx context.Context, sink collect.Sink) error {
	var errs []error
	errs = append(errs, sink.Bytes(evidence.Meta{Path: "pod/pod.json", MediaType: "application/json",
		Description: x.snap.source()}, x.snap.Raw))
	m := evidence.Meta{Path: "pod/pod.yaml", MediaType: "application/yaml", Description: "the same pod object as YAML (keys sorted)"}
	if y, err := jsonToYAML(x.snap.Raw); err != nil {
		errs = append(errs, sink.Fail(m, fmt.Errorf("converting pod.json to YAML: %w", err)))
	} else {
		errs = append(errs, sink.Bytes(m, y))
	}
	errs = append(errs, sink.JSON(evidence.Meta{Path: "containers/status.json", MediaType: "application/json",
		Description: "every container (init, regular, ephemeral): image as specified, image digest (image_id), container ID, state, restarts, and its full status"}, ContainerRecords(x.pod)))
	return kube.FirstFatal(errs)
}

// ContainerRecord is one container of a pod in containers/status.json.
type ContainerRecord struct {
	Name string `json:"name"`
	// Type is "init", "regular" or "ephemeral".
	Type string `json:"type"`
	// Image is the image as the spec names it.
	Image string `json:"image"`
	// ImageID is the image the runtime ran, by digest.
	ImageID      string `json:"image_id,omitempty"`
	ContainerID  string `json:"container_id,omitempty"`
	RestartCount int32  `json:"restart_count"`
	Ready        bool   `json:"ready"`
	// State is a one-line summary, e.g. "running", "terminated: Error (exit 3)".
	State string `json:"state"`
	// Status is the container's status as the API returned it; nil when
	// the pod reports none yet.
	Status *corev1.ContainerStatus `json:"status,omitempty"`
}

// ContainerRecords lists the pod's containers, init first, then regular,
// then ephemeral, with their statuses.
func ContainerRecords(pod *corev1.Pod) []ContainerRecord {
	out := []ContainerRecord{}
	podutils.VisitContainers(&pod.Spec, podutils.AllContainers, func(c *corev1.Container, t podutils.ContainerType) bool {
		r := ContainerRecord{Name: c.Name, Type: containerType(t), Image: c.Image, State: "no status yet"}
		if st := kube.ContainerStatus(pod, c.Name); st != nil {
			r.ImageID, r.ContainerID, r.RestartCount, r.Ready = st.ImageID, st.ContainerID, st.RestartCount, st.Ready
			r.State = kube.StateText(st.State)
			r.Status = st
		}
		out = append(out, r)
		return true
	})
	return out
}

func containerType(t podutils.ContainerType) string {
	switch t {
	case podutils.InitContainers:
		return "init"
	case podutils.EphemeralContainers:
		return "ephemeral"
	}
	return "regular"
}

// logs streams every container's log, with the kubelet's timestamps,
// straight into the bundle: current for every container that has run,
// previous for every container that ran before (restarted or terminated
// once). A container that never ran, or a previous run the kubelet no
// longer keeps, is noted, not failed: there is nothing to collect.
func (x *podSteps) logs(ctx context.Context, sink collect.Sink) error {
	denied := x.c.NotAllowed(ctx, kube.AccessPodLogs(x.ns))
	var errs []error
	podutils.VisitContainers(&x.pod.Spec, podutils.AllContainers, func(c *corev1.Container, t podutils.ContainerType) bool {
		st := kube.ContainerStatus(x.pod, c.Name)
		kind := containerType(t)
		cur := evidence.Meta{Path: "logs/" + c.Name + ".log", MediaType: "text/plain",
			Description: fmt.Sprintf("log of %s container %s, current run (the last run while it waits to restart), each line prefixed with the kubelet's RFC 3339 timestamp", kind, c.Name)}
		prev := evidence.Meta{Path: "logs/" + c.Name + ".previous.log", MediaType: "text/plain",
			Description: fmt.Sprintf("log of %s container %s, previous run, each line prefixed with the kubelet's RFC 3339 timestamp", kind, c.Name)}
		ran := st != nil && (st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil)
		hasPrevious := st != nil && (st.LastTerminationState.Terminated != nil || st.RestartCount > 0)
		switch {
		case !ran:
			why := "no status yet"
			if st != nil {
				why = kube.StateText(st.State)
			}
			sink.Note("container %s has not run yet (%s): it has no log", c.Name, why)
			return true
		case denied != nil:
			errs = append(errs, sink.Fail(cur, denied))
			if hasPrevious {
				errs = append(errs, sink.Fail(prev, denied))
			}
			return true
		}
		errs = append(errs, x.streamLog(ctx, sink, cur, c.Name, false))
		if hasPrevious && !kube.IsFatal(errs[len(errs)-1]) {
			errs = append(errs, x.streamLog(ctx, sink, prev, c.Name, true))
		}
		return !kube.IsFatal(errs[len(errs)-1])
	})
	return kube.FirstFatal(errs)
}

func (x *podSteps) streamLog(ctx context.Context, sink collect.Sink, m evidence.Meta, container string, previous bool) error {
	if ctx.Err() != nil {
		// Interrupted: say so for each log not read, asking nothing.
		return sink.Fail(m, context.Cause(ctx))
	}
	opts := &corev1.PodLogOptions{Container: container, Timestamps: true, Previous: previous,
		InsecureSkipTLSVerifyBackend: x.opts.InsecureSkipTLSVerifyBackend}
	rc, err := x.c.Client.CoreV1().Pods(x.ns).GetLogs(x.pod.Name, opts).Stream(ctx)
	if err != nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		if previous && apierrors.IsBadRequest(err) {
			sink.Note("the kubelet keeps no previous log of container %s (restarts %d): %v", container, restarts(x.pod, container), err)
			return nil
		}
		what := "reading the log of container " + container
		if previous {
			what = "reading the previous log of container " + container
		}
		return sink.Fail(m, x.gone(ctx, x.c.Error(what, err)))
	}
	defer rc.Close()
	return sink.Stream(ctx, m, rc)
}

func restarts(pod *corev1.Pod, container string) int32 {
	if st := kube.ContainerStatus(pod, container); st != nil {
		return st.RestartCount
	}
	return 0
}

// gone adds to err that the pod was deleted, when it was: the usual
// reason a read fails in the middle of a capture.
func (x *podSteps) gone(ctx context.Context, err error) error {
	if !apierrors.IsNotFound(err) {
		return err
	}
	if _, gerr := x.c.Client.CoreV1().Pods(x.ns).Get(ctx, x.pod.Name, metav1.GetOptions{}); apierrors.IsNotFound(gerr) {
		return fmt.Errorf("%w (the pod was deleted during the capture)", err)
	}
	return err
}

func (x *podSteps) loadEvents(ctx context.Context) (*corev1.EventList, error) {
	x.eventsOnce.Do(func() {
		if err := x.c.NotAllowed(ctx, kube.AccessListEvents(x.ns)); err != nil {
			x.eventsErr = err
			return
		}
		uid := x.pod.UID
		if mirror, ok := x.pod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
			uid = types.UID(mirror)
		}
		var items []corev1.Event
		var err error
		if x.namespaceEvents {
			items, err = kube.Cached(ctx, x.c, "events/"+x.ns, func(ctx context.Context) ([]corev1.Event, error) {
				return kube.ListAll(ctx, x.c.Client.CoreV1().Events(x.ns).List, metav1.ListOptions{}, func(l *corev1.EventList) []corev1.Event { return l.Items })
			})
		} else {
			sel := fields.Set{"involvedObject.name": x.pod.Name, "involvedObject.namespace": x.ns, "involvedObject.uid": string(uid)}
			items, err = kube.ListAll(ctx, x.c.Client.CoreV1().Events(x.ns).List, metav1.ListOptions{FieldSelector: sel.String()}, func(l *corev1.EventList) []corev1.Event { return l.Items })
		}
		if err != nil {
			x.eventsErr = x.c.Error("listing events in namespace "+x.ns, err)
			return
		}
		list := &corev1.EventList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "EventList"}, Items: []corev1.Event{}}
		for _, e := range items {
			o := e.InvolvedObject
			if o.Namespace == x.ns && o.Name == x.pod.Name && (o.Kind == "" || o.Kind == "Pod") && o.UID == uid {
				list.Items = append(list.Items, e)
			}
		}
		sort.Stable(event.SortableEvents(list.Items))
		x.events = list
	})
	return x.events, x.eventsErr
}

func (x *podSteps) eventsStep(ctx context.Context, sink collect.Sink) error {
	m := evidence.Meta{Path: "pod/events.json", MediaType: "application/json",
		Description: "events involving the pod (core/v1 EventList, oldest first); the API server keeps events for about an hour"}
	list, err := x.loadEvents(ctx)
	if err != nil {
		return sink.Fail(m, err)
	}
	return sink.JSON(m, list)
}

// describe renders kubectl's describe text from the snapshot this bundle
// already holds (pod.json and events.json), so that the three agree and
// describing costs no request.
func (x *podSteps) describe(ctx context.Context, sink collect.Sink) error {
	m := evidence.Meta{Path: "pod/describe.txt", MediaType: "text/plain",
		Description: "kubectl describe pod, rendered by kubectl's own describer from the pod and events in this bundle"}
	events, err := x.loadEvents(ctx)
	settings := describe.DescriberSettings{ShowEvents: err == nil, ChunkSize: 500}
	if err != nil {
		sink.Logf("describe.txt has no events section: %v", err)
	}
	d := &describe.PodDescriber{Interface: snapshotClient{Interface: x.c.Client, pod: x.pod, events: events}}
	text, derr := d.Describe(x.ns, x.pod.Name, settings)
	if derr != nil {
		return sink.Fail(m, fmt.Errorf("describing pod: %w", derr))
	}
	return sink.Bytes(m, []byte(text))
}

// owners follows the pod's owner references up (ReplicaSet, Deployment;
// Job, CronJob; StatefulSet; DaemonSet) and stores each owner object.
// owners/chain.json lists the chain, including owners that are gone or of
// kinds that are not read.
func (x *podSteps) owners(ctx context.Context, sink collect.Sink) error {
	type link struct {
		Kind       string    `json:"kind"`
		APIVersion string    `json:"api_version"`
		Name       string    `json:"name"`
		UID        types.UID `json:"uid"`
		Controller bool      `json:"controller"`
		// Of is the object this one owns, as Kind/name.
		Of string `json:"of"`
		// Path is where the owner object is in the bundle.
		Path  string `json:"path,omitempty"`
		Note  string `json:"note,omitempty"`
		Error string `json:"error,omitempty"`
	}
	chain := []link{}
	var errs []error
	type pending struct {
		refs []metav1.OwnerReference
		of   string
	}
	queue := []pending{{x.pod.OwnerReferences, "Pod/" + x.pod.Name}}
	seen := map[types.UID]bool{}
	for len(queue) > 0 && len(chain) < 16 {
		p := queue[0]
		queue = queue[1:]
		for _, ref := range p.refs {
			if seen[ref.UID] {
				continue
			}
			seen[ref.UID] = true
			l := link{Kind: ref.Kind, APIVersion: ref.APIVersion, Name: ref.Name, UID: ref.UID, Controller: ref.Controller != nil && *ref.Controller, Of: p.of}
			switch {
			case ref.Kind == "Node":
				l.Note = "a static pod's mirror: the node is in node/node.json"
			case !target.ReadableOwner(ref.Kind):
				l.Note = fmt.Sprintf("not collected: kind %s (%s) is not one kubectl forensic reads", ref.Kind, ref.APIVersion)
				sink.Note("owner %s/%s of %s not collected: kind %s is not one kubectl forensic reads", ref.Kind, ref.Name, p.of, ref.APIVersion)
			default:
				m := evidence.Meta{Path: "owners/" + strings.ToLower(ref.Kind) + "_" + ref.Name + ".json", MediaType: "application/json",
					Description: fmt.Sprintf("%s %s, owner of %s, as read from the API", ref.Kind, ref.Name, p.of)}
				obj, err := x.owner(ctx, ref.Kind, ref.Name)
				switch {
				case apierrors.IsNotFound(err):
					l.Note = "not found: the owner is gone (deleted, or the pod is being orphaned)"
					sink.Note("owner %s/%s of %s not found: deleted?", ref.Kind, ref.Name, p.of)
				case err != nil:
					l.Error = err.Error()
					errs = append(errs, sink.Fail(m, err))
				default:
					mo, _ := meta.Accessor(obj)
					l.Path = m.Path
					if mo.GetUID() != ref.UID {
						l.Note = fmt.Sprintf("the %s named %s now has uid %s, not the owner reference's %s: the owner was replaced", ref.Kind, ref.Name, mo.GetUID(), ref.UID)
						sink.Note("owner %s/%s of %s was replaced (uid %s, referenced %s)", ref.Kind, ref.Name, p.of, mo.GetUID(), ref.UID)
						m.Description += "; NOT the referenced owner: same name, another uid"
					} else {
						queue = append(queue, pending{mo.GetOwnerReferences(), ref.Kind + "/" + ref.Name})
					}
					errs = append(errs, sink.JSON(m, withKind(obj)))
				}
			}
			chain = append(chain, l)
		}
	}
	if len(x.pod.OwnerReferences) == 0 {
		sink.Logf("the pod has no owner")
	}
	errs = append(errs, sink.JSON(evidence.Meta{Path: "owners/chain.json", MediaType: "application/json",
		Description: "the owner chain from the pod up, in order: kind, name, uid, where each object is in this bundle, or why it is not"}, chain))
	return kube.FirstFatal(errs)
}

// owner reads an owner object once per run.
func (x *podSteps) owner(ctx context.Context, kind, name string) (runtime.Object, error) {
	if err := x.c.NotAllowed(ctx, target.AccessGetKind(kind, x.ns)); err != nil {
		return nil, err
	}
	obj, err := kube.Cached(ctx, x.c, "owner/"+x.ns+"/"+kind+"/"+name, func(ctx context.Context) (runtime.Object, error) {
		if kind == target.KindCronJob {
			return x.c.Client.BatchV1().CronJobs(x.ns).Get(ctx, name, metav1.GetOptions{})
		}
		return target.GetWorkload(ctx, x.c, kind, x.ns, name)
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, x.c.Error(fmt.Sprintf("getting %s %s", strings.ToLower(kind), name), err)
	}
	return obj, err
}

func (x *podSteps) node(ctx context.Context, sink collect.Sink) error {
	name := x.pod.Spec.NodeName
	if name == "" {
		sink.Logf("the pod is not scheduled to a node: no node object")
		return nil
	}
	m := evidence.Meta{Path: "node/node.json", MediaType: "application/json", Description: "node " + name + ", where the pod runs, as read from the API"}
	if err := x.c.NotAllowed(ctx, kube.AccessGetNodes()); err != nil {
		return sink.Fail(m, err)
	}
	n, err := kube.Cached(ctx, x.c, "node/"+name, func(ctx context.Context) (*corev1.Node, error) {
		return x.c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		return sink.Fail(m, x.c.Error("getting node "+name, err))
	}
	return sink.JSON(m, withKind(n))
}

func (x *podSteps) serviceAccount(ctx context.Context, sink collect.Sink) error {
	name := x.pod.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	m := evidence.Meta{Path: "serviceaccount.json", MediaType: "application/json",
		Description: "service account " + name + " of the pod, as read from the API (no token is ever read)"}
	if err := x.c.NotAllowed(ctx, kube.AccessGetSA(x.ns)); err != nil {
		return sink.Fail(m, err)
	}
	sa, err := kube.Cached(ctx, x.c, "sa/"+x.ns+"/"+name, func(ctx context.Context) (*corev1.ServiceAccount, error) {
		return x.c.Client.CoreV1().ServiceAccounts(x.ns).Get(ctx, name, metav1.GetOptions{})
	})
	switch {
	case apierrors.IsNotFound(err):
		sink.Note("service account %s of the pod does not exist (deleted after the pod started?)", name)
		return nil
	case err != nil:
		return sink.Fail(m, x.c.Error("getting service account "+name, err))
	}
	return sink.JSON(m, withKind(sa))
}

func (x *podSteps) references(ctx context.Context, sink collect.Sink) error {
	refs := kube.References(x.pod)
	err := sink.JSON(evidence.Meta{Path: "references.json", MediaType: "application/json",
		Description: "names of the ConfigMaps, Secrets and volume claims the pod spec references, and where it uses each (from the spec: no Secret is read)"}, refs)
	if kube.IsFatal(err) || !x.opts.IncludeSecrets {
		return err
	}
	errs := []error{err}
	for _, r := range refs.Secrets {
		errs = append(errs, x.secret(ctx, sink, r.Name))
		if kube.IsFatal(errs[len(errs)-1]) {
			break
		}
	}
	return kube.FirstFatal(errs)
}

// secret stores one referenced Secret, values included (--include-secrets).
// A service account token is never stored: its values are blanked.
func (x *podSteps) secret(ctx context.Context, sink collect.Sink, name string) error {
	m := evidence.Meta{Path: "secrets/" + name + ".json", MediaType: "application/json",
		Description: "Secret " + name + " referenced by the pod, values included (--include-secrets), as read from the API"}
	if err := x.c.NotAllowed(ctx, kube.AccessGetSecrets(x.ns)); err != nil {
		return sink.Fail(m, err)
	}
	s, err := x.c.Client.CoreV1().Secrets(x.ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		sink.Note("Secret %s is referenced by the pod but does not exist", name)
		return nil
	case err != nil:
		return sink.Fail(m, x.c.Error("getting secret "+name, err))
	}
	s = withKind(s).(*corev1.Secret)
	if s.Type == corev1.SecretTypeServiceAccountToken {
		for k := range s.Data {
			s.Data[k] = nil
		}
		s.StringData = nil
		m.Description += "; a service account token: its values are blanked, never stored"
		sink.Note("Secret %s is a service account token: stored without its values", name)
	}
	return sink.JSON(m, s)
}

func (x *podSteps) services(ctx context.Context, sink collect.Sink) error {
	if err := x.c.NotAllowed(ctx, kube.AccessListServices(x.ns)); err != nil {
		return sink.Fail(evidence.Meta{Path: "services", Description: "Services whose selector matches the pod"}, err)
	}
	svcs, err := kube.Cached(ctx, x.c, "services/"+x.ns, func(ctx context.Context) ([]corev1.Service, error) {
		return kube.ListAll(ctx, x.c.Client.CoreV1().Services(x.ns).List, metav1.ListOptions{}, func(l *corev1.ServiceList) []corev1.Service { return l.Items })
	})
	if err != nil {
		return sink.Fail(evidence.Meta{Path: "services", Description: "Services whose selector matches the pod"}, x.c.Error("listing services in namespace "+x.ns, err))
	}
	podLabels := labels.Set(x.pod.Labels)
	var errs []error
	n := 0
	for i := range svcs {
		svc := &svcs[i]
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			continue
		}
		n++
		errs = append(errs, sink.JSON(evidence.Meta{Path: "services/" + svc.Name + ".json", MediaType: "application/json",
			Description: fmt.Sprintf("Service %s, whose selector %s matches the pod, as read from the API", svc.Name, labels.SelectorFromSet(svc.Spec.Selector))}, withKind(svc)))
		if kube.IsFatal(errs[len(errs)-1]) {
			return errs[len(errs)-1]
		}
		errs = append(errs, x.endpointSlices(ctx, sink, svc.Name))
	}
	if n == 0 {
		sink.Logf("no Service's selector matches the pod")
	}
	return kube.FirstFatal(errs)
}

func (x *podSteps) endpointSlices(ctx context.Context, sink collect.Sink, svc string) error {
	m := evidence.Meta{Path: "services/" + svc + ".endpointslices.json", MediaType: "application/json",
		Description: "EndpointSlices of Service " + svc + " (label " + discoveryv1.LabelServiceName + "), as read from the API"}
	if err := x.c.NotAllowed(ctx, kube.AccessListSlices(x.ns)); err != nil {
		return sink.Fail(m, err)
	}
	slices, err := kube.Cached(ctx, x.c, "endpointslices/"+x.ns, func(ctx context.Context) ([]discoveryv1.EndpointSlice, error) {
		return kube.ListAll(ctx, x.c.Client.DiscoveryV1().EndpointSlices(x.ns).List, metav1.ListOptions{}, func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items })
	})
	if err != nil {
		return sink.Fail(m, x.c.Error("listing endpoint slices in namespace "+x.ns, err))
	}
	list := discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSliceList"}, Items: []discoveryv1.EndpointSlice{}}
	for _, s := range slices {
		if s.Labels[discoveryv1.LabelServiceName] == svc {
			list.Items = append(list.Items, s)
		}
	}
	return sink.JSON(m, list)
}

func (x *podSteps) networkPolicies(ctx context.Context, sink collect.Sink) error {
	if err := x.c.NotAllowed(ctx, kube.AccessListNetpols(x.ns)); err != nil {
		return sink.Fail(evidence.Meta{Path: "networkpolicies", Description: "NetworkPolicies that select the pod"}, err)
	}
	pols, err := kube.Cached(ctx, x.c, "networkpolicies/"+x.ns, func(ctx context.Context) ([]networkingv1.NetworkPolicy, error) {
		return kube.ListAll(ctx, x.c.Client.NetworkingV1().NetworkPolicies(x.ns).List, metav1.ListOptions{}, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
	})
	if err != nil {
		return sink.Fail(evidence.Meta{Path: "networkpolicies", Description: "NetworkPolicies that select the pod"}, x.c.Error("listing network policies in namespace "+x.ns, err))
	}
	var errs []error
	n := 0
	for i := range pols {
		np := &pols[i]
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			sink.Logf("network policy %s has an invalid pod selector: %v", np.Name, err)
			continue
		}
		if !sel.Matches(labels.Set(x.pod.Labels)) {
			continue
		}
		n++
		errs = append(errs, sink.JSON(evidence.Meta{Path: "networkpolicies/" + np.Name + ".json", MediaType: "application/json",
			Description: fmt.Sprintf("NetworkPolicy %s, whose pod selector %q matches the pod, as read from the API", np.Name, sel.String())}, withKind(np)))
		if kube.IsFatal(errs[len(errs)-1]) {
			break
		}
	}
	if n == 0 {
		sink.Logf("no NetworkPolicy selects the pod")
	}
	return kube.FirstFatal(errs)
}

// podEnd reads the pod once more at the end: how it changed during the
// capture, and whether it was deleted (then the bundle is incomplete:
// later artifacts may be missing or cut short).
func (x *podSteps) podEnd(ctx context.Context, sink collect.Sink) error {
	m := evidence.Meta{Path: "pod/pod-end.json", MediaType: "application/json",
		Description: "the pod as the API server returned it at the end of the capture, byte for byte (compare with pod.json)"}
	raw, err := getPodRaw(ctx, x.c, x.ns, x.pod.Name)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the pod was deleted during the capture (it existed at %s): artifacts read after that may be missing or cut short", x.snap.Taken.Format(time.RFC3339))
	}
	if err != nil {
		return sink.Fail(m, x.c.Error("reading the pod again", err))
	}
	var end corev1.Pod
	if err := json.Unmarshal(raw, &end); err == nil {
		switch {
		case end.UID != x.pod.UID:
			return errors.Join(sink.Bytes(m, raw), fmt.Errorf("the pod was deleted during the capture and a new pod of the same name exists (uid %s, captured %s)", end.UID, x.pod.UID))
		case end.DeletionTimestamp != nil && x.pod.DeletionTimestamp == nil:
			sink.Note("the pod started terminating during the capture (deletion at %s)", end.DeletionTimestamp.UTC().Format(time.RFC3339))
		case end.ResourceVersion != x.pod.ResourceVersion:
			sink.Logf("the pod changed during the capture (resourceVersion %s -> %s): see pod/pod-end.json", x.pod.ResourceVersion, end.ResourceVersion)
		}
	}
	return sink.Bytes(m, raw)
}

// PodTarget is the custody record's target for a pod snapshot: uid, name,
// namespace, node, images and their digests, phase; from says how it was
// selected.
func PodTarget(pod *corev1.Pod, from []string) evidence.Target {
	t := evidence.Target{
		Kind: "kubernetes-pod", ID: string(pod.UID), Name: pod.Name, Namespace: pod.Namespace,
		Node: pod.Spec.NodeName, State: string(pod.Status.Phase),
		Extra: map[string]string{"resource_version": pod.ResourceVersion},
	}
	set := func(k, v string) {
		if v != "" {
			t.Extra[k] = v
		}
	}
	set("pod_ip", pod.Status.PodIP)
	set("host_ip", pod.Status.HostIP)
	set("qos_class", string(pod.Status.QOSClass))
	set("service_account", pod.Spec.ServiceAccountName)
	set("selected_by", strings.Join(from, ", "))
	if ref := metav1.GetControllerOf(pod); ref != nil {
		set("controller", ref.Kind+"/"+ref.Name)
	}
	seen := map[string]bool{}
	for _, r := range ContainerRecords(pod) {
		if t.Image == "" && r.Type == "regular" {
			t.Image, t.ImageID = r.Image, r.ImageID
		}
		set("image."+r.Name, r.Image)
		set("image_id."+r.Name, r.ImageID)
		set("container_id."+r.Name, r.ContainerID)
		if r.ImageID != "" && !seen[r.ImageID] {
			seen[r.ImageID] = true
			t.ImageDigests = append(t.ImageDigests, r.ImageID)
		}
	}
	return t
}

// withKind returns a copy of a typed object with its apiVersion and kind
// filled in: typed clients drop them, but evidence should say what it is.
func withKind(obj runtime.Object) runtime.Object {
	obj = obj.DeepCopyObject()
	if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	return obj
}
