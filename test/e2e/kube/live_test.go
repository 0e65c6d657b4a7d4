//go:build e2e

package kubee2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the live capture tests: kubectl forensic capture --pcap
// --filesystem --processes, which adds the forensic agent to the pod as an
// ephemeral container (image forensic/agent:<plugin version>, imported on
// the node by test/k8s/images.d/agent.sh) and streams what it captures
// into the bundle.

// liveAgentImage is the agent image the e2e build of the plugin runs by
// default.
const liveAgentImage = "forensic/agent:" + kfTestVersion

// liveTools fails the test unless the tools that read live evidence are
// installed (tshark and GNU tar; apt-get install tshark tar).
func liveTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"tshark", "tar", "sha256sum", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed by the live capture tests (apt-get install tshark tar coreutils jq): %v", tool, err)
		}
	}
	if out, err := exec.Command("tar", "--version").Output(); err != nil || !strings.Contains(string(out), "GNU tar") {
		t.Fatalf("the live capture tests read fs/rootfs.tar with GNU tar: tar --version: %v %s", err, out)
	}
}

// liveTraffic starts a busybox pod in ns that requests http://ip:8080/PATH
// for each path, over and over, every half second, and waits until the
// target logged the first request. The pod uses the node's network: pod to
// pod traffic crosses the node's bridge, which the host's firewall may
// drop (Docker's FORWARD policy), while the node reaches every pod.
func liveTraffic(t *testing.T, e *Env, ns, target, ip string, paths ...string) {
	t.Helper()
	var script strings.Builder
	script.WriteString("while true; do ")
	for _, p := range paths {
		fmt.Fprintf(&script, "wget -qO- http://%s:8080%s >/dev/null; ", ip, p)
	}
	script.WriteString("sleep 0.5; done")
	client := NewPod("client", kfBusybox(script.String()))
	client.Spec.HostNetwork = true
	e.CreatePod(t, ns, client, 2*time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := e.WaitForLog(ctx, ns, target, "web", "request GET "+paths[0]); err != nil {
		t.Fatalf("the traffic does not reach the target: %v", err)
	}
}

// liveCheckTransfer checks agent/transfer.json against what landed in the
// bundle: the stream arrived whole with the count and SHA-256 the agent
// declared, each agent artifact's SHA-256 in the bundle is the one the
// agent declared, the agent's own last log line names the same figures,
// and the ephemeral container is recorded (name, image, digest, times).
func liveCheckTransfer(t *testing.T, b *kfOpened, artifacts ...string) {
	t.Helper()
	const tr = "agent/transfer.json"
	if got := b.JQ(t, tr, `.stream.ended and .stream.bytes == .stream.declared_bytes and .stream.sha256 == .stream.declared_sha256 and (.problems | length) == 0 and .agent_exit == 0`); got != "true" {
		t.Errorf("agent stream check failed: %s", b.JQ(t, tr, "del(.agent_stderr, .stream.artifacts)"))
	}
	for _, name := range append(artifacts, "agent/info.json") {
		declared := b.JQ(t, tr, `.stream.artifacts[] | select(.name == "`+name+`") | .declared_sha256`)
		if got := kfSHA256(t, filepath.Join(b.Root, name)); got != declared || declared == "" {
			t.Errorf("%s: sha256 in the bundle %s, the agent declared %q", name, got, declared)
		}
		if got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path == "`+name+`") | .sha256 + " " + .producer`); got != declared+" kube.agent" {
			t.Errorf("%s in the manifest: %q, want %s kube.agent", name, got, declared)
		}
	}
	wantLine := "sent " + b.JQ(t, tr, ".stream.declared_bytes") + " bytes, sha256 " + b.JQ(t, tr, ".stream.declared_sha256")
	if !strings.Contains(b.File(t, "agent/stderr.log"), wantLine) {
		t.Errorf("agent/stderr.log lacks %q:\n%s", wantLine, b.File(t, "agent/stderr.log"))
	}
	if got := b.JQ(t, tr, `.ephemeral_container | (.name | startswith("forensic-agent-")) and .image == "`+liveAgentImage+`" and (.image_id | test("sha256:[0-9a-f]{64}")) and .added != null and .running != null and .ended != null and .removable == false`); got != "true" {
		t.Errorf("ephemeral container record: %s", b.JQ(t, tr, ".ephemeral_container"))
	}
	if got := b.JQ(t, tr, ".transport"); got != "websocket" && got != "spdy" {
		t.Errorf("transport %q", got)
	}
}

// liveCheckCustody checks the custody record of the added container.
func liveCheckCustody(t *testing.T, b *kfOpened, target string, scPieces ...string) {
	t.Helper()
	name := b.JQ(t, "agent/transfer.json", ".ephemeral_container.name")
	imageID := b.JQ(t, "agent/transfer.json", ".ephemeral_container.image_id")
	if got := b.JQ(t, "custody.json", `[.actions[] | select(.what == "added ephemeral container")] | length`); got != "1" {
		t.Fatalf("custody actions: %s", b.JQ(t, "custody.json", ".actions"))
	}
	detail := b.JQ(t, "custody.json", `.actions[0].detail`)
	for _, want := range append([]string{name, liveAgentImage, imageID, "targeting container " + target, "agent arguments: run --target-pid 1",
		"cannot be removed from the pod: it stays in the pod spec until the pod is deleted"}, scPieces...) {
		if !strings.Contains(detail, want) {
			t.Errorf("custody action lacks %q: %s", want, detail)
		}
	}
	if got := b.JQ(t, "custody.json", `.actions[0] | .until > .at`); got != "true" {
		t.Errorf("custody action times: %s", b.JQ(t, "custody.json", ".actions[0]"))
	}
	if got := b.JQ(t, "custody.json", `[.notes[] | select(startswith("live capture: agreed with --yes"))] | length`); got != "1" {
		t.Errorf("custody notes lack the agreement: %s", b.JQ(t, "custody.json", ".notes"))
	}
}

// liveEphemeral checks that the pod holds exactly one ephemeral container,
// the agent's, and that it ended: it cannot be removed, and it does not
// go on capturing.
func liveEphemeral(t *testing.T, e *Env, ns, pod, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	p, err := e.WaitForPod(ctx, ns, pod, func(p *corev1.Pod) (bool, error) {
		st := FindContainerStatus(p, name)
		return st != nil && st.State.Terminated != nil, nil
	})
	if err != nil {
		t.Fatalf("the agent's container %s did not end: %v", name, err)
	}
	if len(p.Spec.EphemeralContainers) != 1 || p.Spec.EphemeralContainers[0].Name != name {
		t.Errorf("pod %s/%s ephemeral containers %+v, want only %s", ns, pod, p.Spec.EphemeralContainers, name)
	}
}

// tarMembers lists a tar's members with GNU tar.
func tarMembers(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("tar", "-tf", path).Output()
	if err != nil {
		t.Fatalf("tar -tf %s: %v", path, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// tarExtract extracts members of a tar with GNU tar, keeping numeric
// owners and modes (the tests run as root), and returns the folder.
func tarExtract(t *testing.T, path string, members ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--numeric-owner", "-xpf", path, "-C", dir}, members...)
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("tar %v: %v\n%s", args, err, out)
	}
	return dir
}

// liveFile checks a file extracted from fs/rootfs.tar: content, numeric
// owner and mode.
func liveFile(t *testing.T, root, name, content string, uid, gid uint32, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, name)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("fs/rootfs.tar: %v", err)
		return
	}
	st, _ := os.Lstat(p)
	sys := st.Sys().(*syscall.Stat_t)
	if string(data) != content || sys.Uid != uid || sys.Gid != gid || st.Mode().Perm() != mode {
		t.Errorf("fs/rootfs.tar %s: %q owner %d:%d mode %v; want %q owner %d:%d mode %v", name, data, sys.Uid, sys.Gid, st.Mode().Perm(), content, uid, gid, mode)
	}
}

// liveNoProc fails when fs/rootfs.tar holds anything under /proc (the
// mount point itself may be there, empty).
func liveNoProc(t *testing.T, members []string) {
	t.Helper()
	for _, m := range members {
		if strings.HasPrefix(strings.TrimPrefix(m, "./"), "proc/") && strings.TrimPrefix(m, "./") != "proc/" {
			t.Errorf("fs/rootfs.tar holds %s: /proc must be left out", m)
			return
		}
	}
}

// liveSnapshot checks proc/snapshot.json: the target's main process as
// pid 1, with its command line and user, and its listening socket.
func liveSnapshot(t *testing.T, b *kfOpened, cmdline string, uid int) {
	t.Helper()
	const snap = "proc/snapshot.json"
	if got := b.JQ(t, snap, fmt.Sprintf(`[.processes[] | select(.pid == 1 and (.cmdline | join(" ")) == %q and .uids[0] == %d)] | length`, cmdline, uid)); got != "1" {
		t.Errorf("snapshot lacks pid 1 %q as uid %d: %s", cmdline, uid, b.JQ(t, snap, `[.processes[] | {pid, cmdline, uids}]`))
	}
	if got := b.JQ(t, snap, `[.sockets[] | select(.state == "LISTEN" and (.local | endswith(":8080")) and any(.owners[]; .pid == 1))] | length`); got == "0" {
		t.Errorf("snapshot lacks the listening socket :8080 of pid 1: %s", b.JQ(t, snap, ".sockets"))
	}
}

// TestLiveCaptureDistroless captures a distroless web server (one static
// binary, no shell), chosen with -c in a pod that also runs a busybox
// container, while another pod sends it HTTP requests: the packets, the
// filesystem and the processes, all through one ephemeral container.
func TestLiveCaptureDistroless(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveTools(t)
	ns := e.Namespace(t)
	pod := NewPod("shop",
		corev1.Container{Name: "side", Image: BusyboxImage, Command: []string{"sh", "-c", "exec sleep 3600"}},
		corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080", "-plant", "/tmp/planted.txt"}})
	running := e.CreatePod(t, ns, pod, 2*time.Minute)
	liveTraffic(t, e, ns, "shop", running.Status.PodIP, "/live-probe-1", "/live-probe-2")

	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/shop", "-c", "web", "--pcap", "4s", "--filesystem", "--processes", "--yes")
	b := kfOneBundle(t, dir, r, 0)

	// Packets: the requests, read back by tshark.
	out, err := exec.Command("tshark", "-r", filepath.Join(b.Root, "pcap/capture.pcapng"), "-Y", "http.request",
		"-T", "fields", "-e", "tcp.dstport", "-e", "http.request.uri").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, out)
	}
	for _, want := range []string{"8080\t/live-probe-1", "8080\t/live-probe-2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tshark finds no %q in the capture:\n%s", want, out)
		}
	}
	liveCheckTransfer(t, b, "pcap/capture.pcapng", "fs/rootfs.tar", "fs/mounts.json", "fs/report.json", "proc/snapshot.json")

	// Filesystem: the target's, not the busybox container's.
	tarPath := filepath.Join(b.Root, "fs/rootfs.tar")
	members := tarMembers(t, tarPath)
	root := tarExtract(t, tarPath, "tmp", "webserver")
	liveFile(t, root, "tmp/planted.txt", "planted by webserver\n", 0, 0, 0o640)
	if st, err := os.Stat(filepath.Join(root, "webserver")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("fs/rootfs.tar lacks the target's /webserver (0755): %v %v", st, err)
	}
	for _, m := range members {
		if m == "bin/busybox" || m == "bin/sh" {
			t.Errorf("fs/rootfs.tar holds %s: that is the other container's filesystem", m)
		}
	}
	liveNoProc(t, members)
	if got := b.JQ(t, "fs/mounts.json", `[.[] | select(.mount_point == "/proc") | .kind] | join(",")`); got != "pseudo" {
		t.Errorf("fs/mounts.json /proc kind %q", got)
	}
	// Processes: the web server is pid 1 of the target's process namespace.
	liveSnapshot(t, b, "/webserver -listen :8080 -plant /tmp/planted.txt", 0)

	if got := b.JQ(t, "agent/transfer.json", `.ephemeral_container.security_context | .runAsUser == 0 and (.capabilities.add | sort) == ["NET_RAW", "SYS_PTRACE"]`); got != "true" {
		t.Errorf("security context %s", b.JQ(t, "agent/transfer.json", ".ephemeral_container.security_context"))
	}
	liveCheckCustody(t, b, "web", "capabilities.add=NET_RAW,SYS_PTRACE")
	liveEphemeral(t, e, ns, "shop", b.JQ(t, "agent/transfer.json", ".ephemeral_container.name"))
	// The live step came before the logs: the most volatile first.
	if got := b.JQ(t, "manifest.json", `[.artifacts[].path] | (index("pcap/capture.pcapng") < index("logs/web.log"))`); got != "true" {
		t.Errorf("artifact order: %s", b.JQ(t, "manifest.json", "[.artifacts[].path]"))
	}
}

// liveNonRootPod is a pod that runs as 65534:65534 with an emptyDir at
// /data, where a busybox init container (same user) leaves a known file
// with a known mode and two symbolic links pointing outside the root, and
// the distroless web server plants its own file. restricted makes every
// container fit PodSecurity restricted.
func liveNonRootPod(restricted bool) *corev1.Pod {
	setup := "printf 'known content\\n' > /data/known.txt && chmod 0604 /data/known.txt && ln -s /etc/shadow /data/escape && ln -s ../../../../../etc/passwd /data/up"
	pod := NewPod("nobody", corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080", "-plant", "/data/planted.txt"},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}})
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
		Command: []string{"sh", "-c", setup}, VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}
	if restricted {
		pod.Spec.SecurityContext.RunAsNonRoot = new(true)
		pod.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		for _, c := range []*corev1.Container{&pod.Spec.Containers[0], &pod.Spec.InitContainers[0]} {
			c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: new(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
		}
	}
	return pod
}

// liveCheckNonRootFS checks the non-root pod's files in fs/rootfs.tar, as
// seen through its volume: content, owner and mode kept, links kept as
// links with their target text, nothing under /proc.
func liveCheckNonRootFS(t *testing.T, b *kfOpened) {
	t.Helper()
	tarPath := filepath.Join(b.Root, "fs/rootfs.tar")
	members := tarMembers(t, tarPath)
	root := tarExtract(t, tarPath, "data")
	liveFile(t, root, "data/known.txt", "known content\n", 65534, 65534, 0o604)
	liveFile(t, root, "data/planted.txt", "planted by webserver\n", 65534, 65534, 0o640)
	for name, target := range map[string]string{"data/escape": "/etc/shadow", "data/up": "../../../../../etc/passwd"} {
		st, err := os.Lstat(filepath.Join(root, name))
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("fs/rootfs.tar %s is not a symbolic link: %v %v", name, st, err)
			continue
		}
		if got, _ := os.Readlink(filepath.Join(root, name)); got != target {
			t.Errorf("fs/rootfs.tar %s points to %q, want %q", name, got, target)
		}
	}
	// A link is never followed: nothing of the node's /etc came along.
	for _, m := range members {
		if m == "etc/shadow" || m == "etc/passwd" {
			t.Errorf("fs/rootfs.tar holds %s, which the distroless target does not have", m)
		}
	}
	liveNoProc(t, members)
	if got := b.JQ(t, "fs/mounts.json", `[.[] | select(.mount_point == "/data") | .kind] | join(",")`); got != "volume" {
		t.Errorf("fs/mounts.json: /data kind %q, want volume", got)
	}
}

// TestLiveCaptureNonRoot captures the filesystem and processes of a
// distroless target that runs as 65534:65534: the agent runs as that same
// user and group, with no capability, in a context PodSecurity restricted
// admits, and still reads the target's files, links and processes.
func TestLiveCaptureNonRoot(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveTools(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, liveNonRootPod(false), 2*time.Minute)
	if _, err := e.WaitForLog(t.Context(), ns, "nobody", "web", "webserver starting"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "nobody", "--filesystem", "--processes", "--yes"), 0)
	liveCheckTransfer(t, b, "fs/rootfs.tar", "fs/mounts.json", "fs/report.json", "proc/snapshot.json")
	liveCheckNonRootFS(t, b)
	liveSnapshot(t, b, "/webserver -listen :8080 -plant /data/planted.txt", 65534)
	if got := b.JQ(t, "agent/transfer.json", `.ephemeral_container | .podsecurity_needed == "restricted" and .security_context.runAsUser == 65534 and .security_context.runAsGroup == 65534 and .security_context.capabilities.drop == ["ALL"] and .security_context.capabilities.add == null`); got != "true" {
		t.Errorf("security context: %s", b.JQ(t, "agent/transfer.json", ".ephemeral_container"))
	}
	liveCheckCustody(t, b, "web", "runAsUser=65534 runAsGroup=65534", "capabilities.drop=ALL")
	if b.Has("pcap/capture.pcapng") {
		t.Error("a packet capture nobody asked for")
	}
	liveEphemeral(t, e, ns, "nobody", b.JQ(t, "agent/transfer.json", ".ephemeral_container.name"))
}

// TestLiveCaptureRestrictedNamespace: in a namespace that enforces
// PodSecurity restricted, packet capture is refused with the reason (on
// standard error and in the bundle), and the filesystem and processes of
// the non-root target are still captured, as its own user.
func TestLiveCaptureRestrictedNamespace(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveTools(t)
	ns := e.Namespace(t)
	liveEnforce(t, e, ns, "restricted")
	e.CreatePod(t, ns, liveNonRootPod(true), 2*time.Minute)
	if _, err := e.WaitForLog(t.Context(), ns, "nobody", "web", "webserver starting"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "nobody", "--pcap", "3s", "--filesystem", "--processes", "--yes")
	reason := `pcap refused: namespace ` + ns + ` enforces PodSecurity "restricted", which forbids the NET_RAW capability packet capture needs`
	if !strings.Contains(r.Stderr, reason) || !strings.Contains(r.Stderr, "preflight: namespace "+ns+": cannot collect pcap") {
		t.Errorf("standard error lacks the reason %q:\n%s", reason, r.Stderr)
	}
	b := kfOneBundle(t, dir, r, 2)
	if got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path == "pcap/capture.pcapng") | .error`); !strings.HasPrefix(got, reason) {
		t.Errorf("pcap in the manifest: %q, want %q", got, reason)
	}
	if got := b.JQ(t, "manifest.json", `.incomplete_reasons | length`); got != "1" {
		t.Errorf("incomplete reasons: %s", b.JQ(t, "manifest.json", ".incomplete_reasons"))
	}
	if got := b.JQ(t, "preflight.json", `[.checks[] | select(.step == "pcap" or .step == "filesystem" or .step == "processes") | .step + ":" + .status] | join(",")`); got != "pcap:cannot,filesystem:ok,processes:ok" {
		t.Errorf("preflight live rows: %s", got)
	}
	liveCheckTransfer(t, b, "fs/rootfs.tar", "proc/snapshot.json")
	liveCheckNonRootFS(t, b)
	liveSnapshot(t, b, "/webserver -listen :8080 -plant /data/planted.txt", 65534)
	if got := b.JQ(t, "agent/transfer.json", `[.plan.refused[].step] == ["pcap"] and .ephemeral_container.podsecurity_needed == "restricted" and (.ephemeral_container.args | index("--pcap")) == null`); got != "true" {
		t.Errorf("transfer plan: %s", b.JQ(t, "agent/transfer.json", ".plan"))
	}
	liveCheckCustody(t, b, "web", "runAsUser=65534", "seccompProfile=RuntimeDefault")
}

