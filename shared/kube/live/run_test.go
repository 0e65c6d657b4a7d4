package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentrun"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/podcollect"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// liveWorld is a fake cluster for live capture: the kubelet is played by
// a reactor on pods/ephemeralcontainers that sets the new container's
// status, and the agent by fakeAgent.
type liveWorld struct {
	*kubetest.FakeAPI
	mu sync.Mutex
	// added are the ephemeral containers the API accepted.
	added []corev1.EphemeralContainer
	// refuse, when it returns an error for a container, refuses it.
	refuse func(ec corev1.EphemeralContainer) error
	// waiting, when set, is the state the kubelet leaves the container in
	// instead of running it.
	waiting *corev1.ContainerStateWaiting
}

func newLiveWorld(objs ...runtime.Object) *liveWorld {
	objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}})
	w := &liveWorld{FakeAPI: kubetest.NewFakeAPI(objs...)}
	w.CS.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		pod := a.(k8stesting.UpdateAction).GetObject().(*corev1.Pod).DeepCopy()
		ec := pod.Spec.EphemeralContainers[len(pod.Spec.EphemeralContainers)-1]
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.refuse != nil {
			if err := w.refuse(ec); err != nil {
				return true, nil, err
			}
		}
		w.added = append(w.added, ec)
		st := corev1.ContainerStatus{Name: ec.Name, Image: ec.Image, ImageID: "docker.io/forensic/agent@sha256:" + strings.Repeat("f", 64),
			ContainerID: "containerd://" + ec.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}
		if w.waiting != nil {
			st.State = corev1.ContainerState{Waiting: w.waiting.DeepCopy()}
			st.ImageID, st.ContainerID = "", ""
		}
		pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses, st)
		if err := w.CS.Tracker().Update(podsResource, pod, pod.Namespace); err != nil {
			return true, nil, err
		}
		return true, pod, nil
	})
	return w
}

// terminate marks the agent's container as ended with code.
func (w *liveWorld) terminate(ns, pod, name string, code int32) error {
	obj, err := w.CS.Tracker().Get(podsResource, ns, pod)
	if err != nil {
		return err
	}
	p := obj.(*corev1.Pod).DeepCopy()
	for i := range p.Status.EphemeralContainerStatuses {
		st := &p.Status.EphemeralContainerStatuses[i]
		if st.Name == name {
			reason := "Completed"
			if code != 0 {
				reason = "Error"
			}
			st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
				StartedAt: metav1.NewTime(time.Now().Add(-time.Second)), FinishedAt: metav1.Now()}}
		}
	}
	return w.CS.Tracker().Update(podsResource, p, ns)
}

// fakeAgent plays the agent behind an attach: it waits for the start
// byte, streams its artifacts, and ends its container.
type fakeAgent struct {
	w *liveWorld
	// artifacts are streamed in order; each step the container's
	// arguments ask for gets one.
	content map[string]string
	// untilStopped keeps the pcap open until stdin ends (a capture cut
	// short by Ctrl-C).
	untilStopped bool
	// started is closed once the start byte arrived.
	started chan struct{}

	mu       sync.Mutex
	attaches []string
}

func newFakeAgent(w *liveWorld) *fakeAgent {
	return &fakeAgent{w: w, started: make(chan struct{}), content: map[string]string{
		agent.ArtifactInfo:         `{"version":"test"}`,
		agent.ArtifactPcapNG:       "PCAPNG-BYTES",
		agent.ArtifactFSMounts:     `[]`,
		agent.ArtifactFSTar:        strings.Repeat("T", 3000),
		agent.ArtifactFSReport:     `{}`,
		agent.ArtifactProcSnapshot: `{"processes":[{"pid":1}]}`,
	}}
}

