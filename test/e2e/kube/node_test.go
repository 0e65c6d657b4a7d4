//go:build e2e

package kubee2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// This file holds the node evidence tests: kubectl forensic capture
// --node and --checkpoint, which run a collector pod (the agent's node
// mode) on the node, in kube-system. The test node's kubelet authorizes by
// webhook (test/k8s/config/kubelet.yaml), rotates container logs at 10Mi
// and keeps 5 files; its state is under FORENSIC_K8S_DIR on this machine,
// so the node's own files are the oracle.

// nodeDir is the test node's state folder on this machine.
func nodeDir() string {
	if d := os.Getenv("FORENSIC_K8S_DIR"); d != "" {
		return d
	}
	return "/var/tmp/forensic-k8s"
}

// nodeCollectors lists the collector pods whose request names namespace ns.
func nodeCollectors(t *testing.T, e *Env, ns string) []string {
	t.Helper()
	list, err := e.Client.CoreV1().Pods("kube-system").List(context.WithoutCancel(t.Context()), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=forensic-node-collector"})
	if err != nil {
		t.Fatalf("listing collector pods: %v", err)
	}
	var out []string
	for _, p := range list.Items {
		for _, c := range p.Spec.Containers {
			if strings.Contains(strings.Join(c.Args, " "), `"namespace":"`+ns+`"`) && !slices.Contains(out, p.Name) {
				out = append(out, p.Name)
			}
		}
	}
	return out
}

// nodeNoCollectorLeft fails the test when a collector pod for ns is left.
func nodeNoCollectorLeft(t *testing.T, e *Env, ns string) {
	t.Helper()
	if left := nodeCollectors(t, e, ns); len(left) > 0 {
		t.Errorf("collector pods left in kube-system: %q", left)
	}
}

// lineNumbers returns the numbers of the "line N" entries of log text: CRI
// lines on the node (TIME stdout F line N ...), or kubectl logs
// --timestamps lines (TIME line N ...).
var lineNumber = regexp.MustCompile(`(?m)^\S+ (?:(?:stdout|stderr) [FP] )?line (\d+) `)

func lineNumbers(t *testing.T, text string) []int {
	t.Helper()
	var out []int
	for _, m := range lineNumber.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// readLog returns a log file's text, gunzipped when it is compressed.
func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return string(b)
}

// nodeLogLines reads the node's own log files of a container (the oracle).
func nodeLogLines(t *testing.T, dir string) ([]int, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no log files in %s: %v", dir, err)
	}
	var nums []int
	for _, f := range files {
		nums = append(nums, lineNumbers(t, readLog(t, f))...)
	}
	sort.Ints(nums)
	return nums, files
}

// TestNodeLogRotation: a container writes numbered lines until the kubelet
// rotated its log several times (and compressed and dropped some files);
// the bundle holds every line the node still has, exactly once, and more
// than kubectl logs returns.
func TestNodeLogRotation(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	// Six rounds of 11,000 lines of ~1 KB (11.5 MB), each above
	// containerLogMaxSize (10Mi), 11 s apart (the kubelet looks every
	// 10 s); then 500 lines in a fresh file (all kubectl logs shows), too
	// few to rotate during the capture.
	pad := strings.Repeat("x", 1000)
	script := fmt.Sprintf(`i=0; for r in 1 2 3 4 5 6; do seq $i $((i+10999)) | awk '{print "line " $1 " %s"}'; i=$((i+11000)); sleep 11; done; sleep 12; seq 66000 66499 | awk '{print "line " $1 " %s"}'; echo done-writing; exec sleep 3600`, pad, pad)
	pod := e.CreatePod(t, ns, NewPod("rotor", kfBusybox(script)), 2*time.Minute)
	kfWaitLogEnd(t, e, ns, "rotor", "main", "done-writing")
	logDir := filepath.Join(nodeDir(), "pod-logs", ns+"_rotor_"+string(pod.UID), "main")
	before, files := nodeLogLines(t, logDir)
	if len(files) < 3 {
		t.Fatalf("the kubelet kept %d log files (%q), want at least 3: did it rotate?", len(files), files)
	}

	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/rotor", "--node"), 0)
	oracle, _ := nodeLogLines(t, logDir)
	if !slices.Equal(before, oracle) {
		t.Fatalf("the node's log files changed during the test: %d lines before, %d after", len(before), len(oracle))
	}
	primary := strings.Fields(b.JQ(t, "node/report.json", `[.containers[0].logs.files[] | select(.primary) | .artifact] | join(" ")`))
	if len(primary) != len(files) {
		t.Errorf("primary log artifacts %q, node files %q", primary, files)
	}
	var got []int
	for _, a := range primary {
		got = append(got, lineNumbers(t, readLog(t, filepath.Join(b.Root, a)))...)
	}
	sort.Ints(got)
	if !slices.Equal(got, oracle) {
		t.Errorf("bundle has %d lines, the node %d: they differ (first bundle %v, first node %v)", len(got), len(oracle), got[:min(3, len(got))], oracle[:min(3, len(oracle))])
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("line %d is in the bundle twice", got[i])
			break
		}
	}
	api := lineNumbers(t, b.File(t, "logs/main.log"))
	if len(api) != 500 || len(got) <= len(api) {
		t.Errorf("node evidence holds %d lines, kubectl logs %d: want more", len(got), len(api))
	}
	t.Logf("lines: node files %d (in %d files), bundle %d, kubectl logs %d; oldest kept line %d of 66500", len(oracle), len(files), len(got), len(api), oracle[0])
	nodeNoCollectorLeft(t, e, ns)
}

