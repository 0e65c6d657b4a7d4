package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentrun"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
)

// Producers of the live step's artifacts in the manifest.
const (
	producerLive  = "kube.live"
	producerAgent = "kube.agent"
)

// Paths of the live step's own artifacts.
const (
	artifactTransfer    = agentrun.TransferPath
	artifactAgentStderr = agentrun.StderrPath
)

// failingWaits are the Waiting reasons after which an ephemeral container
// will not run without someone acting: waiting longer only hides why.
var failingWaits = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
	"CreateContainerError", "CreateContainerConfigError", "RunContainerError", "PreCreateHookError", "PreStartHookError"}

// EphemeralRecord is the agent's ephemeral container as agent/transfer.json
// and custody record it.
type EphemeralRecord struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	PodUID    string `json:"pod_uid"`
	Node      string `json:"node,omitempty"`
	// Target is the container whose process namespace it shares.
	Target string `json:"target_container"`
	// Image is the image as specified; ImageID the image the runtime ran,
	// by digest, from the container's status.
	Image       string `json:"image"`
	ImageID     string `json:"image_id,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	// SecurityContext is the container's, and SecurityContextWhy why it
	// was chosen; PodSecurityNeeded the least level that admits it.
	SecurityContext    *corev1.SecurityContext `json:"security_context"`
	SecurityContextWhy string                  `json:"security_context_why"`
	PodSecurityNeeded  string                  `json:"podsecurity_needed"`
	Args               []string                `json:"args"`
	// Added, Running and Ended are when it was added to the pod, seen
	// running, and when the agent ended.
	Added   time.Time `json:"added"`
	Running time.Time `json:"running,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// State is its last state seen, e.g. "terminated: Completed (exit 0)".
	State string `json:"state"`
	// Removable is always false: Kubernetes cannot remove an ephemeral
	// container from a pod.
	Removable bool   `json:"removable"`
	Note      string `json:"note"`
}

// step is the live step of one pod's capture.
type step struct {
	c    *kube.Cluster
	pod  *corev1.Pod
	ns   string
	live *LiveOptions
	// enforce is the namespace's enforced Pod Security level and served
	// whether the API serves pods/ephemeralcontainers, as the preflight
	// found them.
	enforce, served string
	// now returns the current time in UTC.
	now func() time.Time
}

// Collector returns the live step of the capture of pod (producer
// "kube.live"): the agent in an ephemeral container, with the captures l
// asks for. enforce is the namespace's enforced Pod Security level and
// served whether the API serves pods/ephemeralcontainers ("yes", "no",
// "unknown"), as the preflight found them; now returns the current time
// in UTC.
func Collector(c *kube.Cluster, pod *corev1.Pod, l *LiveOptions, enforce, served string, now func() time.Time) collect.Collector {
	x := &step{c: c, pod: pod, ns: pod.Namespace, live: l, enforce: enforce, served: served, now: now}
	return collect.Func(producerLive, x.run)
}

// liveArtifact is the bundle path a live step's failure is recorded under.
func (x *step) liveArtifact(step string) string {
	if step == StepPcap && x.live.Run.PcapFormat == agent.Pcap {
		return agent.ArtifactPcap
	}
	return liveArtifacts[step][0]
}

// stepSent reports whether artifact name is what step sends: its one
// artifact, or for memory any core (memory/<pid>-<comm>.core; their
// names are known only once the agent listed the processes).
func (x *step) stepSent(step, name string) bool {
	if step == StepMemory {
		return strings.HasPrefix(name, "memory/") && strings.HasSuffix(name, ".core")
	}
	return name == x.liveArtifact(step)
}

// failSteps records that steps produced nothing, and why.
func (x *step) failSteps(sink collect.Sink, steps []string, cause func(step string) error) error {
	var errs []error
	for _, s := range steps {
		errs = append(errs, sink.Fail(evidence.Meta{Path: x.liveArtifact(s), Producer: producerLive, Description: liveDescription(s)}, cause(s)))
	}
	return kube.FirstFatal(errs)
}

func liveDescription(step string) string {
	for _, l := range liveCollects {
		if l.step == step {
			return l.collects
		}
	}
	return step
}