// TestLiveCaptureMissingAgentImage: an agent image the node does not have
// gives a clear error naming it (and the node, and how to import it), and
// everything else is still captured.
func TestLiveCaptureMissingAgentImage(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("web", corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080"}}), 2*time.Minute)
	dir := t.TempDir()
	const image = "forensic/agent:no-such-tag"
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "web", "--processes", "--agent-image", image, "--yes")
	want := "the agent image " + image + " cannot be run on node " + e.NodeName
	if !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "ctr -n k8s.io images import") {
		t.Errorf("standard error lacks %q and how to import it:\n%s", want, r.Stderr)
	}
	b := kfOneBundle(t, dir, r, 2)
	if got := b.JQ(t, "manifest.json", `.artifacts[] | select(.path == "proc/snapshot.json") | .error`); !strings.Contains(got, want) {
		t.Errorf("proc/snapshot.json in the manifest: %q", got)
	}
	for _, f := range []string{"pod/pod.json", "logs/web.log", "pod/events.json", "node/node.json", "pod/pod-end.json", "agent/transfer.json"} {
		if !b.Has(f) {
			t.Errorf("the rest of the capture lacks %s", f)
		}
	}
	if got := b.JQ(t, "agent/transfer.json", `.ephemeral_container.state | test("^waiting: (ErrImagePull|ImagePullBackOff)")`); got != "true" {
		t.Errorf("transfer: %s", b.JQ(t, "agent/transfer.json", ".ephemeral_container"))
	}
	if got := b.JQ(t, "custody.json", `.actions[0].error | contains("`+image+`")`); got != "true" {
		t.Errorf("custody action: %s", b.JQ(t, "custody.json", ".actions"))
	}
}