// TestNodeWritableLayer: a container adds a file, changes one shipped in
// the image and deletes another; the layer tar (read with GNU tar) and
// diff.json show exactly those, the deletion as a whiteout.
func TestNodeWritableLayer(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveTools(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("changer", kfBusybox(`echo added > /tmp/added; echo intruder:x:0:0::/:/bin/sh >> /etc/passwd; rm /etc/group; echo changed; exec sleep 3600`)), 2*time.Minute)
	kfWaitLogEnd(t, e, ns, "changer", "main", "changed")
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "changer", "--node", "-c", "main"), 0)
	layer := filepath.Join(b.Root, "node/main/layer.tar")
	members := tarMembers(t, layer)
	for _, want := range []string{"tmp/added", "etc/passwd", "etc/.wh.group"} {
		if !slices.Contains(members, want) {
			t.Errorf("layer.tar lacks %s; it has %q", want, members)
		}
	}
	root := tarExtract(t, layer, "etc/passwd", "tmp/added")
	if p, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !strings.HasSuffix(string(p), "intruder:x:0:0::/:/bin/sh\n") || !strings.HasPrefix(string(p), "root:x:0:0:") {
		t.Errorf("etc/passwd in the layer is %q, want the image's with the added line", p)
	}
	// What the kubelet and runtime add to every container.
	runtime := regexp.MustCompile(`^/(etc/(hostname|hosts|resolv\.conf)|dev(/.*)?|var(/run(/secrets(/.*)?)?)?|etc|tmp)$`)
	var diff []string
	for _, line := range strings.Split(b.JQ(t, "node/main/diff.json", `.[] | "\(.kind) \(.path)"`), "\n") {
		if _, p, _ := strings.Cut(line, " "); !runtime.MatchString(p) {
			diff = append(diff, line)
		}
	}
	sort.Strings(diff)
	want := []string{"added /tmp/added", "changed /etc/passwd", "deleted /etc/group"}
	if !slices.Equal(diff, want) {
		t.Errorf("diff.json (without the runtime's own files) = %q, want %q", diff, want)
	}
	if got := b.JQ(t, "node/main/diff.json", `.[] | select(.path=="/etc") | .kind`); got != "changed" {
		t.Errorf("/etc kind = %q, want changed", got)
	}
}