// run runs the live captures: one ephemeral container with the agent,
// added to the pod with targetContainerName, with the security context
// PlanLive chose; the agent's stream goes straight into the bundle.
// Steps the namespace's policy or the preflight forbid are recorded as
// failures with the reason, and the others still run.
func (x *step) run(ctx context.Context, sink collect.Sink) error {
	l := x.live
	asked := l.Steps()
	if why := x.liveGate(ctx); why != "" {
		return x.failSteps(sink, asked, func(s string) error { return fmt.Errorf("%s refused: %s", s, why) })
	}
	plan := PlanLive(x.pod, l, x.enforce)
	e := &ephemeral{x: x, plan: plan}
	if err := x.failRefused(sink, plan); err != nil {
		return err
	}
	if len(plan.Steps) == 0 {
		return nil
	}
	for _, n := range plan.Notes {
		sink.Note("live capture: %s", n)
	}
	added, err := x.addAgent(ctx, sink, e)
	if err != nil || !added {
		return err // refused, recorded; or the bundle is unwritable
	}
	return x.runAgent(ctx, sink, e)
}

// liveGate says why no live step can run in this pod's namespace (access
// or API), "" when they may be tried.
func (x *step) liveGate(ctx context.Context) string {
	if x.live.Attacher == nil {
		return "no way to attach to the agent was configured"
	}
	if x.served == "no" {
		return "the API server does not serve pods/ephemeralcontainers (Kubernetes 1.23 or later serves it)"
	}
	for _, a := range liveNeeds(x.ns) {
		if err := x.c.NotAllowed(ctx, a); err != nil {
			return err.Error() + " (bind ClusterRole forensic-live-capture, deploy/rbac/forensic-live-capture.yaml)"
		}
	}
	return ""
}

// failRefused records the steps the plan refused.
func (x *step) failRefused(sink collect.Sink, plan LivePlan) error {
	var steps []string
	for _, r := range plan.Refused {
		steps = append(steps, r.Step)
		sink.Logf("%s refused: %s", r.Step, r.Reason)
	}
	return x.failSteps(sink, steps, func(s string) error { return fmt.Errorf("%s refused: %s", s, plan.Refusal(s)) })
}

// addAgent adds the agent's ephemeral container to the pod. When the API
// server's PodSecurity admission refuses it, the plan is made again for
// the level the refusal names, so that what that level admits still runs.
// It reports whether the container was added; when it was not, the steps
// are recorded as failed and agent/transfer.json says why.
func (x *step) addAgent(ctx context.Context, sink collect.Sink, t *ephemeral) (bool, error) {
	l := x.live
	for attempt := 0; ; attempt++ {
		ec := x.agentContainer(t.plan)
		name, err := x.updateEphemeral(ctx, ec)
		if err == nil {
			at := x.now()
			t.rec = &EphemeralRecord{Name: name, Namespace: x.ns, Pod: x.pod.Name, PodUID: string(x.pod.UID), Node: x.pod.Spec.NodeName,
				Target: t.plan.Target, Image: ec.Image, SecurityContext: t.plan.SecurityContext, SecurityContextWhy: t.plan.Why,
				PodSecurityNeeded: t.plan.Needs, Args: ec.Args, Added: at, State: "added",
				Note: "an ephemeral container cannot be removed from a pod: it stays in the pod spec until the pod is deleted"}
			sink.Logf("added ephemeral container %s (image %s, %s) targeting container %s", name, ec.Image, describeSC(t.plan.SecurityContext), t.plan.Target)
			t.action = evidence.Action{What: "added ephemeral container", At: at}
			return true, nil
		}
		level := ""
		if m := podSecurityViolation.FindStringSubmatch(err.Error()); m != nil && apierrors.IsForbidden(err) {
			level = m[1]
		}
		if level != "" && attempt == 0 && level != t.plan.Enforce {
			t.admission = append(t.admission, err.Error())
			sink.Logf("the API server refused the agent container: %v; planning again for PodSecurity %q", err, level)
			before := t.plan
			t.plan = PlanLive(x.pod, l, level)
			for _, r := range t.plan.Refused {
				if before.Refusal(r.Step) == "" {
					sink.Logf("%s refused: %s", r.Step, r.Reason)
					if ferr := x.failSteps(sink, []string{r.Step}, func(s string) error {
						return fmt.Errorf("%s refused by the API server's admission: %s; %s", s, err, r.Reason)
					}); ferr != nil {
						return false, ferr
					}
				}
			}
			if len(t.plan.Steps) > 0 {
				continue
			}
			return false, t.writeTransfer(sink)
		}
		what := "adding the agent's ephemeral container"
		if level != "" {
			what += fmt.Sprintf(" (the namespace's policy enforces PodSecurity %q, which forbids the agent's security context: %s)", level, describeSC(t.plan.SecurityContext))
		}
		cause := x.c.Error(what, err)
		if ferr := x.failSteps(sink, t.plan.Steps, func(s string) error { return fmt.Errorf("%s: %w", s, cause) }); ferr != nil {
			return false, ferr
		}
		return false, t.writeTransfer(sink, cause.Error())
	}
}