// TestLiveCaptureNeedsYes: without a terminal and without --yes, live
// capture refuses before anything is collected, and the pod is unchanged.
func TestLiveCaptureNeedsYes(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("web", corev1.Container{Name: "web", Image: WebserverImage, Args: []string{"-listen", ":8080"}}), 2*time.Minute)
	dir := t.TempDir()
	r := kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "web", "--pcap", "2s")
	want := "live capture adds an ephemeral container that cannot be removed from pod " + ns + "/web: pass --yes to agree"
	if r.Code != 1 || !strings.Contains(r.Stderr, want) || r.Stdout != "" {
		t.Fatalf("capture without --yes: %s; want exit 1 and %q", r, want)
	}
	kfOnlyFiles(t, dir)
	p, err := e.Client.CoreV1().Pods(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.EphemeralContainers) != 0 {
		t.Errorf("the pod got ephemeral containers: %+v", p.Spec.EphemeralContainers)
	}
}

// liveApplyRBAC applies the shipped deploy/rbac/forensic-live-capture.yaml.
func liveApplyRBAC(t *testing.T, e *Env) {
	t.Helper()
	kfApplyRBAC(t, e)
	if _, err := e.Kubectl(t.Context(), "apply", "-f", filepath.Join(kfRepo, "deploy/rbac/forensic-live-capture.yaml")); err != nil {
		t.Fatal(err)
	}
}