func (a *fakeAgent) Attach(ctx context.Context, ns, pod, container string, stdin io.Reader, stdout, stderr io.Writer) (string, error) {
	a.mu.Lock()
	a.attaches = append(a.attaches, container)
	a.mu.Unlock()
	var args []string
	a.w.mu.Lock()
	for _, ec := range a.w.added {
		if ec.Name == container {
			args = ec.Args
		}
	}
	a.w.mu.Unlock()
	b := make([]byte, 1)
	if n, _ := stdin.Read(b); n != 1 {
		return live.TransportSPDY, a.w.terminate(ns, pod, container, 1)
	}
	close(a.started)
	sw, err := stream.NewWriter(stdout)
	if err != nil {
		return "", err
	}
	send := func(name string, cause error) {
		aw, _ := sw.Open(name, nil)
		aw.Write([]byte(a.content[name]))
		aw.Finish(nil, cause)
	}
	send(agent.ArtifactInfo, nil)
	has := func(flag string) bool { return strings.Contains(" "+strings.Join(args, " ")+" ", " "+flag+" ") }
	if has("--proc") {
		send(agent.ArtifactProcSnapshot, nil)
	}
	if has("--fs") {
		send(agent.ArtifactFSMounts, nil)
		send(agent.ArtifactFSTar, nil)
		send(agent.ArtifactFSReport, nil)
	}
	code := int32(0)
	if has("--pcap") {
		var cause error
		if a.untilStopped {
			io.Copy(io.Discard, stdin)
			cause, code = errors.New("capture stopped before its duration or limits: the session was stopped"), 1
		}
		send(agent.ArtifactPcapNG, cause)
	}
	if err := sw.Close(); err != nil {
		return "", err
	}
	n, sum := sw.Sum()
	fmt.Fprintf(stderr, "fake-agent: sent %d bytes, sha256 %x\n", n, sum)
	return live.TransportWebSocket, a.w.terminate(ns, pod, container, code)
}

// livePod is a running pod whose one container runs as 65534:65534.
func livePod(ns string) *corev1.Pod {
	p := kubetest.NewPod(ns, "web-1").Node("node-1").Container("web", 0).P()
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}
	return p
}

// liveCapture captures pod with live options l (an attacher is set when
// none is) and returns the result and the bundle's files.
func liveCapture(t *testing.T, w *liveWorld, pod *corev1.Pod, l *live.LiveOptions) (collect.Result, map[string]string) {
	t.Helper()
	l.StartTimeout = 5 * time.Second
	return runCapture(t, w.FakeAPI, pod, preflight.Options{Live: l})
}

func manifestEntry(m evidence.Manifest, path string) (evidence.Artifact, bool) {
	for _, a := range m.Artifacts {
		if a.Path == path {
			return a, true
		}
	}
	return evidence.Artifact{}, false
}

// transfer is agent/transfer.json with the Kubernetes launcher's part
// typed.
type transfer struct {
	agentrun.Transfer
	Plan      live.LivePlan         `json:"plan"`
	Container *live.EphemeralRecord `json:"ephemeral_container"`
}

func decodeTransfer(t *testing.T, files map[string]string) transfer {
	t.Helper()
	var tr transfer
	if err := json.Unmarshal([]byte(files[live.ArtifactTransfer]), &tr); err != nil {
		t.Fatalf("agent/transfer.json: %v\n%s", err, files[live.ArtifactTransfer])
	}
	return tr
}