// TestNodeCheckpoint: a socket-less container's archive arrives whole
// (tar lists CRIU's images), with the SHA-256 of the file on the node,
// which is kept with --keep-on-node and gone otherwise; a container with a
// listening socket gives CRIU's error, and everything else is still
// collected (exit 2).
func TestNodeCheckpoint(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("sleeper", corev1.Container{Name: "main", Image: BusyboxImage, Command: []string{"sleep", "3600"}}), 2*time.Minute)
	e.CreatePod(t, ns, NewPod("listener", corev1.Container{Name: "main", Image: WebserverImage, Args: []string{"-listen", ":8080"}}), 2*time.Minute)

	t.Run("kept on the node", func(t *testing.T) {
		dir := t.TempDir()
		b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "sleeper", "--checkpoint", "--keep-on-node"), 0)
		onNode := b.JQ(t, "node/collector.json", ".checkpoints[0].path")
		t.Cleanup(func() { os.Remove(onNode) })
		archive := filepath.Join(b.Root, "checkpoint/main.tar")
		members := tarMembers(t, archive)
		for _, want := range []string{"checkpoint/inventory.img", "config.dump", "spec.dump"} {
			if !slices.Contains(members, want) {
				t.Errorf("checkpoint/main.tar lacks %s (%d members)", want, len(members))
			}
		}
		sum := kfSHA256(t, onNode)
		if got := kfSHA256(t, archive); got != sum {
			t.Errorf("archive in the bundle %s, on the node %s", got, sum)
		}
		if got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path=="checkpoint/main.tar") | .sha256`); got != sum {
			t.Errorf("manifest SHA-256 %s, node file %s", got, sum)
		}
		if !strings.Contains(b.JQ(t, "custody.json", `.actions[].detail`), "written on the node and kept there (--keep-on-node)") {
			t.Errorf("custody does not say the archive was kept:\n%s", b.File(t, "custody.json"))
		}
	})

	t.Run("deleted from the node", func(t *testing.T) {
		dir := t.TempDir()
		b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "sleeper", "--checkpoint"), 0)
		onNode := b.JQ(t, "node/collector.json", ".checkpoints[0].path")
		if _, err := os.Stat(onNode); !errors.Is(err, os.ErrNotExist) {
			os.Remove(onNode)
			t.Errorf("checkpoint archive %s is still on the node (%v)", onNode, err)
		}
		if !slices.Contains(tarMembers(t, filepath.Join(b.Root, "checkpoint/main.tar")), "checkpoint/inventory.img") {
			t.Error("checkpoint/main.tar lacks checkpoint/inventory.img")
		}
		if !strings.Contains(b.JQ(t, "custody.json", `.actions[].what`), "checkpointed container main") {
			t.Errorf("custody lacks the checkpoint:\n%s", b.File(t, "custody.json"))
		}
	})

	t.Run("listening socket", func(t *testing.T) {
		dir := t.TempDir()
		b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "listener", "--checkpoint"), 2)
		got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path=="checkpoint/main.tar") | .error`)
		// The kubelet names CRIU's log on the node; the collector streams
		// it, and its Error lines go into the manifest.
		for _, want := range []string{"checkpointing container main of pod " + ns + "/listener", "criu failed", "CRIU's log says: (", ") Error (criu/", "Dumping FAILED"} {
			if !strings.Contains(got, want) {
				t.Errorf("checkpoint error %q lacks %q", got, want)
			}
		}
		if len(b.Manifest.Incomplete) != 1 {
			t.Errorf("incomplete reasons %q, want only the checkpoint", b.Manifest.Incomplete)
		}
		for _, f := range []string{"node/report.json", "node/main/cri-container-status.json", "node/main/layer.tar", "logs/main.log", "pod/pod.json", "checkpoint/main.criu-dump.log"} {
			if !b.Has(f) {
				t.Errorf("bundle lacks %s: the rest must still be collected", f)
			}
		}
	})
	nodeNoCollectorLeft(t, e, ns)
}

