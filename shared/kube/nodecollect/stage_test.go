package nodecollect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
	"github.com/forensic-tools/forensic/shared/kube/podcollect"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// nodeWorld is a fake cluster where the kubelet runs every collector
// container at once (a reactor on pod creation), and nodeAgent plays the
// agent's node mode behind the attach.
type nodeWorld struct {
	*kubetest.FakeAPI
	mu      sync.Mutex
	created []*corev1.Pod
	// hold keeps the containers Waiting (ContainerCreating).
	hold bool
}

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletNotReady"}}}}
}

func newNodeWorld(objs ...runtime.Object) *nodeWorld {
	w := &nodeWorld{FakeAPI: kubetest.NewFakeAPI(objs...)}
	w.CS.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		w.mu.Lock()
		defer w.mu.Unlock()
		p.Name = fmt.Sprintf("%s%d", p.GenerateName, len(w.created))
		p.UID = types.UID("uid-" + p.Name)
		for _, c := range p.Spec.Containers {
			st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "forensic/agent@sha256:" + strings.Repeat("e", 64),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}
			if w.hold {
				st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			}
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
		}
		w.created = append(w.created, p.DeepCopy())
		return true, p, w.CS.Tracker().Create(podsResource, p, p.Namespace)
	})
	return w
}

// Attach plays forensic-agent node: start byte, the pod's report and one
// log file, END; then the container terminates.
func (w *nodeWorld) Attach(ctx context.Context, ns, pod, container string, stdin io.Reader, stdout, stderr io.Writer) (string, error) {
	b := make([]byte, 1)
	if n, _ := stdin.Read(b); n != 1 {
		return live.TransportWebSocket, nil
	}
	obj, err := w.CS.Tracker().Get(podsResource, ns, pod)
	if err != nil {
		return "", err
	}
	p := obj.(*corev1.Pod).DeepCopy()
	var req nodecollect.Request
	for i, c := range p.Spec.Containers {
		if c.Name == container {
			json.Unmarshal([]byte(c.Args[2]), &req)
			p.Status.ContainerStatuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
		}
	}
	sw, err := stream.NewWriter(stdout)
	if err != nil {
		return "", err
	}
	for _, a := range [][2]string{
		{"agent/info.json", `{"mode":"node"}`},
		{"node/" + req.Containers[0].Name + "/logs/0.log", "line of " + req.Pod + "\n"},
		{"node/report.json", `{"pod":"` + req.Pod + `"}`},
	} {
		aw, _ := sw.Open(a[0], nil)
		aw.Write([]byte(a[1]))
		aw.Finish(nil, nil)
	}
	if err := sw.Close(); err != nil {
		return "", err
	}
	return live.TransportWebSocket, w.CS.Tracker().Update(podsResource, p, ns)
}

func capture(t *testing.T, ctx context.Context, w *nodeWorld, opts *nodecollect.Options, pods ...*corev1.Pod) ([]podcollect.PodResult, *podcollect.Capture) {
	t.Helper()
	dir := t.TempDir()
	opts.Attacher = w
	opts.StartTimeout = 2 * time.Second
	c := &podcollect.Capture{
		Cluster: w.Cluster(), Options: preflight.Options{Node: opts}, Concurrency: 4,
		Selection: target.Selection{Namespace: "shop"},
		Open: func(p *target.Pod, at time.Time) (*evidence.Writer, error) {
			return evidence.Create(filepath.Join(dir, p.Name+".tar"), evidence.Options{Root: "b", Format: evidence.Tar})
		},
		Custody: func(at time.Time) evidence.Custody { return evidence.NewCustody(evidence.Tool{Name: "test"}, at) },
	}
	var tp []*target.Pod
	for _, p := range pods {
		tp = append(tp, &target.Pod{Namespace: p.Namespace, Name: p.Name, UID: p.UID, From: []string{p.Name}, Object: p})
	}
	return c.Run(ctx, tp), c
}

