package nodecollect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/forensic-tools/forensic/shared/agent/agentrun"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
)

// LauncherNodeCollector names the collector pod in agent/transfer.json.
const LauncherNodeCollector = "kubernetes-node-collector"

// failingWaits are Waiting reasons after which a collector container will
// not run without someone acting.
var failingWaits = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
	"CreateContainerError", "CreateContainerConfigError", "RunContainerError"}

// Collector returns the node stage of pod's capture (producer
// "kube.node-evidence"): its container in its node's collector pod
// streams the pod's node evidence into the bundle.
func (s *Stage) Collector(pod *corev1.Pod) collect.Collector {
	return collect.Func(producerNode, func(ctx context.Context, sink collect.Sink) error { return s.run(ctx, sink, pod) })
}

// CheckpointPath is the bundle path of container's checkpoint archive.
func CheckpointPath(container string) string { return "checkpoint/" + container + ".tar" }

func (s *Stage) run(ctx context.Context, sink collect.Sink, pod *corev1.Pod) error {
	report := evidence.Meta{Path: ArtifactReport, Producer: producerNode, Description: "what the agent found and read on the node for each container, and what it could not"}
	if pod.Spec.NodeName == "" {
		return kube.FirstFatal([]error{sink.Fail(report, errors.New("node evidence: the pod is not scheduled to a node"))})
	}
	n := s.node(pod.Spec.NodeName)
	i := n.index(pod.UID)
	if i < 0 {
		return kube.FirstFatal([]error{sink.Fail(report, fmt.Errorf("node evidence: pod %s/%s (uid %s) was not among the pods selected on node %s", pod.Namespace, pod.Name, pod.UID, pod.Spec.NodeName))})
	}
	rec := &CollectorRecord{Namespace: s.o.NS(), Node: n.node, Image: s.o.image(), Container: containerName(i),
		Privileges: privileges, Strategy: s.plan.Strategy, State: "not created"}
	if err := n.setup(ctx, sink); err != nil {
		n.release(context.WithoutCancel(ctx))
		n.fill(rec, pod)
		rec.Error = err.Error()
		sink.Logf("node evidence: %v", err)
		errs := []error{sink.JSON(collectorMeta(), rec), sink.Fail(report, fmt.Errorf("node evidence: %w", err))}
		errs = append(errs, s.failCheckpoints(sink, n, pod, nil, err.Error())...)
		return kube.FirstFatal(errs)
	}
	n.fill(rec, pod)
	l := &launcher{n: n, i: i, pod: pod, rec: rec}
	ts := &teeSink{Sink: sink, keep: map[string]*strings.Builder{}}
	for _, ck := range n.checkpoints[pod.UID] {
		if ck.CRIULog != "" {
			ts.keep[criuLogArtifact(ck.Container)] = &strings.Builder{}
		}
	}
	t, err := agentrun.Run(ctx, ts, l, agentrun.Options{Args: rec.Args, Producer: producerAgent, SpoolDir: s.o.SpoolDir, StopGrace: s.o.StopGrace})
	var pe *agentrun.ProblemsError
	if err != nil && !errors.As(err, &pe) {
		return err // the bundle is unwritable
	}
	arrived := func(name string) bool {
		return t != nil && t.Stream != nil && slices.ContainsFunc(t.Stream.Artifacts, func(a stream.ArtifactResult) bool { return a.Name == name })
	}
	why := "the agent sent nothing for it"
	if t != nil && len(t.Problems) > 0 {
		why += ": " + strings.Join(t.Problems, "; ")
	}
	errs := []error{sink.JSON(collectorMeta(), rec)}
	if !arrived(ArtifactReport) {
		errs = append(errs, sink.Fail(report, errors.New("node evidence: "+why)))
	}
	errs = append(errs, s.failCheckpoints(sink, n, pod, func(c string) (bool, string) {
		return arrived(CheckpointPath(c)), criuErrors(ts.kept(criuLogArtifact(c)))
	}, why)...)
	return kube.FirstFatal(errs)
}