func TestLiveCapture(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
	fa := newFakeAgent(w)
	l := live.Ask(live.StepPcap, live.StepFilesystem, live.StepProcesses)
	l.Attacher, l.Tool = fa, "kubectl-forensic test"
	res, files := liveCapture(t, w, pod, l)
	if !res.Manifest.Complete {
		t.Fatalf("bundle incomplete: %q", res.Manifest.Incomplete)
	}

	// One ephemeral container, as the transport rules want it.
	if len(w.added) != 1 {
		t.Fatalf("added %d ephemeral containers, want 1", len(w.added))
	}
	ec := w.added[0]
	if !strings.HasPrefix(ec.Name, "forensic-agent-") || ec.TargetContainerName != "web" || ec.Image != agent.DefaultImage() ||
		!ec.Stdin || !ec.StdinOnce || ec.TTY || ec.ImagePullPolicy != corev1.PullIfNotPresent ||
		ec.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("ephemeral container %+v", ec)
	}
	if diff := cmp.Diff([]string{"run", "--target-pid", "1", "--pcap", "5s", "--fs", "--proc"}, ec.Args); diff != "" {
		t.Errorf("agent arguments (-want +got):\n%s", diff)
	}
	if got := live.DescribeSC(ec.SecurityContext); got != live.ScRootPcapPtrace {
		t.Errorf("security context %s", got)
	}
	if ec.Env[0].Name != "FORENSIC_TOOL" || ec.Env[0].Value != "kubectl-forensic test" {
		t.Errorf("env %+v", ec.Env)
	}

	// Every artifact landed as the agent sent it, under its own name.
	for _, name := range []string{agent.ArtifactInfo, agent.ArtifactPcapNG, agent.ArtifactFSMounts, agent.ArtifactFSTar, agent.ArtifactFSReport, agent.ArtifactProcSnapshot} {
		if files[name] != fa.content[name] {
			t.Errorf("%s = %q, want %q", name, files[name], fa.content[name])
		}
		if a, _ := manifestEntry(res.Manifest, name); a.Producer != live.ProducerAgent {
			t.Errorf("%s producer %q", name, a.Producer)
		}
	}
	tr := decodeTransfer(t, files)
	if tr.Container == nil || tr.Container.Name != ec.Name || tr.Container.ImageID == "" || tr.Container.Target != "web" ||
		tr.Container.Added.IsZero() || tr.Container.Ended.IsZero() || tr.Container.Removable || tr.Container.PodSecurityNeeded != "privileged" {
		t.Errorf("transfer container %+v", tr.Container)
	}
	if tr.Stream == nil || !tr.Stream.Ended || tr.Stream.Bytes != tr.Stream.DeclaredBytes || tr.Stream.SHA256 != tr.Stream.DeclaredSHA256 ||
		len(tr.Problems) != 0 || tr.AgentExit == nil || *tr.AgentExit != 0 || tr.Transport != live.TransportWebSocket {
		t.Errorf("transfer %+v stream %+v", tr, tr.Stream)
	}
	if !strings.Contains(files[live.ArtifactAgentStderr], fmt.Sprintf("sent %d bytes, sha256 %s", tr.Stream.DeclaredBytes, tr.Stream.DeclaredSHA256)) {
		t.Errorf("agent/stderr.log = %q", files[live.ArtifactAgentStderr])
	}

	// Custody: the change to the pod, with what it was.
	var cu evidence.Custody
	if err := json.Unmarshal([]byte(files["custody.json"]), &cu); err != nil {
		t.Fatal(err)
	}
	if len(cu.Actions) != 1 {
		t.Fatalf("custody actions %+v", cu.Actions)
	}
	act := cu.Actions[0]
	for _, want := range []string{ec.Name, "targeting container web", agent.DefaultImage(), "docker.io/forensic/agent@sha256:", "capabilities.add=NET_RAW,SYS_PTRACE",
		"run --target-pid 1 --pcap 5s --fs --proc", "cannot be removed from the pod"} {
		if !strings.Contains(act.Detail, want) {
			t.Errorf("custody action lacks %q: %s", want, act.Detail)
		}
	}
	if act.What != "added ephemeral container" || act.At.IsZero() || act.Until.Before(act.At) || act.Error != "" {
		t.Errorf("custody action %+v", act)
	}
	// Most volatile first: the live step right after the pod object.
	var order []string
	for _, a := range res.Manifest.Artifacts {
		order = append(order, a.Path)
	}
	if i, j := indexOf(order, agent.ArtifactPcapNG), indexOf(order, "logs/web.log"); i < 0 || j < 0 || i > j {
		t.Errorf("artifact order %q", order)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestLiveRestrictedNamespace: the namespace forbids packet capture; the
// filesystem and processes run as the target's user, in a context
// restricted admits.
func TestLiveRestrictedNamespace(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}), pod)
	l := live.Ask(live.StepPcap, live.StepFilesystem, live.StepProcesses)
	l.Attacher = newFakeAgent(w)
	res, files := liveCapture(t, w, pod, l)
	pcap, _ := manifestEntry(res.Manifest, agent.ArtifactPcapNG)
	if !strings.HasPrefix(pcap.Error, `pcap refused: namespace shop enforces PodSecurity "restricted", which forbids the NET_RAW capability packet capture needs`) || pcap.SHA256 != "" {
		t.Errorf("pcap recorded as %+v", pcap)
	}
	if len(w.added) != 1 || live.DescribeSC(w.added[0].SecurityContext) != live.ScTarget {
		t.Fatalf("added %+v", w.added)
	}
	if diff := cmp.Diff([]string{"run", "--target-pid", "1", "--fs", "--proc"}, w.added[0].Args); diff != "" {
		t.Errorf("agent arguments (-want +got):\n%s", diff)
	}
	for _, f := range []string{agent.ArtifactFSTar, agent.ArtifactProcSnapshot} {
		if a, ok := manifestEntry(res.Manifest, f); !ok || a.Error != "" {
			t.Errorf("%s recorded as %+v", f, a)
		}
	}
	if res.Manifest.Complete || len(res.Manifest.Incomplete) != 1 {
		t.Errorf("incomplete reasons %q, want the pcap's only", res.Manifest.Incomplete)
	}
	tr := decodeTransfer(t, files)
	if tr.Plan.Refusal(live.StepPcap) == "" || tr.Container.PodSecurityNeeded != "restricted" {
		t.Errorf("transfer plan %+v", tr.Plan)
	}
}