// agentContainer is the ephemeral container of plan.
func (x *step) agentContainer(plan LivePlan) corev1.EphemeralContainer {
	l := x.live
	run := l.Run
	run.TargetPID, run.WaitStdin = 1, true
	run.Pcap = run.Pcap && slices.Contains(plan.Steps, StepPcap)
	run.FS = run.FS && slices.Contains(plan.Steps, StepFilesystem)
	run.Proc = run.Proc && slices.Contains(plan.Steps, StepProcesses)
	run.ProcEnv = run.ProcEnv && run.Proc
	run.Memory = run.Memory && slices.Contains(plan.Steps, StepMemory)
	if !run.Memory {
		run.MemoryPIDs, run.MemoryComms, run.MemorySkipFileBacked, run.MemoryMaxBytes = nil, nil, false, 0
	}
	if !run.Pcap {
		run.PcapDuration, run.PcapInterface, run.PcapMaxPackets, run.PcapMaxBytes, run.PcapBufferSize = 0, "", 0, 0, 0
	}
	tool := l.Tool
	if tool == "" {
		tool = "kubectl-forensic"
	}
	return corev1.EphemeralContainer{
		TargetContainerName: plan.Target,
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Image: l.image(), Args: run.Args(),
			Stdin: true, StdinOnce: true, TTY: false,
			ImagePullPolicy: corev1.PullIfNotPresent,
			// Not FallbackToLogsOnError: the log's tail is the agent's
			// binary stream, which would land in the pod's status (and
			// break every later YAML rendering of the pod). The agent's
			// own log is kept in agent/stderr.log.
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			SecurityContext:          plan.SecurityContext,
			Env: []corev1.EnvVar{
				{Name: "FORENSIC_TOOL", Value: tool},
				{Name: "FORENSIC_PURPOSE", Value: "live capture (" + strings.Join(plan.Steps, ", ") + ") of container " + plan.Target + "; added at " + x.now().Format(time.RFC3339)},
			},
		},
	}
}

// agentName returns a name for the agent's container that no container
// of pod has: forensic-agent-<UTC time>, with a suffix if needed.
func agentName(pod *corev1.Pod, at time.Time) string {
	base := "forensic-agent-" + at.UTC().Format("20060102-150405")
	taken := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		taken[c.Name] = true
	}
	for _, c := range pod.Spec.InitContainers {
		taken[c.Name] = true
	}
	for _, c := range pod.Spec.EphemeralContainers {
		taken[c.Name] = true
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// updateEphemeral adds ec to the pod through the pods/ephemeralcontainers
// subresource (verb update), reading the pod again on a conflict. The pod
// must still be the captured one (same UID).
func (x *step) updateEphemeral(ctx context.Context, ec corev1.EphemeralContainer) (string, error) {
	pods := x.c.Client.CoreV1().Pods(x.ns)
	var name string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, x.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != x.pod.UID {
			return fmt.Errorf("the pod was replaced during the capture (uid %s, captured %s)", cur.UID, x.pod.UID)
		}
		name = agentName(cur, x.now())
		ec.Name = name
		cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, ec)
		_, err = pods.UpdateEphemeralContainers(ctx, x.pod.Name, cur, metav1.UpdateOptions{FieldManager: "kubectl-forensic"})
		return err
	})
	return name, err
}

// runAgent runs the agent in its ephemeral container through
// agentrun.Run, which streams its artifacts into the bundle and records
// agent/transfer.json, agent/stderr.log and the custody action; then a
// step whose artifact never came is recorded with what went wrong.
func (x *step) runAgent(ctx context.Context, sink collect.Sink, e *ephemeral) error {
	t, err := agentrun.Run(ctx, sink, e, agentrun.Options{Args: e.rec.Args, Producer: producerAgent, SpoolDir: x.live.SpoolDir, StopGrace: x.live.StopGrace})
	var pe *agentrun.ProblemsError
	switch {
	case errors.As(err, &pe) && !pe.Started:
		return x.failSteps(sink, e.plan.Steps, func(s string) error { return fmt.Errorf("%s: %w", s, e.startErr) })
	case err != nil && pe == nil:
		return err // the bundle is unwritable
	}
	var missing []string
	for _, s := range e.plan.Steps {
		if t.Stream == nil || !slices.ContainsFunc(t.Stream.Artifacts, func(a stream.ArtifactResult) bool { return x.stepSent(s, a.Name) }) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		why := "the agent sent nothing for it"
		if len(t.Problems) > 0 {
			why += ": " + strings.Join(t.Problems, "; ")
		}
		if ferr := x.failSteps(sink, missing, func(s string) error { return fmt.Errorf("%s: %s", s, why) }); ferr != nil {
			return ferr
		}
	}
	return err
}

