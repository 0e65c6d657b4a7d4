//go:build e2e

package kubee2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// This file holds the helpers of the kubectl forensic capture, preflight
// and RBAC tests: building and running the plugin, and checking bundles
// with the tools a responder uses (tar, sha256sum -c, jq, verify).

const kfTestVersion = "v0.0.0-e2e"

var (
	kfOnce   sync.Once
	kfPath   string
	kfErr    error
	kfRepo   string
	kfBundle = regexp.MustCompile(`^[a-z0-9-]+_[a-z0-9.-]+-\d{8}T\d{6}Z\.tar\.gz$`)
)

// kfBinary builds kubectl-forensic (static, CGO_ENABLED=0) once per test
// binary and returns its path.
func kfBinary(t testing.TB) string {
	t.Helper()
	kfOnce.Do(func() {
		kfRepo, kfErr = filepath.Abs("../../..")
		if kfErr != nil {
			return
		}
		for _, tool := range []string{"tar", "sha256sum", "jq"} {
			if _, err := exec.LookPath(tool); err != nil {
				kfErr = fmt.Errorf("%s is needed by the capture tests: %w", tool, err)
				return
			}
		}
		dir := filepath.Join(os.TempDir(), "forensic-e2e-kube-bin")
		if kfErr = os.MkdirAll(dir, 0o755); kfErr != nil {
			return
		}
		kfPath = filepath.Join(dir, "kubectl-forensic")
		cmd := exec.Command("go", "build", "-o", kfPath,
			"-ldflags", "-X github.com/forensic-tools/forensic/shared/version.Version="+kfTestVersion, "./kubectl-forensic")
		cmd.Dir = kfRepo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			kfErr = fmt.Errorf("building kubectl-forensic: %v\n%s", err, out)
		}
	})
	if kfErr != nil {
		t.Fatal(kfErr)
	}
	return kfPath
}

// kfResult is one run of the plugin.
type kfResult struct {
	Stdout, Stderr string
	Code           int
}

func (r kfResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// kfRun runs the plugin in dir with KUBECONFIG=kubeconfig (unset when
// empty) and HOME=dir, so that nothing of the machine's own kubeconfig is
// used and every file written shows up in dir.
func kfRun(t testing.TB, dir, kubeconfig string, args ...string) kfResult {
	t.Helper()
	bin := kfBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if kubeconfig != "" {
		env = append(env, "KUBECONFIG="+kubeconfig)
	}
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := kfResult{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	t.Logf("kubectl forensic %s: exit %d", strings.Join(args, " "), res.Code)
	return res
}

// kfOpened is a bundle extracted by tar and checked by sha256sum -c.
type kfOpened struct {
	Path     string
	Root     string // extracted root folder
	Manifest evidence.Manifest
	Custody  evidence.Custody
}

// kfOpen checks a bundle as a responder would: tar extracts it into one
// root folder named like the file, sha256sum -c accepts SHA256SUMS there,
// and kubectl forensic verify exits with 0 (complete) or 2 (incomplete)
// as wantComplete says. It returns the extracted bundle.
func kfOpen(t testing.TB, path string, wantComplete bool) *kfOpened {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", path, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf %s: %v: %s", path, err, out)
	}
	rootName := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != rootName {
		t.Fatalf("%s holds %d top-level entries, want one folder %s", path, len(entries), rootName)
	}
	b := &kfOpened{Path: path, Root: filepath.Join(dir, rootName)}
	sums := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
	sums.Dir = b.Root
	if out, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c in %s: %v\n%s", path, err, out)
	}
	if err := json.Unmarshal([]byte(b.File(t, "manifest.json")), &b.Manifest); err != nil {
		t.Fatalf("manifest.json of %s: %v", path, err)
	}
	if err := json.Unmarshal([]byte(b.File(t, "custody.json")), &b.Custody); err != nil {
		t.Fatalf("custody.json of %s: %v", path, err)
	}
	if got := b.JQ(t, "manifest.json", ".complete"); got != fmt.Sprint(wantComplete) {
		t.Errorf("%s: jq .complete = %s, want %t; incomplete reasons: %q", path, got, wantComplete, b.Manifest.Incomplete)
	}
	want := 0
	if !wantComplete {
		want = 2
	}
	if r := kfRun(t, filepath.Dir(path), "", "verify", path); r.Code != want {
		t.Errorf("kubectl forensic verify %s: %s; want exit %d", path, r, want)
	}
	return b
}

