package kubee2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Images that `test/k8s/cluster images` imports into the node. There is no
// registry: pods use them with the pull policy Never.
const (
	// BusyboxImage is a full busybox-static userland with /bin/sh.
	BusyboxImage = "forensic-test/busybox:1.0"
	// WebserverImage is distroless: the static test/images/webserver binary
	// alone at /webserver, its entrypoint; no shell, no tools.
	WebserverImage = "forensic-test/webserver:1.0"
	// PauseImage is the sandbox image of every pod (test/images/pause).
	PauseImage = "forensic-test/pause:1.0"
)

// Env is the test cluster as the tests see it: clients built from the
// kubeconfig in $KUBECONFIG, and the name of its one node.
type Env struct {
	// Kubeconfig is the path of the kubeconfig file.
	Kubeconfig string
	// Config is the REST configuration built from Kubeconfig.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// NodeName is the name of the cluster's only node.
	NodeName string
	// KubectlPath is the kubectl binary: $KUBECTL, else kubectl on $PATH.
	KubectlPath string
}

var (
	envOnce sync.Once
	envVal  *Env
	errEnv  error
)

// Load connects to the cluster named by $KUBECONFIG and checks that it has
// exactly one node and that the node is Ready.
func Load(ctx context.Context) (*Env, error) {
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		return nil, errors.New("KUBECONFIG is not set: start the node with 'test/k8s/cluster up' and export the KUBECONFIG line it prints (or run test/k8s/e2e.sh)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", path, err)
	}
	cfg.Timeout = 30 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes of %s (is the node up? 'test/k8s/cluster up'): %w", cfg.Host, err)
	}
	if len(nodes.Items) != 1 {
		return nil, fmt.Errorf("cluster %s has %d nodes, the tests expect exactly one", cfg.Host, len(nodes.Items))
	}
	node := nodes.Items[0]
	if !nodeReady(&node) {
		return nil, fmt.Errorf("node %s of %s is not Ready", node.Name, cfg.Host)
	}
	kubectl := os.Getenv("KUBECTL")
	if kubectl == "" {
		kubectl = "kubectl"
	}
	if kubectl, err = exec.LookPath(kubectl); err != nil {
		return nil, fmt.Errorf("finding kubectl (set KUBECTL to its path): %w", err)
	}
	return &Env{Kubeconfig: path, Config: cfg, Client: client, NodeName: node.Name, KubectlPath: kubectl}, nil
}

// Require returns the cluster shared by all tests of the binary, loading it
// once. A cluster that cannot be loaded fails the test: it is never a skip.
func Require(t testing.TB) *Env {
	t.Helper()
	envOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		envVal, errEnv = Load(ctx)
	})
	if errEnv != nil {
		t.Fatalf("no test cluster: %v", errEnv)
	}
	return envVal
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Namespace creates a namespace named after the test, unique to this run,
// and deletes it (without waiting) when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	name := "e2e-" + base + "-" + strings.ToLower(rand.Text()[:6])
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"forensic-e2e": "true"}}}
	if _, err := e.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.Client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// NewPod returns a pod with the given containers that never pulls images
// (there is no registry) and stops within a second when deleted.
func NewPod(name string, containers ...corev1.Container) *corev1.Pod {
	grace := int64(1)
	for i := range containers {
		if containers[i].ImagePullPolicy == "" {
			containers[i].ImagePullPolicy = corev1.PullNever
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers:                    containers,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  new(false),
		},
	}
}

// CreatePod creates pod in namespace ns and waits until all its containers
// run. It fails the test when the pod does not get there within timeout.
func (e *Env) CreatePod(t testing.TB, ns string, pod *corev1.Pod, timeout time.Duration) *corev1.Pod {
	t.Helper()
	if _, err := e.Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s/%s: %v", ns, pod.Name, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	got, err := e.WaitForPod(ctx, ns, pod.Name, PodRunning)
	if err != nil {
		t.Fatalf("waiting for pod %s/%s to run: %v", ns, pod.Name, err)
	}
	return got
}

// PodCondition reports whether a pod is where a test waits for it to be.
// An error stops the wait: the pod will never get there.
type PodCondition func(*corev1.Pod) (bool, error)

// WaitForPod polls pod ns/name every half second until cond holds, cond
// fails or ctx ends. On a timeout the error describes the pod's last state.
func (e *Env) WaitForPod(ctx context.Context, ns, name string, cond PodCondition) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pod, err := e.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("getting pod %s/%s: %w", ns, name, err)
		}
		last = pod
		return cond(pod)
	})
	if err != nil && last != nil && ctx.Err() != nil {
		return last, fmt.Errorf("%w; last state: %s", err, DescribePod(last))
	}
	return last, err
}