// ephemeral is the agentrun.Launcher of the Kubernetes plugin: the agent's
// ephemeral container, added to the pod with the plan's security context.
// It cannot be removed from the pod; custody says so.
type ephemeral struct {
	x *step
	// plan is how the agent runs, and admission the API server's
	// refusals that changed it.
	plan      LivePlan
	admission []string
	// rec is the container once added; nil before.
	rec       *EphemeralRecord
	action    evidence.Action
	startErr  error
	transport string
}

// Start waits until the container runs. When it will not, or the capture
// is interrupted first, an agent that waits for its start byte is let go.
func (e *ephemeral) Start(ctx context.Context) error {
	st, err := e.x.waitAgent(ctx, e.rec.Name, e.rec.Image)
	e.x.recordStatus(e.rec, st)
	if err != nil {
		e.action.Error, e.startErr = err.Error(), err
		if ctx.Err() != nil {
			e.x.dismissAgent(ctx, e.rec.Name, st)
		}
	}
	return err
}

// Attach attaches to the container through pods/attach.
func (e *ephemeral) Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	x := e.x
	transport, err := x.live.Attacher.Attach(ctx, x.ns, x.pod.Name, e.rec.Name, stdin, stdout, stderr)
	e.transport = transport
	if err != nil {
		return fmt.Errorf("pods/attach, %s: %w", orUnknown(transport), err)
	}
	return nil
}

// Wait waits, for a short while, until the container terminated, for its
// exit code and end time.
func (e *ephemeral) Wait(ctx context.Context) (int64, bool) {
	end, _ := e.x.waitEnded(ctx, e.rec.Name)
	e.x.recordStatus(e.rec, end)
	if e.rec.Ended.IsZero() {
		e.rec.Ended = e.x.now()
	}
	e.action.Until = e.rec.Ended
	if end == nil || end.State.Terminated == nil {
		return 0, false
	}
	return int64(end.State.Terminated.ExitCode), true
}

// Describe records the plan, the admission's refusals, the container and
// the transport.
func (e *ephemeral) Describe(t *agentrun.Transfer) {
	t.Launcher = agentrun.LauncherKubernetesEphemeral
	t.Plan, t.Admission, t.Transport = e.plan, e.admission, e.transport
	if e.rec != nil {
		t.EphemeralContainer = e.rec
	}
}

// Remove removes nothing: Kubernetes cannot remove an ephemeral container
// from a pod; it stays in the pod spec until the pod is deleted, and the
// custody action says so.
func (e *ephemeral) Remove(context.Context) error { return nil }

// Action is the custody record of the container.
func (e *ephemeral) Action() evidence.Action {
	a := e.action
	a.Detail = actionDetail(e.rec, e.plan)
	if a.Until.IsZero() {
		a.Until = e.x.now()
	}
	return a
}

// writeTransfer stores agent/transfer.json for a container that was not
// added, with problems.
func (e *ephemeral) writeTransfer(sink collect.Sink, problems ...string) error {
	t := &agentrun.Transfer{}
	e.Describe(t)
	t.Problems = problems
	return agentrun.WriteTransfer(sink, t, producerAgent)
}