// TestLiveAdmissionRefusal: the namespace sets no level (the cluster's
// default enforces restricted); the API refuses the privileged container,
// and the plan made for the level it names still runs.
func TestLiveAdmissionRefusal(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
	const violation = `pods "web-1" is forbidden: violates PodSecurity "restricted:latest": unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"])`
	w.refuse = func(ec corev1.EphemeralContainer) error {
		if live.LevelNeeded(ec.SecurityContext, nil) > live.LevelRestricted {
			return apierrors.NewForbidden(podsResource.GroupResource(), "web-1", errors.New(violation[len(`pods "web-1" is forbidden: `):]))
		}
		return nil
	}
	l := live.Ask(live.StepPcap, live.StepProcesses)
	l.Attacher = newFakeAgent(w)
	res, files := liveCapture(t, w, pod, l)
	pcap, _ := manifestEntry(res.Manifest, agent.ArtifactPcapNG)
	for _, want := range []string{"pcap refused by the API server's admission", `violates PodSecurity "restricted:latest"`, "forbids the NET_RAW capability"} {
		if !strings.Contains(pcap.Error, want) {
			t.Errorf("pcap error %q lacks %q", pcap.Error, want)
		}
	}
	if a, ok := manifestEntry(res.Manifest, agent.ArtifactProcSnapshot); !ok || a.Error != "" {
		t.Errorf("processes recorded as %+v", a)
	}
	if len(w.added) != 1 || live.DescribeSC(w.added[0].SecurityContext) != live.ScTarget {
		t.Errorf("added %+v", w.added)
	}
	if tr := decodeTransfer(t, files); len(tr.Admission) != 1 || tr.Plan.Enforce != "restricted" {
		t.Errorf("transfer admission %q plan %+v", tr.Admission, tr.Plan)
	}
}

func TestLiveMissingImage(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
	w.waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: `failed to pull and unpack image "docker.io/forensic/agent:no-such-tag"`}
	fa := newFakeAgent(w)
	l := live.Ask(live.StepProcesses)
	l.Attacher, l.Image = fa, "forensic/agent:no-such-tag"
	res, files := liveCapture(t, w, pod, l)
	a, _ := manifestEntry(res.Manifest, agent.ArtifactProcSnapshot)
	for _, want := range []string{"the agent image forensic/agent:no-such-tag cannot be run on node node-1 (ErrImagePull", "ctr -n k8s.io images import"} {
		if !strings.Contains(a.Error, want) {
			t.Errorf("processes error %q lacks %q", a.Error, want)
		}
	}
	if len(fa.attaches) != 0 {
		t.Errorf("attached to a container that never ran: %q", fa.attaches)
	}
	tr := decodeTransfer(t, files)
	if tr.Container == nil || !strings.HasPrefix(tr.Container.State, "waiting: ErrImagePull") || len(tr.Problems) != 1 {
		t.Errorf("transfer %+v", tr)
	}
	var cu evidence.Custody
	json.Unmarshal([]byte(files["custody.json"]), &cu)
	if len(cu.Actions) != 1 || !strings.Contains(cu.Actions[0].Error, "forensic/agent:no-such-tag") {
		t.Errorf("custody actions %+v", cu.Actions)
	}
	// The rest of the capture went on.
	if _, ok := files["logs/web.log"]; !ok {
		t.Error("the rest of the capture did not happen")
	}
}

func TestLiveNotAllowed(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
	w.Deny["update pods/ephemeralcontainers"] = true
	l := live.Ask(live.StepFilesystem)
	l.Attacher = newFakeAgent(w)
	res, _ := liveCapture(t, w, pod, l)
	a, _ := manifestEntry(res.Manifest, agent.ArtifactFSTar)
	if !strings.Contains(a.Error, "filesystem refused: not allowed (preflight): alice may not update pods/ephemeralcontainers -n shop") ||
		!strings.Contains(a.Error, "forensic-live-capture") {
		t.Errorf("filesystem recorded as %+v", a)
	}
	if len(w.added) != 0 {
		t.Errorf("added %+v without the right to", w.added)
	}
}