// TestLiveCaptureWithShippedRoles: a service account bound to the shipped
// roles, forensic-capture and forensic-capture-nodes for reading and
// forensic-live-capture for the agent, captures live completely: the
// roles hold every permission live capture uses, over WebSocket.
func TestLiveCaptureWithShippedRoles(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveApplyRBAC(t, e)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, liveNonRootPod(false), 2*time.Minute)
	kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "responder")
	kfBind(t, e, "forensic-capture", ns, "responder", ns)
	kfBind(t, e, "forensic-capture-nodes", ns, "responder", "")
	kfBind(t, e, "forensic-live-capture", ns, "responder", ns)
	dir := t.TempDir()
	b := kfOneBundle(t, dir, kfRun(t, dir, kubeconfig, "capture", "-n", ns, "nobody", "--processes", "--yes"), 0)
	if got := b.JQ(t, "preflight.json", `[.ephemeral_containers.access[] | select(.allowed | not) | .verb + " " + .resource + "/" + .subresource] | join(",")`); got != "" {
		t.Errorf("the shipped roles do not grant: %s", got)
	}
	if got := b.JQ(t, "agent/transfer.json", ".transport"); got != "websocket" {
		t.Errorf("transport %q, want websocket (get pods/attach is granted)", got)
	}
	liveSnapshot(t, b, "/webserver -listen :8080 -plant /data/planted.txt", 65534)
}