// waitAgent waits until the agent's container runs. It fails at once on a
// Waiting reason that will not go away by itself (the image cannot be
// pulled, the container cannot be created), naming the image and the node
// and saying how to fix it, and when the container ended before it ran.
func (x *step) waitAgent(ctx context.Context, name, image string) (*corev1.ContainerStatus, error) {
	timeout := x.live.StartTimeout
	if timeout <= 0 {
		timeout = DefaultAgentStartTimeout
	}
	var last *corev1.ContainerStatus
	err := x.watchPod(ctx, timeout, func(pod *corev1.Pod) (bool, error) {
		st := ephemeralStatus(pod, name)
		if st == nil {
			return false, nil
		}
		last = st
		return agentStarted(st, image, pod.Spec.NodeName)
	})
	switch {
	case err == nil:
		return last, nil
	case errors.Is(err, errWaitTimeout):
		state := "no status yet"
		if last != nil {
			state = kube.StateText(last.State)
			if w := last.State.Waiting; w != nil && w.Message != "" {
				state += " (" + w.Message + ")"
			}
		}
		return last, fmt.Errorf("the agent's ephemeral container %s did not run within %s: %s", name, timeout, state)
	case ctx.Err() != nil:
		return last, fmt.Errorf("waiting for the agent's ephemeral container %s to run: %w", name, context.Cause(ctx))
	}
	return last, err
}

// agentStarted reports whether the agent's container runs; an error when
// it never will.
func agentStarted(st *corev1.ContainerStatus, image, node string) (bool, error) {
	switch {
	case st.State.Running != nil:
		return true, nil
	case st.State.Terminated != nil:
		t := st.State.Terminated
		return false, fmt.Errorf("the agent's ephemeral container %s ended before the plugin attached: %s (exit %d) %s", st.Name, t.Reason, t.ExitCode, strings.TrimSpace(t.Message))
	case st.State.Waiting != nil && slices.Contains(failingWaits, st.State.Waiting.Reason):
		return false, waitingError(st.Name, st.State.Waiting, image, node)
	}
	return false, nil
}

// waitingError explains a Waiting reason of the agent's container and how
// to fix it.
func waitingError(name string, w *corev1.ContainerStateWaiting, image, node string) error {
	msg := strings.TrimSpace(w.Message)
	if msg != "" {
		msg = ": " + msg
	}
	if node == "" {
		node = "(unknown)"
	}
	switch w.Reason {
	case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
		return fmt.Errorf("the agent image %s cannot be run on node %s (%s%s): import it there with `ctr -n k8s.io images import forensic-agent-image_<version>_linux_<arch>.tar` (make dist writes it; `forensic-agent image -o FILE` too), or push it to a registry the node can pull from and pass --agent-image", image, node, w.Reason, msg)
	}
	return fmt.Errorf("the agent's ephemeral container %s (image %s) cannot start on node %s (%s%s)", name, image, node, w.Reason, msg)
}

// waitEnded waits, for a short while, until the agent's container
// terminated, for its exit code and end time.
func (x *step) waitEnded(ctx context.Context, name string) (*corev1.ContainerStatus, error) {
	var last *corev1.ContainerStatus
	err := x.watchPod(context.WithoutCancel(ctx), 15*time.Second, func(pod *corev1.Pod) (bool, error) {
		last = ephemeralStatus(pod, name)
		return last != nil && last.State.Terminated != nil, nil
	})
	return last, err
}

// dismissAgent lets an agent that waits for its start byte go, after the
// capture was interrupted before the plugin attached: it attaches with an
// empty stdin, on which the agent exits without capturing. Best effort,
// bounded.
func (x *step) dismissAgent(ctx context.Context, name string, st *corev1.ContainerStatus) {
	if st == nil || st.State.Running == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	x.live.Attacher.Attach(dctx, x.ns, x.pod.Name, name, strings.NewReader(""), io.Discard, io.Discard)
}

var errWaitTimeout = errors.New("timed out")

// watchPod calls cond with the pod, first as read, then at each change,
// until cond holds or fails, timeout passes (errWaitTimeout) or ctx ends.
// It watches the pod; where watching is not allowed it polls.
func (x *step) watchPod(ctx context.Context, timeout time.Duration, cond func(*corev1.Pod) (bool, error)) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
	defer cancel()
	pods := x.c.Client.CoreV1().Pods(x.ns)
	check := func() (string, bool, error) {
		pod, err := pods.Get(ctx, x.pod.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, x.waitErr(ctx, err)
		}
		if pod.UID != x.pod.UID {
			return "", false, errors.New("the pod was deleted during the capture")
		}
		ok, err := cond(pod)
		return pod.ResourceVersion, ok, err
	}
	for {
		rv, ok, err := check()
		if ok || err != nil {
			return err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", x.pod.Name).String(), ResourceVersion: rv})
		if err != nil {
			if ctx.Err() != nil {
				return x.waitErr(ctx, ctx.Err())
			}
			// Not allowed to watch, or the watch failed: poll.
			select {
			case <-ctx.Done():
				return x.waitErr(ctx, ctx.Err())
			case <-time.After(time.Second):
			}
			continue
		}
		ok, err = watchUntil(ctx, w, x.pod.UID, cond)
		w.Stop()
		if ok || err != nil {
			return err
		}
		if ctx.Err() != nil {
			return x.waitErr(ctx, ctx.Err())
		}
		// The watch ended early (the server closes watches now and then):
		// read the pod again and watch anew.
	}
}