// TestNodeDistrolessAndNonRoot: a distroless target and a non-root one,
// selected by label in every namespace (-A -l): one collector pod with a
// container for each, each pod's node evidence in its own bundle.
func TestNodeDistrolessAndNonRoot(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	web := NewPod("distroless", corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080"}})
	nobody := NewPod("nobody", corev1.Container{Name: "app", Image: BusyboxImage, Command: []string{"sh", "-c", "echo hello from nobody > /tmp/mine; echo started; exec sleep 3600"},
		SecurityContext: &corev1.SecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}})
	for _, p := range []*corev1.Pod{web, nobody} {
		p.Labels = map[string]string{"tier": ns}
		e.CreatePod(t, ns, p, 2*time.Minute)
	}
	kfWaitLogEnd(t, e, ns, "nobody", "app", "started")
	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-A", "-l", "tier="+ns, "--node", "--output-dir", dir)
	if r.Code != 0 {
		t.Fatalf("capture: %s", r)
	}
	bundles, _ := kfBundles(t, dir, r)
	if len(bundles) != 2 {
		t.Fatalf("bundles %q, want 2", bundles)
	}
	collectors := map[string]bool{}
	for _, path := range bundles {
		b := kfOpen(t, path, true)
		c := b.JQ(t, "node/collector.json", ".container")
		name := b.JQ(t, "node/collector.json", ".name")
		collectors[name] = true
		ctr := "web"
		if strings.Contains(path, "_nobody-") {
			ctr = "app"
			members := tarMembers(t, filepath.Join(b.Root, "node/app/layer.tar"))
			if !slices.Contains(members, "tmp/mine") {
				t.Errorf("non-root target's layer lacks tmp/mine: %q", members)
			}
		}
		for _, f := range []string{"node/" + ctr + "/layer.tar", "node/" + ctr + "/diff.json", "node/" + ctr + "/oci-spec.json", "node/" + ctr + "/cri-container-status.json", "node/cri-pod-sandbox-status.json", "node/" + ctr + "/logs/0.log"} {
			if !b.Has(f) {
				t.Errorf("%s lacks %s (collector container %s)", filepath.Base(path), f, c)
			}
		}
	}
	if len(collectors) != 1 {
		t.Errorf("collector pods %v, want one for the node", collectors)
	}
	nodeNoCollectorLeft(t, e, ns)
}

// nodeApplyRBAC applies forensic-capture.yaml and forensic-node-evidence.yaml.
func nodeApplyRBAC(t *testing.T, e *Env) {
	t.Helper()
	kfBinary(t)
	if _, err := e.Kubectl(t.Context(), "apply", "-f", filepath.Join(kfRepo, "deploy/rbac/forensic-capture.yaml"), "-f", filepath.Join(kfRepo, "deploy/rbac/forensic-node-evidence.yaml")); err != nil {
		t.Fatal(err)
	}
}

