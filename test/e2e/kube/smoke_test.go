//go:build e2e

package kubee2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeIsReal checks that the cluster is the real node that
// test/k8s/cluster runs: a kubelet of the pinned version over containerd 2.
func TestNodeIsReal(t *testing.T) {
	e := Require(t)
	node, err := e.Client.CoreV1().Nodes().Get(t.Context(), e.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting node %s: %v", e.NodeName, err)
	}
	info := node.Status.NodeInfo
	for _, tc := range []struct {
		what, got, wantPrefix string
	}{
		{"kubelet version", info.KubeletVersion, "v1.37."},
		{"container runtime", info.ContainerRuntimeVersion, "containerd://2."},
		{"operating system", info.OperatingSystem, "linux"},
	} {
		if !strings.HasPrefix(tc.got, tc.wantPrefix) {
			t.Errorf("%s = %q, want prefix %q", tc.what, tc.got, tc.wantPrefix)
		}
	}
}

// TestPodRunsAndLogs runs a pod from each local image and reads its log;
// the webserver also answers over the pod network.
func TestPodRunsAndLogs(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	for _, tc := range []struct {
		name      string
		container corev1.Container
		wantLog   string
		http      bool
	}{
		{
			name: "busybox",
			container: corev1.Container{Name: "main", Image: BusyboxImage,
				Command: []string{"sh", "-c", "echo hello from busybox; exec sleep 3600"}},
			wantLog: "hello from busybox",
		},
		{
			name:      "webserver",
			container: corev1.Container{Name: "main", Image: WebserverImage, Args: []string{"-listen", ":8080"}},
			wantLog:   "webserver starting on :8080",
			http:      true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := e.CreatePod(t, ns, NewPod(tc.name, tc.container), 2*time.Minute)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := e.WaitForLog(ctx, ns, tc.name, "main", tc.wantLog); err != nil {
				t.Fatal(err)
			}
			if !tc.http {
				return
			}
			// The pod's address is in a network namespace of the node, on
			// this machine: the request never leaves it.
			url := fmt.Sprintf("http://%s:8080/probe", pod.Status.PodIP)
			body, err := get(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if want := "hello from webserver, path /probe"; !strings.Contains(body, want) {
				t.Errorf("GET %s = %q, want it to contain %q", url, body, want)
			}
			if _, err := e.WaitForLog(ctx, ns, tc.name, "main", "request GET /probe"); err != nil {
				t.Error(err)
			}
		})
	}
}

// get fetches url, retrying while the server is not yet listening.
func get(ctx context.Context, url string) (string, error) {
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", fmt.Errorf("building request for %s: %w", url, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", url, err)
			}
			return string(body), nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("getting %s: %w", url, lastErr)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// TestDebugTargetSeesTargetFiles attaches an ephemeral busybox container to
// the distroless webserver with `kubectl debug --target` and reads the
// target's files through /proc/1/root.
func TestDebugTargetSeesTargetFiles(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	const pod = "target"
	e.CreatePod(t, ns, NewPod(pod, corev1.Container{Name: "app", Image: WebserverImage,
		Args: []string{"-listen", ":8080", "-plant", "/tmp/planted.txt"}}), 2*time.Minute)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := e.Kubectl(ctx, "debug", "-n", ns, pod, "--image", BusyboxImage, "--image-pull-policy", "Never",
		"--target", "app", "--container", "dbg", "--profile", "general", "--", "sleep", "3600"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.WaitForPod(ctx, ns, pod, ContainerRunning("dbg")); err != nil {
		t.Fatalf("waiting for the ephemeral container: %v", err)
	}
	for _, tc := range []struct {
		name    string
		command []string
		want    string
	}{
		{"target process is pid 1", []string{"cat", "/proc/1/cmdline"}, "/webserver"},
		{"planted file", []string{"cat", "/proc/1/root/tmp/planted.txt"}, "planted by webserver"},
		{"target root", []string{"ls", "/proc/1/root/"}, "webserver"},
		{"own root has a shell", []string{"ls", "/bin/sh"}, "/bin/sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"exec", "-n", ns, pod, "-c", "dbg", "--"}, tc.command...)
			var out string
			var err error
			// The target may not have planted its file the very moment it runs.
			for try := 0; try < 20; try++ {
				if out, err = e.Kubectl(ctx, args...); err == nil && strings.Contains(out, tc.want) {
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
			t.Errorf("%v: output %q, error %v; want output containing %q", tc.command, out, err, tc.want)
		})
	}
}

// TestPreviousContainerLogs lets the webserver exit on purpose and reads the
// log of the run before its restart.
func TestPreviousContainerLogs(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	const pod = "restarter"
	p := NewPod(pod, corev1.Container{Name: "app", Image: WebserverImage,
		Args: []string{"-listen", ":8080", "-exit-after", "2s"}})
	if _, err := e.Client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s/%s: %v", ns, pod, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	got, err := e.WaitForPod(ctx, ns, pod, ContainerRestarted("app", 1))
	if err != nil {
		t.Fatalf("waiting for a restart: %v", err)
	}
	if code := FindContainerStatus(got, "app").LastTerminationState.Terminated.ExitCode; code != 3 {
		t.Errorf("last run's exit code = %d, want 3", code)
	}
	log, err := e.Logs(ctx, ns, pod, "app", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"webserver starting on :8080", "webserver exiting on purpose"} {
		if !strings.Contains(log, want) {
			t.Errorf("previous log %q does not contain %q", log, want)
		}
	}
}