// watchUntil reads events until cond holds or fails, or the watch ends.
func watchUntil(ctx context.Context, w watch.Interface, uid types.UID, cond func(*corev1.Pod) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case ev, open := <-w.ResultChan():
			if !open {
				return false, nil
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			switch {
			case ev.Type == watch.Deleted:
				return false, errors.New("the pod was deleted during the capture")
			case !isPod || (ev.Type != watch.Added && ev.Type != watch.Modified):
				continue
			case pod.UID != uid:
				return false, errors.New("the pod was deleted during the capture")
			}
			if ok, err := cond(pod); ok || err != nil {
				return ok, err
			}
		}
	}
}

func (x *step) waitErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	if apierrors.IsNotFound(err) {
		return errors.New("the pod was deleted during the capture")
	}
	return x.c.Error("reading pod "+x.pod.Name, err)
}

func ephemeralStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.EphemeralContainerStatuses {
		if pod.Status.EphemeralContainerStatuses[i].Name == name {
			return pod.Status.EphemeralContainerStatuses[i].DeepCopy()
		}
	}
	return nil
}

// recordStatus copies what a container status says into rec.
func (x *step) recordStatus(rec *EphemeralRecord, st *corev1.ContainerStatus) {
	if st == nil {
		return
	}
	if st.ImageID != "" {
		rec.ImageID = st.ImageID
	}
	if st.ContainerID != "" {
		rec.ContainerID = st.ContainerID
	}
	rec.State = kube.StateText(st.State)
	if w := st.State.Waiting; w != nil && w.Message != "" {
		rec.State += " (" + w.Message + ")"
	}
	if r := st.State.Running; r != nil && rec.Running.IsZero() {
		rec.Running = r.StartedAt.UTC()
	}
	if t := st.State.Terminated; t != nil {
		if rec.Running.IsZero() && !t.StartedAt.IsZero() {
			rec.Running = t.StartedAt.UTC()
		}
		if !t.FinishedAt.IsZero() {
			rec.Ended = t.FinishedAt.UTC()
		}
	}
}

// actionDetail is the custody action's detail for the agent's container.
func actionDetail(rec *EphemeralRecord, plan LivePlan) string {
	img := rec.Image
	if rec.ImageID != "" {
		img += " (" + rec.ImageID + ")"
	}
	return fmt.Sprintf("%s to pod %s/%s (uid %s) on node %s, targeting container %s (its process namespace, and the pod's network namespace); image %s; security context %s, because it %s; podsecurity level needed %s; agent arguments: %s; state: %s. It cannot be removed from the pod: it stays in the pod spec until the pod is deleted",
		rec.Name, rec.Namespace, rec.Pod, rec.PodUID, orUnknown(rec.Node), rec.Target, img, describeSC(rec.SecurityContext), plan.Why, rec.PodSecurityNeeded, strings.Join(rec.Args, " "), rec.State)
}

// describeSC prints a security context on one line.
func describeSC(sc *corev1.SecurityContext) string {
	if sc == nil {
		return "(none)"
	}
	var parts []string
	i64 := func(k string, v *int64) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", k, *v))
		}
	}
	b := func(k string, v *bool) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s=%t", k, *v))
		}
	}
	i64("runAsUser", sc.RunAsUser)
	i64("runAsGroup", sc.RunAsGroup)
	b("runAsNonRoot", sc.RunAsNonRoot)
	b("allowPrivilegeEscalation", sc.AllowPrivilegeEscalation)
	b("readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem)
	if c := sc.Capabilities; c != nil {
		if len(c.Drop) > 0 {
			parts = append(parts, "capabilities.drop="+joinCaps(c.Drop))
		}
		if len(c.Add) > 0 {
			parts = append(parts, "capabilities.add="+joinCaps(c.Add))
		}
	}
	if sc.SeccompProfile != nil {
		parts = append(parts, "seccompProfile="+string(sc.SeccompProfile.Type))
	}
	return strings.Join(parts, " ")
}

func joinCaps(cs []corev1.Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}