// nodeBindInKubeSystem binds ClusterRole role to ns/sa in kube-system,
// removed when the test ends.
func nodeBindInKubeSystem(t *testing.T, e *Env, role, ns, sa string) {
	t.Helper()
	name := "e2e-" + ns + "-" + sa + "-" + role
	_, err := e.Client.RbacV1().RoleBindings("kube-system").Create(t.Context(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.Client.RbacV1().RoleBindings("kube-system").Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// TestNodeWithMinimalRole: the shipped roles are enough for --node (the
// agent then finds the kubelet's folders itself) and, with the checkpoint
// role, for --checkpoint on a Deployment's pods; less gives the preflight
// table, a refusal before anything privileged is created, the rest of the
// capture, and exit 2.
func TestNodeWithMinimalRole(t *testing.T) {
	t.Parallel()
	e := Require(t)
	nodeApplyRBAC(t, e)
	ns := e.Namespace(t)
	kfDeployment(t, e, ns, "guarded", 1)
	dir := t.TempDir()

	t.Run("minimal role", func(t *testing.T) {
		kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "responder")
		kfBind(t, e, "forensic-capture", ns, "responder", ns)
		kfBind(t, e, "forensic-capture-nodes", ns, "responder", "")
		nodeBindInKubeSystem(t, e, "forensic-node-evidence", ns, "responder")
		b := kfOneBundle(t, dir, kfRun(t, dir, kubeconfig, "capture", "-n", ns, "deploy/guarded", "--node"), 0)
		if got := b.JQ(t, "node/collector.json", ".kubelet.error"); !strings.Contains(got, "configz not read") {
			t.Errorf("kubelet.error = %q: without nodes/proxy configz must not be read", got)
		}
		if got := b.JQ(t, "node/report.json", ".pod_logs_dir"); got != filepath.Join(nodeDir(), "pod-logs") {
			t.Errorf("the agent found pod_logs_dir %q, want the kubelet's %s", got, filepath.Join(nodeDir(), "pod-logs"))
		}
		kfBind(t, e, "forensic-node-checkpoint", ns, "responder", "")
		pre := kfRun(t, dir, kubeconfig, "preflight", "-n", ns, "deploy/guarded", "--node", "--checkpoint")
		if pre.Code != 0 || !strings.Contains(pre.Stdout, "node stage: one collector pod per node in namespace kube-system") {
			t.Errorf("preflight: %s", pre)
		}
		b = kfOneBundle(t, dir, kfRun(t, dir, kubeconfig, "capture", "-n", ns, "deploy/guarded", "--checkpoint"), 0)
		if !b.Has("checkpoint/main.tar") {
			t.Error("bundle lacks checkpoint/main.tar")
		}
	})

	t.Run("less than the role", func(t *testing.T) {
		kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "intern")
		kfBind(t, e, "forensic-capture", ns, "intern", ns)
		kfBind(t, e, "forensic-capture-nodes", ns, "intern", "")
		pre := kfRun(t, dir, kubeconfig, "preflight", "-n", ns, "deploy/guarded", "--node", "--checkpoint")
		if pre.Code != 2 {
			t.Fatalf("preflight: %s; want exit 2", pre)
		}
		for _, want := range []string{"Cannot collect: node-evidence, checkpoint", "may not create pods -n kube-system", "may not create nodes/proxy (cluster-wide)", "forensic-node-evidence"} {
			if !strings.Contains(pre.Stdout, want) {
				t.Errorf("preflight lacks %q:\n%s", want, pre.Stdout)
			}
		}
		b := kfOneBundle(t, dir, kfRun(t, dir, kubeconfig, "capture", "-n", ns, "deploy/guarded", "--node", "--checkpoint"), 2)
		if got := b.JQ(t, "node/collector.json", ".state + \" \" + .error"); !strings.Contains(got, "not created refused before anything was created") {
			t.Errorf("collector.json: %q", got)
		}
		if strings.Contains(b.File(t, "collection.log"), "created node collector pod") {
			t.Error("a collector pod was created without permission")
		}
		for _, f := range []string{"pod/pod.json", "logs/main.log", "node/node.json"} {
			if !b.Has(f) {
				t.Errorf("bundle lacks %s: the rest of the capture must still run", f)
			}
		}
	})
	nodeNoCollectorLeft(t, e, ns)
}

// TestNodeInterrupted: Ctrl-C while the node stage runs deletes the
// collector pod and leaves a readable bundle marked incomplete.
func TestNodeInterrupted(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("victim", kfBusybox("echo up; exec sleep 3600")), 2*time.Minute)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), kfBinary(t), "capture", "-n", ns, "victim", "--node")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + e.Kubeconfig}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		seen = nodeCollectors(t, e, ns)
		return len(seen) > 0, nil
	})
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("no collector pod appeared: %v\n%s", err, errOut.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	r := kfResult{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		r.Code = ee.ExitCode()
	}
	for _, name := range seen {
		if _, err := e.Client.CoreV1().Pods("kube-system").Get(context.WithoutCancel(t.Context()), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("collector pod %s still there after Ctrl-C (%v)", name, err)
		}
	}
	b := kfOneBundle(t, dir, r, 2)
	if !strings.Contains(strings.Join(b.Manifest.Incomplete, "\n"), "interrupted") {
		t.Errorf("incomplete reasons %q do not say it was interrupted", b.Manifest.Incomplete)
	}
	if !strings.Contains(b.JQ(t, "custody.json", `.actions[].detail`), "Deleted at") {
		t.Errorf("custody does not record the collector's deletion:\n%s", b.File(t, "custody.json"))
	}
}

// TestNodeCollectorCannotStart: a collector whose image the node cannot
// run fails in bounded time with an error naming the node and the image;
// the collector pod is deleted and the rest of the capture is kept.
func TestNodeCollectorCannotStart(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("target", kfBusybox("echo up; exec sleep 3600")), 2*time.Minute)
	dir := t.TempDir()
	start := time.Now()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "target", "--node", "--agent-image", "forensic/agent:missing-e2e"), 2)
	if took := time.Since(start); took > 2*time.Minute {
		t.Errorf("the capture took %s", took)
	}
	got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path=="node/report.json") | .error`)
	for _, want := range []string{"cannot run image forensic/agent:missing-e2e on node " + e.NodeName, "ctr -n k8s.io images import"} {
		if !strings.Contains(got, want) {
			t.Errorf("node/report.json error %q lacks %q", got, want)
		}
	}
	if !b.Has("logs/main.log") || !b.Has("pod/pod.json") {
		t.Error("the rest of the capture is missing")
	}
	nodeNoCollectorLeft(t, e, ns)
}