// TestLiveInterrupted: Ctrl-C during a packet capture closes the agent's
// stdin; the agent ends its stream properly and what it sent is kept,
// marked cut short.
func TestLiveInterrupted(t *testing.T) {
	pod := livePod("shop")
	w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
	fa := newFakeAgent(w)
	fa.untilStopped = true
	l := live.Ask(live.StepPcap)
	l.Attacher, l.StartTimeout = fa, 5*time.Second
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		<-fa.started
		cancel(errors.New("interrupted by signal"))
	}()
	bw, err := evidence.Create(t.TempDir()+"/b.tar", evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	r := &collect.Runner{Bundle: bw, Custody: evidence.NewCustody(evidence.Tool{Name: "test"}, time.Now())}
	snap := &podcollect.Snapshot{Pod: pod, Raw: []byte("{}"), Taken: time.Now()}
	report := preflight.Preflight(context.Background(), w.Cluster(), "shop", []*corev1.Pod{pod}, nil, preflight.Options{Live: l})
	res := r.Run(ctx, podcollect.Collectors(w.Cluster(), snap, report, preflight.Options{Live: l}))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	files := kubetest.ReadTar(t, res.Path, "b/")
	a, _ := manifestEntry(res.Manifest, agent.ArtifactPcapNG)
	if !a.Partial || !strings.Contains(a.Error, "the session was stopped") || files[agent.ArtifactPcapNG] != "PCAPNG-BYTES" {
		t.Errorf("pcap recorded as %+v", a)
	}
	tr := decodeTransfer(t, files)
	if tr.Stream == nil || !tr.Stream.Ended || tr.Stream.Bytes != tr.Stream.DeclaredBytes || tr.AgentExit == nil || *tr.AgentExit != 1 {
		t.Errorf("transfer after an interruption %+v", tr)
	}
	joined := strings.Join(res.Manifest.Incomplete, "\n")
	if !strings.Contains(joined, "interrupted by signal: not collected: kube.logs") {
		t.Errorf("incomplete reasons %q", res.Manifest.Incomplete)
	}
}

// runCapture captures one pod into a tar bundle in a temp folder and
// returns the result and the bundle's files (as podcollect's tests do:
// the live step runs inside a whole capture).
func runCapture(t *testing.T, f *kubetest.FakeAPI, pod *corev1.Pod, opts preflight.Options) (collect.Result, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	c := &podcollect.Capture{
		Cluster: f.Cluster(), Options: opts, Selection: target.Selection{Namespace: pod.Namespace, Targets: []target.Target{{Kind: target.KindPod, Name: pod.Name, Arg: pod.Name}}},
		Open: func(p *target.Pod, at time.Time) (*evidence.Writer, error) {
			return evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
		},
		Custody: func(at time.Time) evidence.Custody { return evidence.NewCustody(evidence.Tool{Name: "test"}, at) },
	}
	res := c.Run(context.Background(), []*target.Pod{{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, From: []string{pod.Name}, Object: pod}})
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("capture: %v", res[0].Err)
	}
	if res[0].Result.Err != nil {
		t.Fatalf("bundle: %v", res[0].Result.Err)
	}
	return res[0].Result, kubetest.ReadTar(t, res[0].Result.Path, "b/")
}

// TestTransferKeys: the ephemeral container's agent/transfer.json has
// exactly agentrun.Transfer's keys, which the Docker sidecar's has too
// (shared/docker TestSidecarSession), whether the agent ran or not.
func TestTransferKeys(t *testing.T) {
	b, _ := json.Marshal(agentrun.Transfer{})
	var empty map[string]json.RawMessage
	json.Unmarshal(b, &empty)
	want := slices.Sorted(maps.Keys(empty))
	for _, ran := range []bool{true, false} {
		pod := livePod("shop")
		w := newLiveWorld(kubetest.Namespace("shop", nil), pod)
		if !ran {
			w.waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}
		}
		l := live.Ask(live.StepProcesses)
		l.Attacher = newFakeAgent(w)
		_, files := liveCapture(t, w, pod, l)
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(files[live.ArtifactTransfer]), &keys); err != nil {
			t.Fatalf("agent/transfer.json: %v", err)
		}
		if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
			t.Errorf("agent ran %t: keys %q, want agentrun.Transfer's %q", ran, got, want)
		}
		if string(keys["launcher"]) != `"`+agentrun.LauncherKubernetesEphemeral+`"` || string(keys["sidecar"]) != "null" || string(keys["ephemeral_container"]) == "null" {
			t.Errorf("agent ran %t: launcher %s, sidecar %s, ephemeral_container %s", ran, keys["launcher"], keys["sidecar"], keys["ephemeral_container"])
		}
	}
}