// PodRunning holds when the pod runs and every regular container is
// running; it fails when the pod has ended.
func PodRunning(pod *corev1.Pod) (bool, error) {
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("pod %s/%s ended: %s", pod.Namespace, pod.Name, DescribePod(pod))
	case corev1.PodRunning:
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.State.Running == nil {
				return false, nil
			}
		}
		return len(pod.Status.ContainerStatuses) == len(pod.Spec.Containers), nil
	}
	return false, nil
}

// ContainerRunning holds when the named container of the pod, regular or
// ephemeral, is running.
func ContainerRunning(container string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		cs := FindContainerStatus(pod, container)
		if cs == nil {
			return false, nil
		}
		// An ephemeral container never restarts: once ended, it stays so.
		if t := cs.State.Terminated; t != nil && isEphemeral(pod, container) {
			return false, fmt.Errorf("ephemeral container %s ended with exit code %d: %s", container, t.ExitCode, t.Message)
		}
		return cs.State.Running != nil, nil
	}
}

func isEphemeral(pod *corev1.Pod, container string) bool {
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == container {
			return true
		}
	}
	return false
}

// ContainerRestarted holds once the named container has restarted at least
// n times and runs or waits again.
func ContainerRestarted(container string, n int32) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		cs := FindContainerStatus(pod, container)
		return cs != nil && cs.RestartCount >= n && cs.LastTerminationState.Terminated != nil, nil
	}
}

// FindContainerStatus returns the status of the named container, regular,
// init or ephemeral, or nil while the pod reports none.
func FindContainerStatus(pod *corev1.Pod, container string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == container {
				return &list[i]
			}
		}
	}
	return nil
}

// DescribePod summarises a pod's phase and container states for messages.
func DescribePod(pod *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", pod.Status.Phase)
	if pod.Status.Message != "" {
		fmt.Fprintf(&b, " (%s)", pod.Status.Message)
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, cs := range list {
			switch {
			case cs.State.Waiting != nil:
				fmt.Fprintf(&b, "; %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				fmt.Fprintf(&b, "; %s terminated: exit %d %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
			case cs.State.Running != nil:
				fmt.Fprintf(&b, "; %s running (restarts %d)", cs.Name, cs.RestartCount)
			}
		}
	}
	return b.String()
}

// Logs returns the log of a container of pod ns/name; previous selects the
// container's last terminated run.
func (e *Env) Logs(ctx context.Context, ns, pod, container string, previous bool) (string, error) {
	raw, err := e.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("reading logs of %s/%s container %s (previous %t): %w", ns, pod, container, previous, err)
	}
	return string(raw), nil
}

// WaitForLog polls a container's log until it contains want, and returns
// the log.
func (e *Env) WaitForLog(ctx context.Context, ns, pod, container, want string) (string, error) {
	var last string
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		log, err := e.Logs(ctx, ns, pod, container, false)
		if err != nil {
			return false, nil // the container may not have written yet
		}
		last = log
		return strings.Contains(log, want), nil
	})
	if err != nil {
		return last, fmt.Errorf("waiting for %q in the log of %s/%s container %s: %w; log so far: %q", want, ns, pod, container, err, last)
	}
	return last, nil
}

// Kubectl runs kubectl against the test cluster and returns its standard
// output. The error carries kubectl's standard error.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.KubectlPath, append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Checkpoint asks the kubelet, through the API server's node proxy
// (POST /api/v1/nodes/NODE/proxy/checkpoint/NS/POD/CONTAINER), to checkpoint
// a running container with CRIU. It returns the paths, on the node, of the
// archives the kubelet wrote (under its root directory, in checkpoints/).
func (e *Env) Checkpoint(ctx context.Context, ns, pod, container string) ([]string, error) {
	// client-go would send its own request timeout as ?timeout=30s, which the
	// kubelet reads as its checkpoint timeout and rejects (it wants seconds).
	cfg := rest.CopyConfig(e.Config)
	cfg.Timeout = 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	raw, err := client.CoreV1().RESTClient().Post().
		AbsPath("/api/v1/nodes", e.NodeName, "proxy", "checkpoint", ns, pod, container).
		Param("timeout", "60").
		DoRaw(ctx)
	if err != nil {
		// The kubelet's own words, when client-go's error does not carry them.
		if msg := strings.TrimSpace(string(raw)); msg != "" && !strings.Contains(err.Error(), msg) {
			return nil, fmt.Errorf("checkpointing %s/%s container %s: %w: %s", ns, pod, container, err, msg)
		}
		return nil, fmt.Errorf("checkpointing %s/%s container %s: %w", ns, pod, container, err)
	}
	var out struct {
		Items []string `json:"items"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decoding the kubelet's checkpoint answer %q: %w", raw, err)
	}
	return out.Items, nil
}
