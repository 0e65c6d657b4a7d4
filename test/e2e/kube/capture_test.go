//go:build e2e

package kubee2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestCaptureInitAndTwoContainers captures a pod with an init container, a
// busybox container and a distroless one, with a Service, a NetworkPolicy,
// a ConfigMap and a Secret around it, and checks the bundle with tar,
// sha256sum -c, jq and verify.
func TestCaptureInitAndTwoContainers(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	ctx := t.Context()
	const secretValue = "e2e-s3cr3t-never-in-a-bundle"
	if _, err := e.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": secretValue}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"mode": "e2e"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := NewPod("shop",
		corev1.Container{Name: "app", Image: BusyboxImage, Command: []string{"sh", "-c", "echo app says hello; echo mode=$MODE; exec sleep 3600"},
			Env: []corev1.EnvVar{
				{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "mode"}}},
				{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
			}},
		corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080"}},
	)
	pod.Labels = map[string]string{"app": "shop", "tier": "front"}
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"sh", "-c", "echo init container ran"}}}
	if _, err := e.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "front-only"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := e.CreatePod(t, ns, pod, 2*time.Minute)
	if _, err := e.WaitForLog(ctx, ns, "shop", "web", "webserver starting"); err != nil {
		t.Fatal(err)
	}
	// Wait for the EndpointSlice controller to list the pod.
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := e.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=shop"})
		return err == nil && len(l.Items) > 0 && len(l.Items[0].Endpoints) > 0, nil
	}); err != nil {
		t.Fatalf("no endpoint slice for service shop: %v", err)
	}

	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/shop", "--case", "IR-E2E", "--examiner", "E2E Tester"), 0)
	if !strings.HasPrefix(filepath.Base(b.Path), ns+"_shop-") {
		t.Errorf("bundle name %s does not start with %s_shop-", b.Path, ns)
	}
	if st, err := os.Stat(b.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode: %v %v, want 0600", st.Mode(), err)
	}
	kfOnlyFiles(t, dir, filepath.Base(b.Path))

	for _, f := range []string{
		"pod/pod.json", "pod/pod.yaml", "pod/describe.txt", "pod/events.json", "pod/pod-end.json",
		"containers/status.json", "logs/setup.log", "logs/app.log", "logs/web.log",
		"node/node.json", "serviceaccount.json", "references.json", "preflight.json", "preflight.txt",
		"services/shop.json", "services/shop.endpointslices.json", "networkpolicies/front-only.json",
		"custody.json", "manifest.json", "collection.log", "SHA256SUMS",
	} {
		if !b.Has(f) {
			t.Errorf("bundle has no %s", f)
		}
	}
	if b.Has("logs/app.previous.log") {
		t.Error("bundle has a previous log of a container that never restarted")
	}
	if got := b.File(t, "owners/chain.json"); strings.TrimSpace(got) != "[]" {
		t.Errorf("a bare pod's owners/chain.json = %q, want []", got)
	}
	for _, tc := range []struct{ file, filter, want string }{
		{"pod/pod.json", ".metadata.uid", string(running.UID)},
		{"pod/pod.json", ".kind", "Pod"},
		{"pod/pod.json", "[.spec.initContainers[].name, .spec.containers[].name] | join(\",\")", "setup,app,web"},
		{"containers/status.json", "[.[] | .type + \":\" + .name] | join(\",\")", "init:setup,regular:app,regular:web"},
		{"containers/status.json", "[.[] | select(.image_id | test(\"sha256:[0-9a-f]{64}\"))] | length", "3"},
		{"containers/status.json", "[.[] | select(.container_id | startswith(\"containerd://\"))] | length", "3"},
		{"pod/events.json", "[.items[].reason] | index(\"Scheduled\") != null", "true"},
		{"node/node.json", ".metadata.name", e.NodeName},
		{"serviceaccount.json", ".metadata.name", "default"},
		{"references.json", "[.secrets[].name] | join(\",\")", "db"},
		{"references.json", "[.configmaps[].name] | join(\",\")", "settings"},
		{"services/shop.endpointslices.json", ".items[0].endpoints[0].addresses[0]", running.Status.PodIP},
		{"custody.json", ".target.kind", "kubernetes-pod"},
		{"custody.json", ".target.id", string(running.UID)},
		{"custody.json", ".target.namespace", ns},
		{"custody.json", ".target.node", e.NodeName},
		{"custody.json", ".case + \"/\" + .examiner", "IR-E2E/E2E Tester"},
		{"custody.json", ".engine.kind", "kubernetes"},
		{"custody.json", ".engine.version", "v1.37.2"},
		{"custody.json", ".engine.extra.identity_source", "SelfSubjectReview"},
		{"custody.json", ".engine.host", e.Config.Host},
		{"custody.json", ".tool.version", kfTestVersion},
		{"custody.json", ".actions | length", "0"},
		{"custody.json", ".command_line | join(\" \") | contains(\"capture -n " + ns + " pod/shop\")", "true"},
		{"preflight.json", "[.checks[] | select(.status == \"cannot\")] | length", "0"},
		{"manifest.json", "[.artifacts[] | select(.path == \"logs/web.log\") | .producer] | .[0]", "kube.logs"},
	} {
		if got := b.JQ(t, tc.file, tc.filter); got != tc.want {
			t.Errorf("jq %q %s = %q, want %q", tc.filter, tc.file, got, tc.want)
		}
	}
	for file, want := range map[string]string{
		"logs/setup.log":   "init container ran",
		"logs/app.log":     "app says hello",
		"logs/web.log":     "webserver starting on :8080",
		"pod/describe.txt": "Init Containers:",
		"pod/pod.yaml":     "name: shop",
		"preflight.txt":    "Will collect:",
	} {
		if got := b.File(t, file); !strings.Contains(got, want) {
			t.Errorf("%s does not contain %q:\n%s", file, want, got)
		}
	}
	// Every log line carries the kubelet's RFC 3339 timestamp.
	for _, line := range strings.Split(strings.TrimSpace(b.File(t, "logs/app.log")), "\n") {
		ts, _, _ := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("log line %q does not start with a timestamp: %v", line, err)
		}
	}
	// No Secret value anywhere, in any file.
	if out, _ := grepTree(b.Root, secretValue); out != "" {
		t.Errorf("the Secret's value is in the bundle: %s", out)
	}
	// The pod object is the API server's bytes (compact JSON).
	if raw := b.File(t, "pod/pod.json"); strings.Contains(raw, "\n  ") || !strings.HasPrefix(raw, `{"kind":"Pod"`) {
		t.Errorf("pod.json is not the API server's compact JSON: %.80q", raw)
	}
}

