//go:build e2e

// Package scalee2e tests kubectl forensic capture at scale on the
// simulated cluster of test/k8s/kwok: thousands of fake pods whose logs
// kwok serves, an API server this test may restart, and a plugin it may
// kill. Run by `test/run scale`, which brings the cluster up with
// --nodes 100 --pods 2000 and down again.
package scalee2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	repo    string
)

// plugin builds kubectl-forensic once.
func plugin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if repo, binErr = filepath.Abs("../../.."); binErr != nil {
			return
		}
		for _, tool := range []string{"tar", "sha256sum"} {
			if _, err := exec.LookPath(tool); err != nil {
				binErr = fmt.Errorf("%s is needed by the scale tests: %w", tool, err)
				return
			}
		}
		binPath = filepath.Join(os.TempDir(), "forensic-e2e-scale-bin", "kubectl-forensic")
		cmd := exec.Command("go", "build", "-o", binPath, "./kubectl-forensic")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building kubectl-forensic: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// kubeconfig is the simulated cluster's; the tests refuse any other (they
// restart its API server).
func kubeconfig(t testing.TB) string {
	t.Helper()
	kc := os.Getenv("KUBECONFIG")
	if kc == "" || !strings.Contains(kc, "forensic-kwok") {
		t.Fatalf("KUBECONFIG=%q: these tests run on the simulated cluster only: run test/run scale, or export the KUBECONFIG line of 'test/k8s/kwok up --nodes 100 --pods 2000'", kc)
	}
	return kc
}

type result struct {
	stdout, stderr string
	code           int
}

func command(t testing.TB, ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, plugin(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig(t)}
	return cmd
}

func run(t testing.TB, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := command(t, ctx, dir, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl forensic %v: %v", args, err)
	}
	t.Logf("kubectl forensic %s: exit %d in %v", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond))
	return r
}

// entry is the part of an index entry (journal pod line or index pod) the
// tests read.
type entry struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Bundle    string `json:"bundle"`
	SHA256    string `json:"sha256"`
	Outcome   string `json:"outcome"`
	Error     string `json:"error"`
}

func (e entry) key() string { return e.Namespace + "/" + e.Pod }

type index struct {
	Summary struct {
		Pods, Complete, Incomplete, Failed int
	} `json:"summary"`
	Pods []entry `json:"pods"`
}

// journal reads a journal's pod lines; bad counts the lines that do not
// parse (at most the last, cut by a kill).
func journal(t testing.TB, path string) (pods []entry, runs, bad int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			bad++
			continue
		}
		switch e.Kind {
		case "pod":
			pods = append(pods, e)
		case "run":
			runs++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pods, runs, bad
}

func readIndex(t testing.TB, path string) index {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("index %s: %v", path, err)
	}
	return idx
}

// onlyFile returns the one file in dir matching pattern.
func onlyFile(t testing.TB, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("%d files match %s in %s, want 1: %q", len(m), pattern, dir, m)
	}
	return m[0]
}

// lastIndex returns the newest capture-*.index.json of dir.
func lastIndex(t testing.TB, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "capture-*.index.json"))
	if len(m) == 0 {
		t.Fatalf("no index in %s", dir)
	}
	newest := m[0]
	for _, p := range m {
		if p > newest {
			newest = p
		}
	}
	return newest
}

// checkSums runs sha256sum -c over every complete pod of idx: the index's
// digests against the bundle files, checked by an independent tool.
func checkSums(t testing.TB, dir string, pods []entry) {
	t.Helper()
	var b strings.Builder
	n := 0
	for _, p := range pods {
		if p.Outcome != "complete" {
			continue
		}
		fmt.Fprintf(&b, "%s  %s\n", p.SHA256, p.Bundle)
		n++
	}
	sums := filepath.Join(t.TempDir(), "SUMS")
	if err := os.WriteFile(sums, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sha256sum", "--quiet", "-c", sums)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c of %d bundles against the index: %v\n%s", n, err, out)
	}
}