// failCheckpoints records, for pod's checkpoints, the custody action of
// each, and a failure for each archive that is not in the bundle: the
// kubelet's error with CRIU's error lines, or why it did not arrive.
// streamed, when set, says whether an archive arrived and CRIU's error
// lines from its log; why is the failure of an archive that did not.
func (s *Stage) failCheckpoints(sink collect.Sink, n *nodeRun, pod *corev1.Pod, streamed func(c string) (bool, string), why string) []error {
	var errs []error
	for _, ck := range n.checkpoints[pod.UID] {
		m := evidence.Meta{Path: CheckpointPath(ck.Container), Producer: producerNode, Description: "the kubelet's CRIU checkpoint archive of container " + ck.Container}
		ok, criu := false, ""
		if streamed != nil {
			ok, criu = streamed(ck.Container)
		}
		if ck.Path != "" || ck.Error != "" && !strings.HasPrefix(ck.Error, "refused") {
			a := evidence.Action{What: "checkpointed container " + ck.Container + " (CRIU froze its processes while dumping)", At: ck.Asked,
				Detail: fmt.Sprintf("pod %s/%s on node %s, %s; took %s", pod.Namespace, pod.Name, n.node, Route, ck.Took)}
			switch {
			case ck.Path != "" && ck.Delete:
				a.Detail += "; archive " + ck.Path + " written on the node, deleted by the collector after streaming (see node/report.json)"
			case ck.Path != "":
				a.Detail += "; archive " + ck.Path + " written on the node and kept there (--keep-on-node)"
			default:
				a.Error = ck.Error
			}
			sink.Action(a)
		}
		if ok {
			continue
		}
		var cause string
		switch {
		case ck.Error != "":
			cause = ck.Error
			if criu != "" {
				cause += "; CRIU's log says: " + criu
			} else if ck.CRIULog != "" {
				cause += "; CRIU's log on the node: " + ck.CRIULog
			}
		case ck.Path != "":
			cause = fmt.Sprintf("the archive %s was written on node %s but did not arrive: %s", ck.Path, n.node, why)
		}
		errs = append(errs, sink.Fail(m, errors.New(cause)))
	}
	return errs
}

func criuLogArtifact(c string) string { return "checkpoint/" + c + ".criu-dump.log" }

// criuError matches CRIU's error lines, e.g. "(00.093293) Error
// (criu/sk-inet.c:130): inet: Unsupported proto 262 for socket d12d7".
var criuError = regexp.MustCompile(`(?m)^\([0-9.]+\) Error \(.*$`)

// criuErrors returns CRIU's error lines in log, joined.
func criuErrors(log string) string {
	lines := criuError.FindAllString(log, 20)
	return strings.Join(lines, " | ")
}

func collectorMeta() evidence.Meta {
	return evidence.Meta{Path: ArtifactCollector, Producer: producerNode, MediaType: "application/json",
		Description: "the node collector pod (name, UID, node, image, privileges, times), the kubelet's configz and the checkpoints asked for"}
}

// fill copies what the node run knows into rec.
func (n *nodeRun) fill(rec *CollectorRecord, pod *corev1.Pod) {
	rec.Kubelet = n.kubelet
	rec.Checkpoints = n.checkpoints[pod.UID]
	if rec.Checkpoints == nil {
		rec.Checkpoints = []CheckpointResult{}
	}
	if n.pod != nil {
		rec.Name, rec.UID, rec.Created = n.pod.Name, string(n.pod.UID), n.created
		rec.Args = n.args(pod)
		rec.State = "created"
	}
}

// release says pod's capture is done with the collector pod; the last one
// deletes it.
func (n *nodeRun) release(ctx context.Context) {
	n.s.mu.Lock()
	n.refs--
	last := n.refs <= 0
	n.s.mu.Unlock()
	if last {
		n.remove(ctx)
	}
}