func remaining(t *testing.T, w *nodeWorld) []string {
	t.Helper()
	list, err := w.CS.CoreV1().Pods(nodecollect.DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}

// TestNodeStage: one collector pod per node with one container per target
// pod, each pod's stream in its own bundle, the collector deleted after;
// a NotReady node's pod gets a clear error naming the node, and the others
// are still captured.
func TestNodeStage(t *testing.T) {
	a := kubetest.NewPod("shop", "a").Node("n1").Container("app", 0).P()
	b := kubetest.NewPod("shop", "b").Node("n1").Container("web", 0).P()
	c := kubetest.NewPod("shop", "c").Node("n2").Container("db", 0).P()
	w := newNodeWorld(a, b, c, node("n1", corev1.ConditionTrue), node("n2", corev1.ConditionFalse), kubetest.Namespace("kube-system", nil))
	res, cap := capture(t, t.Context(), w, &nodecollect.Options{Tool: "test"}, a, b, c)
	if len(w.created) != 1 {
		t.Fatalf("created %d collector pods, want 1 (for n1 only)", len(w.created))
	}
	cp := w.created[0]
	if cp.Spec.NodeName != "n1" || !cp.Spec.HostPID || len(cp.Spec.Containers) != 2 || cp.Namespace != "kube-system" {
		t.Errorf("collector pod: node %q hostPID %v containers %d namespace %q", cp.Spec.NodeName, cp.Spec.HostPID, len(cp.Spec.Containers), cp.Namespace)
	}
	if m := cp.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != "/host" || !m[0].ReadOnly {
		t.Errorf("mounts %+v, want only / read-only at /host (no checkpoint asked)", m)
	}
	if args := strings.Join(cp.Spec.Containers[1].Args, " "); !strings.Contains(args, `"pod":"b"`) || !strings.Contains(args, "--wait-stdin --host-root /host") {
		t.Errorf("pod-1 args %s", args)
	}
	if left := remaining(t, w); len(left) != 0 || len(cap.NodeProblems) != 0 {
		t.Errorf("collector pods left %q, problems %v", left, cap.NodeProblems)
	}
	for i, name := range []string{"a", "b"} {
		files := kubetest.ReadTar(t, res[i].Result.Path, "b/")
		if !strings.Contains(files["node/"+res[i].Pod.Object.Spec.Containers[0].Name+"/logs/0.log"], "line of "+name) || files["node/report.json"] == "" || files["node/agent/transfer.json"] == "" {
			t.Errorf("pod %s bundle lacks its node evidence: %v", name, keys(files))
		}
		if !strings.Contains(files["custody.json"], "created node collector pod kube-system/forensic-node-0") || !strings.Contains(files["custody.json"], "hostPID") {
			t.Errorf("pod %s custody lacks the collector pod:\n%s", name, files["custody.json"])
		}
		if !res[i].Result.Manifest.Complete {
			t.Errorf("pod %s incomplete: %q", name, res[i].Result.Manifest.Incomplete)
		}
	}
	files := kubetest.ReadTar(t, res[2].Result.Path, "b/")
	if res[2].Result.Manifest.Complete || !strings.Contains(files["manifest.json"], "node n2 is not Ready") {
		t.Errorf("pod c on the NotReady node: complete %v, manifest:\n%s", res[2].Result.Manifest.Complete, files["manifest.json"])
	}
}

// TestNodeStageRefused: a node namespace whose PodSecurity is not
// privileged, or no permission to create pods there, refuses the stage
// before anything is created; the rest of the capture still runs.
func TestNodeStageRefused(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		labels     map[string]string
		deny       string
	}{
		{name: "podsecurity", labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, want: `enforces PodSecurity \"baseline\"`},
		{name: "rbac", deny: "create pods", want: "may not create pods -n kube-system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := kubetest.NewPod("shop", "a").Node("n1").Container("app", 0).P()
			w := newNodeWorld(a, node("n1", corev1.ConditionTrue), kubetest.Namespace("kube-system", tc.labels))
			if tc.deny != "" {
				w.Deny[tc.deny] = true
			}
			res, _ := capture(t, t.Context(), w, &nodecollect.Options{Checkpoint: true}, a)
			if len(w.created) != 0 {
				t.Fatalf("a collector pod was created: %v", w.created[0].Name)
			}
			files := kubetest.ReadTar(t, res[0].Result.Path, "b/")
			if res[0].Result.Manifest.Complete || !strings.Contains(files["manifest.json"], tc.want) || !strings.Contains(files["manifest.json"], "refused before anything was created") {
				t.Errorf("manifest does not give the refusal %q:\n%s", tc.want, files["manifest.json"])
			}
			if files["pod/pod.json"] == "" || !regexp.MustCompile(`node-evidence +CANNOT`).MatchString(files["preflight.txt"]) {
				t.Errorf("the rest of the capture or the preflight row is missing:\n%s", files["preflight.txt"])
			}
		})
	}
}

// TestNodeStageInterrupted: Ctrl-C while the collector pod starts deletes
// it, and the bundle is closed, marked incomplete.
func TestNodeStageInterrupted(t *testing.T) {
	a := kubetest.NewPod("shop", "a").Node("n1").Container("app", 0).P()
	w := newNodeWorld(a, node("n1", corev1.ConditionTrue), kubetest.Namespace("kube-system", nil))
	w.hold = true
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for {
			w.mu.Lock()
			n := len(w.created)
			w.mu.Unlock()
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, _ := capture(t, ctx, w, &nodecollect.Options{}, a)
	if len(w.created) != 1 {
		t.Fatalf("created %d collector pods, want 1", len(w.created))
	}
	if left := remaining(t, w); len(left) != 0 {
		t.Errorf("collector pods left after Ctrl-C: %q", left)
	}
	if res[0].Result.Path == "" || res[0].Result.Manifest.Complete {
		t.Errorf("bundle %q complete %v, want a readable incomplete bundle", res[0].Result.Path, res[0].Result.Manifest.Complete)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
