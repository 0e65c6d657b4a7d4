//go:build e2e

package kubee2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// naWriterScript writes numbered lines of about 100 bytes in batches of
// 700 (more than the test node's 64 KiB containerLogMaxSize) every 3 s for
// 40 s, so that the kubelet, which checks every 10 s, rotates and
// compresses the log several times; then it adds, changes and deletes
// files (/etc/group ships in the image) and says DONE.
const naWriterScript = `i=0; b=0
while [ $b -lt 13 ]; do
  b=$((b+1)); j=0
  while [ $j -lt 700 ]; do
    j=$((j+1)); i=$((i+1))
    echo "line $i batch $b .................................................................."
  done
  sleep 3
done
mkdir -p /opt/new && echo added > /opt/new/added.txt
echo 'evil:x:0:0::/:/bin/sh' >> /etc/passwd
rm /etc/group
echo DONE
exec sleep 3600`

// TestNodeAgent runs `forensic-agent node --host-root /` directly on the
// test node's machine against a pod the test started, unpacks the stream
// with `forensic-agent unpack`, and checks it against the node itself: the
// kubelet's log files byte for byte (sha256) with every line exactly once
// in the primary files, the writable layer with tar (the added, changed and
// the whiteout of the deleted image file), diff.json's kinds, the CRI
// records and OCI spec with jq, a kubelet checkpoint streamed whole and
// deleted from the node, and the report's note that there is no journal.
func TestNodeAgent(t *testing.T) {
	t.Parallel()
	e := Require(t)
	for _, tool := range []string{"tar", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	agent := naBuildAgent(t)
	ns := e.Namespace(t)
	pod := e.CreatePod(t, ns, NewPod("writer", kfBusybox(naWriterScript)), 2*time.Minute)
	kfWaitLogEnd(t, e, ns, "writer", "main", "DONE")

	podLogsDir, endpoint, maxSize := naKubeletConfig(t, e)
	pod, err := e.Client.CoreV1().Pods(ns).Get(t.Context(), "writer", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cid := pod.Status.ContainerStatuses[0].ContainerID
	logDir := filepath.Join(podLogsDir, ns+"_writer_"+string(pod.UID), "main")
	naWaitStable(t, logDir)

	// A checkpoint the kubelet writes; the agent streams it and deletes it.
	cps, err := e.Checkpoint(t.Context(), ns, "writer", "main")
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpointing: %v %v", cps, err)
	}
	cpSum := naSHA256(t, cps[0])

	req, _ := json.Marshal(map[string]any{
		"namespace": ns, "pod": "writer", "pod_uid": string(pod.UID),
		"containers":   []map[string]string{{"name": "main", "container_id": cid}},
		"pod_logs_dir": podLogsDir, "cri_endpoint": endpoint,
		"journal_dirs": []string{"/var/log/journal", "/run/log/journal"},
		"since":        pod.CreationTimestamp.UTC().Format(time.RFC3339),
		"checkpoints":  []map[string]any{{"container": "main", "path": cps[0], "delete": true}},
	})
	bundle := naRunAgent(t, agent, req)
	file := func(name string) string { return filepath.Join(bundle, name) }

	t.Run("logs", func(t *testing.T) {
		// The oracle is the node's own folder, unchanged since before the
		// agent ran.
		ents, err := os.ReadDir(logDir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		oracle := map[int]int{}
		for _, ent := range ents {
			names = append(names, ent.Name())
			host := filepath.Join(logDir, ent.Name())
			if got, want := naSHA256(t, file("node/main/logs/"+ent.Name())), naSHA256(t, host); got != want {
				t.Errorf("node/main/logs/%s sha256 %s, the node's file %s", ent.Name(), got, want)
			}
			if strings.HasSuffix(ent.Name(), ".gz") && slices.ContainsFunc(ents, func(o os.DirEntry) bool { return o.Name()+".gz" == ent.Name() }) {
				continue
			}
			for _, n := range naLines(t, host) {
				oracle[n]++
			}
		}
		t.Logf("the node keeps %d files: %v", len(names), names)
		got := naJQ(t, naRead(t, file("node/report.json")), `[.containers[0].logs.files[].artifact | ltrimstr("node/main/logs/")] | sort | join(" ")`)
		if want := strings.Join(names, " "); got != want {
			t.Errorf("report's log files %q, the node's %q", got, want)
		}
		primaries := naJQ(t, naRead(t, file("node/report.json")), `[.containers[0].logs.files[] | select(.primary) | .artifact] | join(" ")`)
		bundleLines := map[int]int{}
		for _, a := range strings.Fields(primaries) {
			for _, n := range naLines(t, file(a)) {
				bundleLines[n]++
			}
		}
		for n, c := range bundleLines {
			if c != 1 {
				t.Errorf("line %d appears %d times in the primary files", n, c)
			}
			if oracle[n] == 0 {
				t.Errorf("line %d is in the bundle but not in the node's files", n)
			}
		}
		for n := range oracle {
			if bundleLines[n] == 0 {
				t.Errorf("line %d of the node's files is missing from the primary files", n)
			}
		}
		raw, err := e.Client.CoreV1().Pods(ns).GetLogs("writer", &corev1.PodLogOptions{Container: "main"}).DoRaw(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		kubectlLines := strings.Count(string(raw), "\n")
		t.Logf("%d lines in the primary files, %d from the API's logs", len(bundleLines), kubectlLines)
		// The writer wrote about 900 KiB over 40 s: a kubelet that rotates
		// at a smaller size rotated at least once (it checks every 10 s).
		switch {
		case maxSize.Value() >= 900<<10:
			t.Logf("the kubelet rotates at %s: no rotation expected", maxSize.String())
		case len(names) < 2:
			t.Errorf("the node keeps %d log files %v: the kubelet rotates at %s, want rotated ones too", len(names), names, maxSize.String())
		case len(bundleLines) <= kubectlLines:
			t.Errorf("%d lines in the bundle, not more than the %d the API returns", len(bundleLines), kubectlLines)
		}
	})

	t.Run("layer", func(t *testing.T) {
		listing, err := exec.Command("tar", "-tvf", file("node/main/layer.tar")).CombinedOutput()
		if err != nil {
			t.Fatalf("tar -tvf layer.tar: %v\n%s", err, listing)
		}
		for _, want := range []string{" opt/new/added.txt", " etc/passwd", " etc/.wh.group"} {
			if !strings.Contains(string(listing), want+"\n") {
				t.Errorf("tar -tvf layer.tar lacks %q:\n%s", want, listing)
			}
		}
		extracted := t.TempDir()
		if out, err := exec.Command("tar", "-xf", file("node/main/layer.tar"), "-C", extracted, "etc/passwd", "opt/new/added.txt").CombinedOutput(); err != nil {
			t.Fatalf("tar -xf: %v\n%s", err, out)
		}
		if b := naRead(t, filepath.Join(extracted, "etc/passwd")); !strings.HasSuffix(string(b), "evil:x:0:0::/:/bin/sh\n") {
			t.Errorf("etc/passwd in the layer: %q", b)
		}
		diff := naRead(t, file("node/main/diff.json"))
		for path, kind := range map[string]string{"/opt/new/added.txt": "added", "/opt": "added", "/etc/passwd": "changed", "/etc": "changed", "/etc/group": "deleted"} {
			if got := naJQ(t, diff, fmt.Sprintf(`.[] | select(.path == %q) | .kind`, path)); got != kind {
				t.Errorf("diff.json %s: kind %q, want %q", path, got, kind)
			}
		}
		rep := naRead(t, file("node/report.json"))
		if got := naJQ(t, rep, `.containers[0].layer | .found and (.upperdir | length > 0) and (.lowerdirs | length > 0)`); got != "true" {
			t.Errorf("report layer: %s", naJQ(t, rep, `.containers[0].layer`))
		}
	})

	t.Run("cri", func(t *testing.T) {
		_, id, _ := strings.Cut(cid, "://")
		st := naRead(t, file("node/main/cri-container-status.json"))
		if got := naJQ(t, st, `(.status.id == "`+id+`") and (.info.pid > 0) and (.status.state == "CONTAINER_RUNNING")`); got != "true" {
			t.Errorf("cri-container-status.json: id, pid, state: %s", naJQ(t, st, `{id: .status.id, pid: .info.pid, state: .status.state}`))
		}
		pid := naJQ(t, st, `.info.pid`)
		if _, err := os.Stat("/proc/" + pid); err != nil {
			t.Errorf("the container's pid %s is no process on the node: %v", pid, err)
		}
		if got := naJQ(t, naRead(t, file("node/main/oci-spec.json")), `(.ociVersion | length > 0) and (.process.args | index("sh") != null)`); got != "true" {
			t.Errorf("oci-spec.json has no ociVersion or no sh in process.args")
		}
		// containerd names an image without a registry as docker.io's.
		img := naRead(t, file("node/main/cri-image-status.json"))
		if got := naJQ(t, img, `(.status.id == "`+naJQ(t, st, `.status.imageRef`)+`") and (.status.repoTags | index("docker.io/`+BusyboxImage+`") != null)`); got != "true" {
			t.Errorf("cri-image-status.json: id and tags %s, want the container's imageRef and docker.io/%s", naJQ(t, img, `[.status.id, .status.repoTags]`), BusyboxImage)
		}
		if got := naJQ(t, naRead(t, file("node/cri-pod-sandbox-status.json")), `.status.metadata.uid`); got != string(pod.UID) {
			t.Errorf("cri-pod-sandbox-status.json: uid %q, want %s", got, pod.UID)
		}
	})

	t.Run("kubelet discovery", func(t *testing.T) {
		// Without the pod logs folder and CRI endpoint in the request, the
		// agent finds them from the kubelet process and its config file.
		req, _ := json.Marshal(map[string]any{
			"namespace": ns, "pod": "writer", "pod_uid": string(pod.UID),
			"containers": []map[string]string{{"name": "main", "container_id": cid}},
		})
		rep := naRead(t, filepath.Join(naRunAgent(t, agent, req), "node/report.json"))
		got := naJQ(t, rep, `[.pod_logs_dir, .cri_endpoint, (.pod_logs_dir_source | startswith("kubelet process")), (.cri_endpoint_source | startswith("kubelet process")), .containers[0].cri_container_status.artifact, (.containers[0].logs.files | length > 0)] | map(tostring) | join(" ")`)
		if want := podLogsDir + " " + endpoint + " true true node/main/cri-container-status.json true"; got != want {
			t.Errorf("report: %s, want %s", got, want)
		}
	})

	t.Run("checkpoint and journal", func(t *testing.T) {
		if got := naSHA256(t, file("checkpoint/main.tar")); got != cpSum {
			t.Errorf("checkpoint/main.tar sha256 %s, the node's file had %s", got, cpSum)
		}
		names, err := tarNames(file("checkpoint/main.tar"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"checkpoint/inventory.img", "config.dump", "spec.dump"} {
			if !names[want] {
				t.Errorf("checkpoint/main.tar lacks %s", want)
			}
		}
		if _, err := os.Stat(cps[0]); !os.IsNotExist(err) {
			t.Errorf("%s still on the node: %v", cps[0], err)
		}
		rep := naRead(t, file("node/report.json"))
		if got := naJQ(t, rep, `.checkpoints[0] | .deleted and .delete_requested and .artifact == "checkpoint/main.tar"`); got != "true" {
			t.Errorf("report checkpoints: %s", naJQ(t, rep, `.checkpoints`))
		}
		if got := naJQ(t, rep, `.journal.none`); got != "no journald files under /var/log/journal, /run/log/journal" {
			t.Errorf("report journal.none %q", got)
		}
	})
}

// naRunAgent runs `forensic-agent node --host-root /` with the request and
// unpacks its stream with `forensic-agent unpack`, which must verify every
// artifact; it returns the unpacked folder.
func naRunAgent(t *testing.T, agent string, req []byte) string {
	t.Helper()
	dir := t.TempDir()
	streamPath := filepath.Join(dir, "stream")
	out, err := os.Create(streamPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), agent, "node", "--request", string(req), "--host-root", "/", "--wait-stdin=false")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	out.Close()
	if err != nil {
		t.Fatalf("forensic-agent node: %v\n%s", err, stderr.String())
	}
	t.Logf("forensic-agent node:\n%s", stderr.String())

	bundle := filepath.Join(dir, "out")
	in, err := os.Open(streamPath)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	unpack := exec.Command(agent, "unpack", "--dir", bundle)
	unpack.Stdin = in
	summary, err := unpack.Output()
	if err != nil {
		t.Fatalf("forensic-agent unpack: %v\n%s", err, summary)
	}
	if got := naJQ(t, summary, `[.artifacts[] | .verified] | all`); got != "true" {
		t.Errorf("unpack: not every artifact verified:\n%s", summary)
	}
	return bundle
}

// naBuildAgent builds forensic-agent from this tree.
func naBuildAgent(t *testing.T) string {
	t.Helper()
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "forensic-agent")
	cmd := exec.Command("go", "build", "-o", bin, "./forensic-agent")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building forensic-agent: %v\n%s", err, out)
	}
	return bin
}

// naKubeletConfig reads the kubelet's pod logs folder, CRI endpoint and
// log rotation size from its configz, through the API server's
// nodes/proxy.
func naKubeletConfig(t *testing.T, e *Env) (podLogsDir, endpoint string, maxSize resource.Quantity) {
	t.Helper()
	raw, err := e.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", e.NodeName, "proxy", "configz").DoRaw(t.Context())
	if err != nil {
		t.Fatalf("reading the kubelet's configz: %v", err)
	}
	var cz struct {
		KC struct {
			PodLogsDir               string `json:"podLogsDir"`
			ContainerRuntimeEndpoint string `json:"containerRuntimeEndpoint"`
			ContainerLogMaxSize      string `json:"containerLogMaxSize"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(raw, &cz); err != nil || cz.KC.PodLogsDir == "" || cz.KC.ContainerRuntimeEndpoint == "" {
		t.Fatalf("kubelet configz without podLogsDir or containerRuntimeEndpoint (%v): %.500s", err, raw)
	}
	if cz.KC.ContainerLogMaxSize == "" {
		cz.KC.ContainerLogMaxSize = "10Mi" // the kubelet's default
	}
	maxSize, err = resource.ParseQuantity(cz.KC.ContainerLogMaxSize)
	if err != nil {
		t.Fatalf("kubelet containerLogMaxSize %q: %v", cz.KC.ContainerLogMaxSize, err)
	}
	return cz.KC.PodLogsDir, cz.KC.ContainerRuntimeEndpoint, maxSize
}

// naWaitStable waits until the log folder's names and sizes stayed the
// same for longer than two of the kubelet's 10 s rotation checks.
func naWaitStable(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var last string
	since := time.Now()
	for {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("listing the node's log folder: %v", err)
		}
		var b strings.Builder
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s:%d ", e.Name(), fi.Size())
			}
		}
		if b.String() != last {
			last, since = b.String(), time.Now()
		} else if time.Since(since) > 22*time.Second {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the log folder %s kept changing: %s", dir, last)
		case <-time.After(2 * time.Second):
		}
	}
}

// naLines returns the numbers of the writer's lines in a CRI log file,
// gzip-compressed or not.
func naLines(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	var nums []int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// <time> <stream> <tag> <content>
		fields := strings.SplitN(sc.Text(), " ", 4)
		if len(fields) < 4 || !strings.HasPrefix(fields[3], "line ") {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(fields[3])[1])
		if err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		nums = append(nums, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nums
}

func naSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func naRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// naJQ runs jq -r filter over doc.
func naJQ(t *testing.T, doc []byte, filter string) string {
	t.Helper()
	cmd := exec.Command("jq", "-r", filter)
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("jq %q: %v\n%s", filter, err, out)
	}
	return strings.TrimSpace(string(out))
}