// remove deletes the collector pod, once, and waits (bounded) until it is
// gone.
func (n *nodeRun) remove(ctx context.Context) {
	n.delOnce.Do(func() {
		if n.pod == nil {
			return
		}
		pods := n.s.c.Client.CoreV1().Pods(n.pod.Namespace)
		zero := int64(0)
		err := pods.Delete(ctx, n.pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
			Preconditions: &metav1.Preconditions{UID: &n.pod.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			n.setDeleted(time.Time{}, n.s.c.Error("deleting the node collector pod "+n.pod.Namespace+"/"+n.pod.Name, err))
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			p, err := pods.Get(ctx, n.pod.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && p.UID != n.pod.UID) {
				n.setDeleted(n.s.now(), nil)
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
		n.setDeleted(time.Time{}, fmt.Errorf("the node collector pod %s/%s was asked to be deleted but is still there after 30 s", n.pod.Namespace, n.pod.Name))
	})
}

// setDeleted records how the deletion ended; other pods' captures read it
// (removal).
func (n *nodeRun) setDeleted(at time.Time, err error) {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	n.deleted, n.delErr = at, err
}

// removal returns when the collector pod was deleted, and why it was not.
func (n *nodeRun) removal() (time.Time, error) {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return n.deleted, n.delErr
}

// Close deletes every collector pod still there (captures that never
// started, or an interrupted run) and returns what could not be deleted.
func (s *Stage) Close(ctx context.Context) []error {
	s.mu.Lock()
	nodes := make([]*nodeRun, 0, len(s.nodes))
	for _, n := range s.nodes {
		nodes = append(nodes, n)
	}
	s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range nodes {
		wg.Go(func() {
			n.remove(ctx)
			if _, err := n.removal(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			for _, list := range n.checkpoints {
				for _, ck := range list {
					if ck.Delete && !n.streamed(ck.Path) {
						mu.Lock()
						errs = append(errs, fmt.Errorf("checkpoint archive %s was left on node %s: its pod's capture did not stream it", ck.Path, n.node))
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// streamed reports whether the archive at path was streamed by a capture.
func (n *nodeRun) streamed(path string) bool {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return slices.Contains(n.done, path)
}

// launcher is the agentrun.Launcher of one target pod's container in the
// node's collector pod.
type launcher struct {
	n         *nodeRun
	i         int
	pod       *corev1.Pod
	rec       *CollectorRecord
	transport string
	err       string
}

func (l *launcher) Start(ctx context.Context) error {
	timeout := l.n.s.o.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	name := containerName(l.i)
	err := l.n.poll(ctx, l.n.created.Add(timeout), func(p *corev1.Pod) (bool, error) {
		st := status(p, name)
		if st == nil {
			return false, nil
		}
		if st.ImageID != "" {
			l.rec.ImageID = st.ImageID
		}
		l.rec.State = kube.StateText(st.State)
		switch {
		case st.State.Running != nil:
			l.rec.Running = st.State.Running.StartedAt.UTC()
			return true, nil
		case st.State.Terminated != nil:
			t := st.State.Terminated
			return false, fmt.Errorf("the node collector container %s/%s %s ended before the plugin attached: %s (exit %d) %s", p.Name, name, l.n.node, t.Reason, t.ExitCode, strings.TrimSpace(t.Message))
		case st.State.Waiting != nil && slices.Contains(failingWaits, st.State.Waiting.Reason):
			w := st.State.Waiting
			return false, fmt.Errorf("the node collector pod %s cannot run image %s on node %s (%s: %s): import the agent image there (ctr -n k8s.io images import forensic-agent-image_<version>_linux_<arch>.tar) or pass --agent-image", p.Name, l.rec.Image, l.n.node, w.Reason, strings.TrimSpace(w.Message))
		}
		return false, nil
	})
	if errors.Is(err, errTimeout) {
		err = fmt.Errorf("the node collector pod %s/%s did not run on node %s within %s: %s", l.n.pod.Namespace, l.n.pod.Name, l.n.node, timeout, l.rec.State)
	}
	if err != nil {
		l.err = err.Error()
	}
	return err
}

func (l *launcher) Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	t, err := l.n.s.o.Attacher.Attach(ctx, l.n.pod.Namespace, l.n.pod.Name, containerName(l.i), stdin, stdout, stderr)
	l.transport = t
	if err != nil {
		return fmt.Errorf("pods/attach to %s/%s container %s: %w", l.n.pod.Namespace, l.n.pod.Name, containerName(l.i), err)
	}
	return nil
}

func (l *launcher) Wait(ctx context.Context) (int64, bool) {
	var code int64
	known := false
	name := containerName(l.i)
	l.n.poll(ctx, time.Now().Add(15*time.Second), func(p *corev1.Pod) (bool, error) {
		st := status(p, name)
		if st == nil || st.State.Terminated == nil {
			return false, nil
		}
		l.rec.State = kube.StateText(st.State)
		code, known = int64(st.State.Terminated.ExitCode), true
		return true, nil
	})
	return code, known
}

func (l *launcher) Describe(t *agentrun.Transfer) {
	t.Launcher = LauncherNodeCollector
	t.Plan = l.n.s.plan
	t.Transport = l.transport
	t.Sidecar = l.rec
}

// Remove releases the collector pod: the last target pod of the node
// deletes it.
func (l *launcher) Remove(ctx context.Context) error {
	l.n.s.mu.Lock()
	for _, ck := range l.n.checkpoints[l.pod.UID] {
		if ck.Path != "" {
			l.n.done = append(l.n.done, ck.Path)
		}
	}
	l.n.s.mu.Unlock()
	l.n.release(ctx)
	deleted, err := l.n.removal()
	if !deleted.IsZero() {
		l.rec.Deleted = deleted
		l.rec.State = "deleted"
	}
	return err
}

func (l *launcher) Action() evidence.Action {
	r := l.rec
	a := evidence.Action{What: "created node collector pod " + r.Namespace + "/" + r.Name, At: r.Created, Until: r.Deleted, Error: l.err}
	img := r.Image
	if r.ImageID != "" {
		img += " (" + r.ImageID + ")"
	}
	a.Detail = fmt.Sprintf("uid %s, pinned to node %s; image %s; container %s runs %s; privileges: %s. ", r.UID, r.Node, img, r.Container, strings.Join(r.Args, " "), strings.Join(r.Privileges, "; "))
	_, delErr := l.n.removal()
	switch {
	case !r.Deleted.IsZero():
		a.Detail += "Deleted at " + r.Deleted.Format(time.RFC3339Nano)
	case delErr != nil:
		a.Detail += "Not deleted: " + delErr.Error()
		a.Error = strings.TrimSpace(a.Error + " " + delErr.Error())
	default:
		a.Detail += "Shared with other target pods on the node: deleted by this run once the last of them is done"
	}
	if a.Until.IsZero() {
		a.Until = l.n.s.now()
	}
	return a
}

var errTimeout = errors.New("timed out")

// poll reads the collector pod until cond holds or fails, deadline passes
// (errTimeout) or ctx ends.
func (n *nodeRun) poll(ctx context.Context, deadline time.Time, cond func(*corev1.Pod) (bool, error)) error {
	pods := n.s.c.Client.CoreV1().Pods(n.pod.Namespace)
	for {
		p, err := pods.Get(ctx, n.pod.Name, metav1.GetOptions{})
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("waiting for the node collector pod %s on node %s: %w", n.pod.Name, n.node, context.Cause(ctx))
		case apierrors.IsNotFound(err):
			return fmt.Errorf("the node collector pod %s/%s on node %s was deleted", n.pod.Namespace, n.pod.Name, n.node)
		case err != nil:
			return n.s.c.Error("reading the node collector pod "+n.pod.Name, err)
		}
		if ok, err := cond(p); ok || err != nil {
			return err
		}
		if p.Status.Phase == corev1.PodFailed {
			return fmt.Errorf("the node collector pod %s on node %s failed: %s %s", p.Name, n.node, p.Status.Reason, p.Status.Message)
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func status(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// teeSink keeps a copy (up to 1 MiB) of the artifacts named in keep as
// they stream, and moves the agent's own artifacts (agent/...) under
// node/agent/, so that they never meet live capture's.
type teeSink struct {
	collect.Sink
	mu   sync.Mutex
	keep map[string]*strings.Builder
}

func (t *teeSink) rename(m evidence.Meta) evidence.Meta {
	if strings.HasPrefix(m.Path, "agent/") {
		m.Path = "node/" + m.Path
	}
	return m
}

func (t *teeSink) Stream(ctx context.Context, m evidence.Meta, r io.Reader) error {
	if b := t.keep[m.Path]; b != nil {
		r = io.TeeReader(r, &limited{b: b, mu: &t.mu, left: 1 << 20})
	}
	return t.Sink.Stream(ctx, t.rename(m), r)
}

func (t *teeSink) Bytes(m evidence.Meta, b []byte) error { return t.Sink.Bytes(t.rename(m), b) }
func (t *teeSink) JSON(m evidence.Meta, v any) error     { return t.Sink.JSON(t.rename(m), v) }
func (t *teeSink) Fail(m evidence.Meta, cause error) error {
	return t.Sink.Fail(t.rename(m), cause)
}

func (t *teeSink) kept(name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.keep[name]; b != nil {
		return b.String()
	}
	return ""
}

type limited struct {
	b    *strings.Builder
	mu   *sync.Mutex
	left int
}

func (w *limited) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := min(len(p), w.left); n > 0 {
		w.b.Write(p[:n])
		w.left -= n
	}
	return len(p), nil
}