// File returns a file of the bundle ("" when it is absent).
func (b *kfOpened) File(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.Root, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// Has reports whether the bundle holds name.
func (b *kfOpened) Has(name string) bool {
	_, err := os.Stat(filepath.Join(b.Root, name))
	return err == nil
}

// JQ runs jq -r filter on a file of the bundle and returns its output,
// trimmed.
func (b *kfOpened) JQ(t testing.TB, name, filter string) string {
	t.Helper()
	out, err := exec.Command("jq", "-r", filter, filepath.Join(b.Root, name)).CombinedOutput()
	if err != nil {
		t.Fatalf("jq %q %s: %v: %s", filter, name, err, out)
	}
	return strings.TrimSpace(string(out))
}

// kfBundles returns the bundle paths a capture printed on standard output,
// and the index file when it printed one.
func kfBundles(t testing.TB, dir string, r kfResult) (bundles []string, index string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line == "" {
			continue
		}
		p := line
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		switch {
		case strings.HasSuffix(line, ".index.json"):
			index = p
		case kfBundle.MatchString(filepath.Base(line)):
			bundles = append(bundles, p)
		default:
			t.Errorf("unexpected line on standard output: %q", line)
		}
	}
	return bundles, index
}

// kfSHA256 returns sha256sum's digest of a file.
func kfSHA256(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatalf("sha256sum %s: %v", path, err)
	}
	return strings.Fields(string(out))[0]
}

// kfKubeconfig writes a copy of the test kubeconfig, changed by edit, and
// returns its path.
func kfKubeconfig(t testing.TB, e *Env, edit func(cfg *clientcmdapi.Config)) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", e.Kubeconfig, err)
	}
	// Inline the files the kubeconfig names: the copy goes elsewhere.
	for _, c := range cfg.Clusters {
		if c.CertificateAuthority != "" {
			if c.CertificateAuthorityData, err = os.ReadFile(resolve(e.Kubeconfig, c.CertificateAuthority)); err != nil {
				t.Fatal(err)
			}
			c.CertificateAuthority = ""
		}
	}
	for _, a := range cfg.AuthInfos {
		if a.ClientCertificate != "" {
			if a.ClientCertificateData, err = os.ReadFile(resolve(e.Kubeconfig, a.ClientCertificate)); err != nil {
				t.Fatal(err)
			}
			a.ClientCertificate = ""
		}
		if a.ClientKey != "" {
			if a.ClientKeyData, err = os.ReadFile(resolve(e.Kubeconfig, a.ClientKey)); err != nil {
				t.Fatal(err)
			}
			a.ClientKey = ""
		}
	}
	edit(cfg)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func resolve(kubeconfig, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(kubeconfig), p)
}

// kfServiceAccountKubeconfig creates service account sa in ns and returns
// a kubeconfig that authenticates as it with a short-lived token.
func kfServiceAccountKubeconfig(t testing.TB, e *Env, ns, sa string) string {
	t.Helper()
	ctx := t.Context()
	if _, err := e.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating service account %s/%s: %v", ns, sa, err)
	}
	tok, err := e.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a token for %s/%s: %v", ns, sa, err)
	}
	return kfKubeconfig(t, e, func(cfg *clientcmdapi.Config) {
		for name := range cfg.AuthInfos {
			delete(cfg.AuthInfos, name)
		}
		cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
		for _, c := range cfg.Contexts {
			c.AuthInfo = sa
		}
	})
}

// kfBind binds ClusterRole role to service account ns/sa: in namespace
// where with a RoleBinding, or cluster-wide with a ClusterRoleBinding
// when where is empty (deleted when the test ends).
func kfBind(t testing.TB, e *Env, role, ns, sa, where string) {
	t.Helper()
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}
	ref := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role}
	name := "e2e-" + ns + "-" + sa + "-" + role
	var err error
	if where != "" {
		_, err = e.Client.RbacV1().RoleBindings(where).Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subject}, metav1.CreateOptions{})
	} else {
		_, err = e.Client.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subject}, metav1.CreateOptions{})
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			e.Client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		})
	}
	if err != nil {
		t.Fatalf("binding %s to %s/%s: %v", role, ns, sa, err)
	}
}