// grepTree returns the files under dir that contain s.
func grepTree(dir, s string) (string, error) {
	var hits []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), s) {
			hits = append(hits, p)
		}
		return err
	})
	return strings.Join(hits, ", "), err
}

// TestCaptureCrashedContainer captures a container that crashed and
// restarted: the log of its previous run must be in the bundle.
func TestCaptureCrashedContainer(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	p := NewPod("crashy", corev1.Container{Name: "app", Image: WebserverImage, Args: []string{"-listen", ":8080", "-exit-after", "2s"}})
	if _, err := e.Client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := e.WaitForPod(ctx, ns, "crashy", ContainerRestarted("app", 1)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "crashy"), 0)
	prev := b.File(t, "logs/app.previous.log")
	for _, want := range []string{"webserver starting on :8080", "webserver exiting on purpose"} {
		if !strings.Contains(prev, want) {
			t.Errorf("logs/app.previous.log does not contain %q:\n%s", want, prev)
		}
	}
	if got := b.JQ(t, "containers/status.json", ".[0].restart_count >= 1 and .[0].status.lastState.terminated.exitCode == 3"); got != "true" {
		t.Errorf("status.json: restarts and last exit code 3: %s", got)
	}
	if !b.Has("logs/app.log") {
		t.Error("no current log")
	}
}

