//go:build e2e

package kubee2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestCaptureBadInput: each bad input gives one clear line on standard
// error, a non-zero exit status, nothing on standard output and no file.
// A bad command line (flags or targets that cannot work) is followed by
// the command's usage; a failure at run time is not.
func TestCaptureBadInput(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("present", kfBusybox("exec sleep 3600")), 2*time.Minute)
	unreachable := kfKubeconfig(t, e, func(cfg *clientcmdapi.Config) {
		for _, c := range cfg.Clusters {
			c.Server = "https://127.0.0.1:1"
		}
	})
	nobody := kfServiceAccountKubeconfig(t, e, ns, "nobody")
	for _, tc := range []struct {
		name       string
		kubeconfig string
		args       []string
		want       []string
		usage      bool
	}{
		{"missing pod", e.Kubeconfig, []string{"capture", "-n", ns, "nope"},
			[]string{fmt.Sprintf(`pod "nope" not found in namespace %q (kubectl get pods -n %s)`, ns, ns)}, false},
		{"missing namespace", e.Kubeconfig, []string{"capture", "-n", "no-such-ns-e2e", "present"},
			[]string{`namespace "no-such-ns-e2e" not found (kubectl get namespaces)`}, false},
		{"missing deployment", e.Kubeconfig, []string{"capture", "-n", ns, "deploy/nope"},
			[]string{fmt.Sprintf(`deployment "nope" not found in namespace %q`, ns)}, false},
		{"selector matches nothing", e.Kubeconfig, []string{"capture", "-n", ns, "-l", "app=nothing"},
			[]string{"no pods match -l app=nothing"}, false},
		{"no kubeconfig", "", []string{"capture", "-n", ns, "present"},
			[]string{"no kubeconfig", "set KUBECONFIG or pass --kubeconfig"}, false},
		{"unreachable server", unreachable, []string{"capture", "-n", ns, "present"},
			[]string{"cannot reach the API server at https://127.0.0.1:1", "connection refused"}, false},
		{"forbidden namespace", nobody, []string{"capture", "-n", ns, "present"},
			[]string{`getting pod "present" in namespace`, "is forbidden", "system:serviceaccount:" + ns + ":nobody", "kubectl auth can-i get pods -n " + ns, "deploy/rbac/forensic-capture.yaml"}, false},
		{"forbidden across namespaces", nobody, []string{"capture", "-A", "-l", "app=x"},
			[]string{"listing pods in all namespaces", "is forbidden", "kubectl auth can-i list pods -A"}, false},
		{"-o with several pods", e.Kubeconfig, []string{"capture", "-n", ns, "-o", "x.tar.gz", "-l", "app=x"},
			[]string{"-o names one bundle"}, true},
		{"unknown target type", e.Kubeconfig, []string{"capture", "svc/present"},
			[]string{`unknown type "svc"`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := kfRun(t, dir, tc.kubeconfig, tc.args...)
			if r.Code != 1 {
				t.Errorf("exit %d, want 1", r.Code)
			}
			if r.Stdout != "" {
				t.Errorf("standard output %q, want nothing", r.Stdout)
			}
			first, rest, _ := strings.Cut(r.Stderr, "\n")
			if !strings.HasPrefix(first, "kubectl forensic: ") {
				t.Errorf("standard error does not start with one line from kubectl forensic:\n%s", r.Stderr)
			}
			const usage = "\nUsage:  kubectl forensic capture [TARGET...] [-l SELECTOR] [-n NAMESPACE | -A] [flags]\n\nRun 'kubectl forensic capture --help' for more information\n"
			switch {
			case tc.usage && rest != usage:
				t.Errorf("after the line, standard error is %q, want the usage %q", rest, usage)
			case !tc.usage && rest != "":
				t.Errorf("standard error is not one line (a failure at run time shows no usage):\n%s", r.Stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(first, w) {
					t.Errorf("the error line %q lacks %q", first, w)
				}
			}
			kfOnlyFiles(t, dir)
		})
	}
}