// kfApplyRBAC applies the shipped deploy/rbac/forensic-capture.yaml.
func kfApplyRBAC(t testing.TB, e *Env) {
	t.Helper()
	kfBinary(t)
	if _, err := e.Kubectl(t.Context(), "apply", "-f", filepath.Join(kfRepo, "deploy/rbac/forensic-capture.yaml")); err != nil {
		t.Fatal(err)
	}
}

// kfDeployment creates a Deployment of replicas busybox pods labelled
// app=name that log a line and sleep, and waits until all run.
func kfDeployment(t testing.TB, e *Env, ns, name string, replicas int32) []corev1.Pod {
	t.Helper()
	labels := map[string]string{"app": name}
	pod := NewPod("", corev1.Container{Name: "main", Image: BusyboxImage,
		Command: []string{"sh", "-c", "echo replica $HOSTNAME started; exec sleep 3600"}})
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}
	if _, err := e.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating deployment %s/%s: %v", ns, name, err)
	}
	return kfWaitPods(t, e, ns, "app="+name, int(replicas))
}

// kfWaitPods waits until n pods match selector in ns and all run.
func kfWaitPods(t testing.TB, e *Env, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var last []corev1.Pod
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		last = list.Items
		if len(list.Items) != n {
			return false, nil
		}
		for i := range list.Items {
			if ok, _ := PodRunning(&list.Items[i]); !ok {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		var states []string
		for i := range last {
			states = append(states, last[i].Name+": "+DescribePod(&last[i]))
		}
		t.Fatalf("waiting for %d running pods with %s in %s: %v; pods: %q", n, selector, ns, err, states)
	}
	return last
}

// kfIndex is the part of the index file the tests read.
type kfIndex struct {
	Schema  string `json:"schema"`
	Summary struct {
		Pods, Complete, Incomplete, Failed int
	} `json:"summary"`
	Pods []struct {
		Namespace, Pod, Bundle, SHA256, Outcome string
		SelectedBy                              []string `json:"selected_by"`
	} `json:"pods"`
}

// kfReadIndex reads an index file and checks that each bundle it names
// exists beside it with the SHA-256 it records.
func kfReadIndex(t testing.TB, path string) kfIndex {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx kfIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("index %s: %v", path, err)
	}
	for _, p := range idx.Pods {
		if p.Bundle == "" {
			continue
		}
		if got := kfSHA256(t, filepath.Join(filepath.Dir(path), p.Bundle)); got != p.SHA256 {
			t.Errorf("index says %s has sha256 %s, sha256sum says %s", p.Bundle, p.SHA256, got)
		}
	}
	return idx
}

// kfOnlyFiles fails unless dir holds exactly the named files.
func kfOnlyFiles(t testing.TB, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// kfBusybox is a busybox container named main that runs script.
func kfBusybox(script string) corev1.Container {
	return corev1.Container{Name: "main", Image: BusyboxImage, Command: []string{"sh", "-c", script}}
}

// kfWaitLogEnd waits until the last line of a container's log is want,
// reading only that line (the logs of some tests are big).
func kfWaitLogEnd(t testing.TB, e *Env, ns, pod, container, want string) {
	t.Helper()
	tail := int64(1)
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		raw, err := e.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tail}).DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		last = strings.TrimSpace(string(raw))
		return last == want, nil
	})
	if err != nil {
		t.Fatalf("waiting for %q at the end of the log of %s/%s container %s: %v; last line %q", want, ns, pod, container, err, last)
	}
}

// kfOneBundle checks that a capture exited with code (0 complete, 2
// incomplete) and wrote exactly one bundle, and opens it.
func kfOneBundle(t testing.TB, dir string, r kfResult, code int) *kfOpened {
	t.Helper()
	if r.Code != code {
		t.Fatalf("capture: %s; want exit %d", r, code)
	}
	bundles, index := kfBundles(t, dir, r)
	if len(bundles) != 1 || index != "" {
		t.Fatalf("capture wrote bundles %q and index %q; want one bundle and no index", bundles, index)
	}
	return kfOpen(t, bundles[0], code == 0)
}