// TestCaptureDistroless captures a pod whose image is one static binary:
// nothing runs inside it, so it is captured like any other.
func TestCaptureDistroless(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	pod := e.CreatePod(t, ns, NewPod("distroless", corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080"}}), 2*time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := get(ctx, fmt.Sprintf("http://%s:8080/evidence-probe", pod.Status.PodIP)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitForLog(ctx, ns, "distroless", "web", "request GET /evidence-probe"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/distroless", "--format", "tar.gz"), 0)
	if got := b.File(t, "logs/web.log"); !strings.Contains(got, "request GET /evidence-probe") {
		t.Errorf("logs/web.log lacks the request:\n%s", got)
	}
	if got := b.JQ(t, "custody.json", ".target.image"); got != WebserverImage {
		t.Errorf("custody target image = %q, want %q", got, WebserverImage)
	}
	if got := b.JQ(t, "custody.json", ".target.image_digests | length"); got != "1" {
		t.Errorf("custody image digests: %s", got)
	}
}

// TestCaptureDeployment captures a Deployment's three replicas, once by
// deploy/NAME and once by -l: one bundle per pod and an index.
func TestCaptureDeployment(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	pods := kfDeployment(t, e, ns, "trio", 3)
	for _, tc := range []struct {
		name string
		args []string
		from string
	}{
		{"by workload", []string{"capture", "-n", ns, "deploy/trio", "--concurrency", "2"}, "deploy/trio"},
		{"by selector", []string{"capture", "-n", ns, "-l", "app=trio"}, "-l app=trio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "evidence")
			if err := os.Mkdir(out, 0o700); err != nil {
				t.Fatal(err)
			}
			r := kfRun(t, dir, e.Kubeconfig, append(tc.args, "--output-dir", "evidence")...)
			if r.Code != 0 {
				t.Fatalf("capture: %s", r)
			}
			bundles, index := kfBundles(t, dir, r)
			if len(bundles) != 3 || index == "" {
				t.Fatalf("bundles %q, index %q: want three and an index", bundles, index)
			}
			idx := kfReadIndex(t, index)
			if idx.Schema != "forensic-capture-index/v1" || idx.Summary.Pods != 3 || idx.Summary.Complete != 3 {
				t.Errorf("index summary %+v", idx.Summary)
			}
			seen := map[string]bool{}
			for _, p := range idx.Pods {
				seen[p.Pod] = true
				if p.Outcome != "complete" || strings.Join(p.SelectedBy, ",") != tc.from {
					t.Errorf("index entry %+v", p)
				}
			}
			for _, p := range pods {
				if !seen[p.Name] {
					t.Errorf("pod %s is not in the index", p.Name)
				}
			}
			for _, path := range bundles {
				b := kfOpen(t, path, true)
				if got := b.JQ(t, "owners/chain.json", "[.[] | .kind] | join(\",\")"); got != "ReplicaSet,Deployment" {
					t.Errorf("%s: owner chain %q, want ReplicaSet,Deployment", path, got)
				}
				if got := b.JQ(t, "owners/deployment_trio.json", ".spec.replicas"); got != "3" {
					t.Errorf("%s: deployment replicas %q", path, got)
				}
				name := b.JQ(t, "pod/pod.json", ".metadata.name")
				if got := b.File(t, "logs/main.log"); !strings.Contains(got, "replica "+name+" started") {
					t.Errorf("%s: log %q", path, got)
				}
				checkPodSource(t, e, ns, path, b, tc.from)
			}
		})
	}
}

// checkPodSource checks pod.json against the API server's own bytes: a pod
// selected by -l comes from a page of the pod list, its item byte for byte
// (found in the list kubectl reads) after the kind and apiVersion put in
// front; any other pod is the object a GET returns.
func checkPodSource(t *testing.T, e *Env, ns, path string, b *kfOpened, from string) {
	t.Helper()
	raw := b.File(t, "pod/pod.json")
	const head = `{"kind":"Pod","apiVersion":"v1",`
	if !strings.HasPrefix(raw, head) {
		t.Errorf("%s: pod.json starts %.40q, want %q", path, raw, head)
		return
	}
	desc := b.JQ(t, "manifest.json", `.artifacts[] | select(.path == "pod/pod.json") | .description`)
	if !strings.HasPrefix(from, "-l ") {
		if strings.Contains(desc, "pod list") {
			t.Errorf("%s: a pod named by %s came from a list: %s", path, from, desc)
		}
		return
	}
	if !strings.Contains(desc, "page of a pod list") {
		t.Errorf("%s: pod.json of a pod selected by %s: %s", path, from, desc)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	list, err := e.Kubectl(ctx, "get", "--raw", "/api/v1/namespaces/"+ns+"/pods?labelSelector="+strings.TrimPrefix(from, "-l "))
	if err != nil {
		t.Fatal(err)
	}
	// The replicas do not change once running: the item is as it was.
	if item := "{" + strings.TrimPrefix(raw, head); !strings.Contains(list, item) {
		t.Errorf("%s: pod.json is not an item of the pod list byte for byte:\n%.300s\nlist:\n%.300s", path, item, list)
	}
}

// TestCaptureOtherNamespace captures a pod in another namespace than the
// context's, with -n, with -A and a name, and with -A -l.
func TestCaptureOtherNamespace(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	label := "e2e-" + ns
	p := NewPod("elsewhere", corev1.Container{Name: "main", Image: BusyboxImage, Command: []string{"sh", "-c", "echo far away; exec sleep 3600"}})
	p.Labels = map[string]string{"forensic-e2e-run": label}
	e.CreatePod(t, ns, p, 2*time.Minute)
	for _, args := range [][]string{
		{"-n", ns, "elsewhere"},
		{"-A", "pod/elsewhere"},
		{"-A", "-l", "forensic-e2e-run=" + label},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, append([]string{"capture"}, args...)...), 0)
			if got := b.JQ(t, "custody.json", ".target.namespace + \"/\" + .target.name"); got != ns+"/elsewhere" {
				t.Errorf("captured %s", got)
			}
			if !strings.Contains(b.File(t, "logs/main.log"), "far away") {
				t.Error("log missing")
			}
		})
	}
}