// TestCapturePodDeletedWhileLogsStream deletes a pod while its capture
// reads its containers' logs: the capture still closes a bundle, marked
// incomplete with the reason, and what was collected verifies.
func TestCapturePodDeletedWhileLogsStream(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	kfBigLogPod(t, e, ns, "doomed")
	dir := t.TempDir()
	r := kfRunDuringLogs(t, dir, e.Kubeconfig, func(*exec.Cmd) {
		if err := e.Client.CoreV1().Pods(ns).Delete(t.Context(), "doomed", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
			t.Errorf("deleting the pod: %v", err)
		}
	}, "capture", "-n", ns, "doomed")
	b := kfOneBundle(t, dir, r, 2)
	reasons := strings.Join(b.Manifest.Incomplete, "\n")
	if !strings.Contains(reasons, "deleted during the capture") {
		t.Errorf("incomplete reasons do not say the pod was deleted:\n%s", reasons)
	}
	if got := b.File(t, "logs/c0.log"); !strings.Contains(got, "done-writing") {
		t.Errorf("logs/c0.log, read before the deletion, is cut short (%d bytes)", len(got))
	}
	if !b.Has("pod/pod.json") || b.Has("pod/pod-end.json") {
		t.Error("pod.json must be there, pod-end.json not (the pod was gone)")
	}
}

// TestCaptureInterrupted sends SIGINT (Ctrl-C) while logs are read: the
// capture stops, and still closes a readable bundle, marked incomplete
// with the reason and every step it did not take.
func TestCaptureInterrupted(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	kfBigLogPod(t, e, ns, "busy")
	dir := t.TempDir()
	r := kfRunDuringLogs(t, dir, e.Kubeconfig, func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("interrupting the capture: %v", err)
		}
	}, "capture", "-n", ns, "busy")
	b := kfOneBundle(t, dir, r, 2)
	reasons := strings.Join(b.Manifest.Incomplete, "\n")
	for _, want := range []string{"interrupted by signal: not collected: kube.events", "kube.pod-end", "logs/c5.log: interrupted by signal"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("incomplete reasons lack %q:\n%s", want, reasons)
		}
	}
	if !strings.Contains(b.File(t, "logs/c0.log"), "done-writing") {
		t.Error("logs/c0.log, read before the interruption, is cut short")
	}
}

// kfBigLogPod starts a pod whose six containers each log about 6 MB of
// random text (below the kubelet's 10 MiB rotation), so that its logs take
// a while to read and each leaves megabytes in a bundle; it returns once
// every container has written all.
func kfBigLogPod(t testing.TB, e *Env, ns, name string) {
	t.Helper()
	var containers []corev1.Container
	for i := range 6 {
		c := kfBusybox("head -c 4500000 /dev/urandom | base64; echo done-writing; exec sleep 3600")
		c.Name = fmt.Sprintf("c%d", i)
		containers = append(containers, c)
	}
	e.CreatePod(t, ns, NewPod(name, containers...), 2*time.Minute)
	for _, c := range containers {
		kfWaitLogEnd(t, e, ns, name, c.Name, "done-writing")
	}
}

// kfRunDuringLogs runs the plugin in dir and calls act once the first
// log is in the bundle (the file in dir grows past 1 MiB), while the
// other logs are being read. It fails the test when the run ends first.
func kfRunDuringLogs(t testing.TB, dir, kubeconfig string, act func(*exec.Cmd), args ...string) kfResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), kfBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	acted, done := false, false
	for !done && !acted {
		select {
		case waitErr = <-exited:
			done = true
		case <-time.After(5 * time.Millisecond):
			matches, _ := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
			if len(matches) != 1 {
				continue
			}
			if st, err := os.Stat(matches[0]); err == nil && st.Size() > 1<<20 {
				act(cmd)
				acted = true
				t.Logf("acted when the bundle held %d bytes", st.Size())
			}
		}
	}
	if !acted {
		t.Fatalf("the capture ended (%v) before the first log was in the bundle: make the logs bigger\nstderr: %s", waitErr, errOut.String())
	}
	if !done {
		waitErr = <-exited
	}
	r := kfResult{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		r.Code = ee.ExitCode()
	} else if waitErr != nil {
		t.Fatalf("running the capture: %v", waitErr)
	}
	return r
}