// TestLiveCaptureAdmissionRefusal: a responder who may not read the
// namespace cannot know its PodSecurity level; the API server refuses the
// privileged agent, and the plugin plans again for the level the refusal
// names: packets refused with the API's words, processes captured as the
// target's user.
func TestLiveCaptureAdmissionRefusal(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveApplyRBAC(t, e)
	ns := e.Namespace(t)
	liveEnforce(t, e, ns, "restricted")
	e.CreatePod(t, ns, liveNonRootPod(true), 2*time.Minute)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pods-only"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	}}
	if _, err := e.Client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "blind")
	if _, err := e.Client.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "blind"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pods-only"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "blind", Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kfBind(t, e, "forensic-live-capture", ns, "blind", ns)
	dir := t.TempDir()
	r := kfRun(t, dir, kubeconfig, "capture", "-n", ns, "nobody", "--pcap", "2s", "--processes", "--yes")
	b := kfOneBundle(t, dir, r, 2)
	if got := b.JQ(t, "preflight.json", ".pod_security.enforce // \"\""); got != "" {
		t.Fatalf("the preflight knew the level: %q", got)
	}
	pcapErr := b.JQ(t, "manifest.json", `.artifacts[] | select(.path == "pcap/capture.pcapng") | .error`)
	for _, want := range []string{"pcap refused by the API server's admission", `violates PodSecurity "restricted`, "forbids the NET_RAW capability"} {
		if !strings.Contains(pcapErr, want) {
			t.Errorf("pcap error %q lacks %q", pcapErr, want)
		}
	}
	if got := b.JQ(t, "agent/transfer.json", `(.admission | length) == 1 and .plan.namespace_enforces == "restricted" and .ephemeral_container.podsecurity_needed == "restricted"`); got != "true" {
		t.Errorf("transfer: %s", b.JQ(t, "agent/transfer.json", "{admission, plan}"))
	}
	liveSnapshot(t, b, "/webserver -listen :8080 -plant /data/planted.txt", 65534)
	if !strings.Contains(r.Stderr, "pcap refused by the API server's admission") {
		t.Errorf("standard error lacks the refusal:\n%s", r.Stderr)
	}
}

// liveEnforce labels namespace ns with the PodSecurity enforce level.
func liveEnforce(t *testing.T, e *Env, ns, level string) {
	t.Helper()
	n, err := e.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels["pod-security.kubernetes.io/enforce"] = level
	if _, err := e.Client.CoreV1().Namespaces().Update(t.Context(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