// TestCaptureEphemeralContainer adds an ephemeral container with kubectl
// debug and captures the pod: the ephemeral container's log and status are
// in the bundle with the others.
func TestCaptureEphemeralContainer(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("debugged", corev1.Container{Name: "app", Image: WebserverImage, Args: []string{"-listen", ":8080"}}), 2*time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := e.Kubectl(ctx, "debug", "-n", ns, "debugged", "--image", BusyboxImage, "--image-pull-policy", "Never",
		"--target", "app", "--container", "dbg", "--profile", "general", "--", "sh", "-c", "echo from the debug container; exec sleep 3600"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitForPod(ctx, ns, "debugged", ContainerRunning("dbg")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitForLog(ctx, ns, "debugged", "dbg", "from the debug container"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "debugged"), 0)
	if got := b.File(t, "logs/dbg.log"); !strings.Contains(got, "from the debug container") {
		t.Errorf("logs/dbg.log = %q", got)
	}
	if got := b.JQ(t, "containers/status.json", "[.[] | .type + \":\" + .name] | join(\",\")"); got != "regular:app,ephemeral:dbg" {
		t.Errorf("containers: %s", got)
	}
	if got := b.JQ(t, "custody.json", ".actions | length"); got != "0" {
		t.Errorf("capture recorded %s actions: it changes nothing", got)
	}
}