// spotCheck verifies a sample of bundles with kubectl forensic verify and
// reads, with tar, each one's app log: it holds the line naming its pod.
func spotCheck(t testing.TB, dir string, pods []entry, n int) {
	t.Helper()
	sample := rand.Perm(len(pods))[:min(n, len(pods))]
	for _, i := range sample {
		p := pods[i]
		bundle := filepath.Join(dir, filepath.FromSlash(p.Bundle))
		if r := run(t, dir, "verify", bundle); r.code != 0 {
			t.Errorf("verify %s: exit %d\n%s%s", p.Bundle, r.code, r.stdout, r.stderr)
		}
		root := strings.TrimSuffix(filepath.Base(bundle), ".tar.gz")
		out, err := exec.Command("tar", "-xzOf", bundle, root+"/logs/app.log").CombinedOutput()
		if err != nil {
			t.Errorf("tar: %s has no logs/app.log: %v\n%s", p.Bundle, err, out)
			continue
		}
		if want := "forensic kwok pod " + p.key(); !strings.Contains(string(out), want) {
			t.Errorf("%s logs/app.log lacks %q:\n%s", p.Bundle, want, out)
		}
		pod, err := exec.Command("tar", "-xzOf", bundle, root+"/pod/pod.json").Output()
		if err != nil || !bytes.HasPrefix(pod, []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"`+p.Pod+`"`)) {
			t.Errorf("%s pod/pod.json: %v %.80q", p.Bundle, err, pod)
		}
	}
}

// podsLabelled is the expected number of pods of a first-K label.
func expectPods(t testing.TB, k int) {
	t.Helper()
	kubectl := os.Getenv("KUBECTL")
	if kubectl == "" {
		kubectl = "kubectl"
	}
	out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig(t), "get", "pods", "-A", "-l", fmt.Sprintf("forensic.test/first-%d", k),
		"--field-selector", "status.phase=Running", "-o", "name", "--chunk-size", "500").Output()
	if err != nil {
		t.Fatalf("kubectl get pods: %v", err)
	}
	if got := strings.Count(string(out), "\n"); got != k {
		t.Fatalf("the simulated cluster has %d Running pods labelled forensic.test/first-%d, want %d: test/k8s/kwok up --nodes 100 --pods 2000", got, k, k)
	}
}

// All 2,000 pods over 100 nodes, 20 namespaces: every pod captured
// complete, the index lists each once, its SHA-256s match sha256sum, a
// sample verifies and holds its pod's log; --shard-by-namespace puts
// the bundles in one folder per namespace (20 when the cluster holds
// 2,000 pods).
func TestScaleCaptureAll(t *testing.T) {
	expectPods(t, 2000)
	dir := t.TempDir()
	r := run(t, dir, "capture", "-A", "-l", "forensic.test/first-2000", "--output-dir", dir, "--shard-by-namespace",
		"--concurrency", "8", "--qps", "500", "--burst", "1000", "-q")
	if r.code != 0 {
		t.Fatalf("capture: exit %d\n%s", r.code, tail(r.stderr))
	}
	idx := readIndex(t, onlyFile(t, dir, "capture-*.index.json"))
	if idx.Summary.Pods != 2000 || idx.Summary.Complete != 2000 || len(idx.Pods) != 2000 {
		t.Fatalf("index summary %+v with %d pods, want 2000 complete", idx.Summary, len(idx.Pods))
	}
	seen := map[string]bool{}
	for _, p := range idx.Pods {
		if seen[p.key()] {
			t.Errorf("pod %s listed twice", p.key())
		}
		seen[p.key()] = true
		if !strings.HasPrefix(p.Bundle, p.Namespace+"/") {
			t.Errorf("bundle %s of %s is not in its namespace's folder", p.Bundle, p.key())
		}
	}
	jp, runs, bad := journal(t, onlyFile(t, dir, "capture-*.index.jsonl"))
	if len(jp) != 2000 || runs != 1 || bad != 0 {
		t.Errorf("journal: %d pod lines, %d runs, %d bad lines; want 2000, 1, 0", len(jp), runs, bad)
	}
	namespaces := map[string]bool{}
	for _, p := range idx.Pods {
		namespaces[p.Namespace] = true
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "scale-*"))
	if len(shards) != len(namespaces) || len(namespaces) < 20 {
		t.Errorf("%d namespace folders for %d namespaces, want one each, at least 20", len(shards), len(namespaces))
	}
	checkSums(t, dir, idx.Pods)
	spotCheck(t, dir, idx.Pods, 12)
	checkRequests(t, onlyFile(t, dir, "capture-*.index.jsonl"), 2000, len(namespaces), 100)
}

// checkRequests checks the API requests the journal's end line counts:
// per pod its two log reads and one read of the pod (pod-end.json; the
// start snapshots come a page of the list at a time), and per namespace
// and node the objects their pods share, each read once: the namespace,
// its events, services, EndpointSlices, network policies, service
// account and access reviews, the node. A capture that read the pod twice,
// or a shared object once per pod, goes over.
func checkRequests(t testing.TB, jpath string, pods, namespaces, nodes int) {
	t.Helper()
	b, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	requests := -1
	for line := range strings.Lines(string(b)) {
		var end struct {
			Kind     string `json:"kind"`
			Requests int    `json:"api_requests"`
		}
		if json.Unmarshal([]byte(line), &end) == nil && end.Kind == "end" {
			requests = end.Requests
		}
	}
	// 10 per namespace is more than its shared reads; 60 covers the
	// selection's pages, the pages of start snapshots, the identity, the
	// version and the reviews asked for every namespace at once.
	limit := pods*3 + namespaces*10 + nodes + 60
	t.Logf("%d API requests for %d pods in %d namespaces on %d nodes: %.2f a pod (limit %d)", requests, pods, namespaces, nodes, float64(requests)/float64(pods), limit)
	if requests < pods*3 || requests > limit {
		t.Errorf("%d API requests, want from %d (two logs and the pod at the end, a pod) to %d", requests, pods*3, limit)
	}
}

// startCapture starts a capture of the first k pods and returns it and
// its journal's path once the journal lists at least after pods.
func startCapture(t testing.TB, dir string, k, after int, extra ...string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	args := append([]string{"capture", "-A", "-l", fmt.Sprintf("forensic.test/first-%d", k), "--output-dir", dir, "-q"}, extra...)
	cmd := command(t, t.Context(), dir, args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "capture-*.index.jsonl")); len(m) == 1 {
			if b, err := os.ReadFile(m[0]); err == nil && bytes.Count(b, []byte(`{"kind":"pod"`)) >= after {
				return cmd, &errOut, m[0]
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the journal did not list %d pods in 3 min\n%s", after, tail(errOut.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// resumeAndCheck resumes the capture of journal and checks that every one
// of k pods ends complete, that the pods complete before were not captured
// again, and that the bundles verify.
func resumeAndCheck(t testing.TB, dir, jpath string, k int, before []entry) {
	t.Helper()
	doneBefore := map[string]bool{}
	for _, p := range before {
		if p.Outcome == "complete" {
			doneBefore[p.key()] = true
		}
	}
	r := run(t, dir, "capture", "-A", "-l", fmt.Sprintf("forensic.test/first-%d", k), "--resume", jpath, "--concurrency", "8", "--qps", "500", "--burst", "1000")
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, tail(r.stderr))
	}
	if want := fmt.Sprintf("%d pods complete and verified, %d to capture", len(doneBefore), k-len(doneBefore)); !strings.Contains(r.stderr, want) {
		t.Errorf("resume did not say %q:\n%s", want, tail(r.stderr))
	}
	after, runs, _ := journal(t, jpath)
	if runs != 2 {
		t.Errorf("journal has %d run lines, want 2", runs)
	}
	for _, p := range after[len(before):] {
		if doneBefore[p.key()] {
			t.Errorf("pod %s, complete before, was captured again", p.key())
		}
	}
	idx := readIndex(t, lastIndex(t, dir))
	if idx.Summary.Pods != k || idx.Summary.Complete != k {
		t.Fatalf("index after resume: %+v, want %d complete", idx.Summary, k)
	}
	checkSums(t, dir, idx.Pods)
	spotCheck(t, dir, idx.Pods, 5)
}

// The API server is stopped and started again mid-capture: no pod is
// lost (each is captured, or listed failed or incomplete with its
// reason), and --resume completes the rest without capturing any pod
// twice.
func TestScaleAPIServerRestart(t *testing.T) {
	expectPods(t, 1000)
	dir := t.TempDir()
	cmd, errOut, jpath := startCapture(t, dir, 1000, 100, "--concurrency", "4", "--qps", "200", "--burst", "400")
	out, err := exec.Command(filepath.Join(repo, "test/k8s/kwok"), "apiserver-restart").CombinedOutput()
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("restarting the simulated API server: %v\n%s", err, out)
	}
	t.Logf("API server restarted:\n%s", out)
	code := exitCode(cmd.Wait())
	if code != 0 && code != 2 {
		t.Fatalf("capture across the restart: exit %d, want 0 or 2\n%s", code, tail(errOut.String()))
	}
	before, _, bad := journal(t, jpath)
	if bad != 0 {
		t.Errorf("%d bad journal lines after a clean exit", bad)
	}
	listed := map[string]bool{}
	failed := 0
	for _, p := range before {
		listed[p.key()] = true
		if p.Outcome != "complete" {
			failed++
			if p.Error == "" && p.Outcome == "failed" {
				t.Errorf("pod %s failed with no reason", p.key())
			}
		}
	}
	if len(listed) != 1000 {
		t.Fatalf("journal lists %d pods after the restart, want all 1000 (captured or failed with reason)\n%s", len(listed), tail(errOut.String()))
	}
	if (failed > 0) != (code == 2) {
		t.Errorf("exit %d with %d pods not complete", code, failed)
	}
	t.Logf("after the restart: %d of 1000 pods not complete (exit %d)", failed, code)
	resumeAndCheck(t, dir, jpath, 1000, before)
}

// The API server is down longer than --retry-timeout mid-capture: the
// pods it cuts off are listed failed or incomplete with the reason and
// named on standard error, the exit is 2, no pod is missing from the
// index, and --resume completes them without capturing any pod twice.
func TestScaleAPIServerDown(t *testing.T) {
	expectPods(t, 500)
	dir := t.TempDir()
	cmd, errOut, jpath := startCapture(t, dir, 500, 60, "--concurrency", "4", "--qps", "200", "--burst", "400", "--retry-timeout", "2s")
	kwok := filepath.Join(repo, "test/k8s/kwok")
	if out, err := exec.Command(kwok, "apiserver-stop").CombinedOutput(); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("stopping the simulated API server: %v\n%s", err, out)
	}
	time.Sleep(8 * time.Second)
	if out, err := exec.Command(kwok, "apiserver-start").CombinedOutput(); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("starting the simulated API server: %v\n%s", err, out)
	}
	code := exitCode(cmd.Wait())
	before, _, _ := journal(t, jpath)
	listed := map[string]bool{}
	var notComplete []entry
	for _, p := range before {
		listed[p.key()] = true
		if p.Outcome != "complete" {
			notComplete = append(notComplete, p)
		}
	}
	if code != 2 || len(notComplete) == 0 {
		t.Fatalf("capture with the API server down 8 s: exit %d, %d pods not complete; want exit 2 and some\n%s", code, len(notComplete), tail(errOut.String()))
	}
	if len(listed) != 500 {
		t.Fatalf("journal lists %d pods, want all 500", len(listed))
	}
	for _, p := range notComplete {
		if p.Outcome == "failed" {
			if p.Error == "" {
				t.Errorf("pod %s failed with no reason", p.key())
			}
			if !strings.Contains(errOut.String(), p.key()+": not captured: ") {
				t.Errorf("standard error does not name the failed pod %s", p.key())
			}
		}
	}
	t.Logf("%d of 500 pods not complete across the outage, e.g. %s: %s", len(notComplete), notComplete[0].key(), notComplete[0].Error)
	resumeAndCheck(t, dir, jpath, 500, before)
}

// kill -9 of the plugin mid-capture: the journal is readable (at most its
// last line cut), each pod it lists complete has its bundle with that
// SHA-256, and --resume captures the rest.
func TestScaleKillResume(t *testing.T) {
	expectPods(t, 1000)
	dir := t.TempDir()
	cmd, _, jpath := startCapture(t, dir, 1000, 150, "--concurrency", "8", "--qps", "500", "--burst", "1000")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before, runs, bad := journal(t, jpath)
	if runs != 1 || bad > 1 || len(before) < 150 || len(before) >= 1000 {
		t.Fatalf("journal after kill -9: %d pods, %d runs, %d bad lines; want at least 150 and fewer than 1000 pods, 1 run, at most 1 bad line", len(before), runs, bad)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "capture-*.index.json")); len(m) != 0 {
		t.Errorf("an index file %q after kill -9: only the journal is expected", m)
	}
	checkSums(t, dir, before)
	t.Logf("killed after %d pods", len(before))
	resumeAndCheck(t, dir, jpath, 1000, before)
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
