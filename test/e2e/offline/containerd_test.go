//go:build e2e

// Package offline_e2e runs kubectl forensic offline against the root of
// a real containerd (the test node's build, started by the test on its
// own root, state and socket), after it has stopped.
package offline_e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/internal/testutil"
)

var (
	repoRoot string
	kubectlF string
	binDir   string
)

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "offline e2e setup failed: %v\n", err)
		os.Exit(1)
	}
	if code == 0 {
		code = m.Run()
	}
	os.Exit(code)
}

func setup() (int, error) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		return 1, err
	}
	repoRoot = root
	if os.Getuid() != 0 {
		return 1, fmt.Errorf("the offline suite runs containerd and mounts: run it as root")
	}
	for _, tool := range []string{"tar", "sha256sum", "busybox", "runc", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 1, fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	out, err := exec.Command(filepath.Join(root, "test/k8s/cluster"), "bindir").Output()
	if err != nil {
		return 1, fmt.Errorf("test/k8s/cluster bindir: %w", err)
	}
	binDir = strings.TrimSpace(string(out))
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return 1, fmt.Errorf("%s is not built (run test/k8s/cluster build): %w", b, err)
		}
	}
	work, err := os.MkdirTemp("", "forensic-e2e-offline-")
	if err != nil {
		return 1, err
	}
	kubectlF = filepath.Join(work, "kubectl-forensic")
	build := exec.Command("go", "build", "-o", kubectlF, "./kubectl-forensic")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("building kubectl-forensic: %v\n%s", err, out)
	}
	return 0, nil
}

type result struct {
	stdout, stderr string
	code           int
}

func forensic(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(kubectlF, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("$ kubectl forensic %s  (exit %d)\n%s%s", strings.Join(args, " "), code, so.String(), se.String())
	return result{so.String(), se.String(), code}
}

// containerd is a containerd of the test's own.
type containerd struct {
	dir, root, sock string
	stop            func()
}

func startContainerd(t *testing.T) *containerd {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "fc-")
	if err != nil {
		t.Fatal(err)
	}
	c := &containerd{dir: dir, root: filepath.Join(dir, "root"), sock: filepath.Join(dir, "c.sock")}
	config := fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = %q
`, c.root, filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "debug.sock"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(dir, "containerd.log"))
	cmd := exec.Command(filepath.Join(binDir, "containerd"), "--config", filepath.Join(dir, "config.toml"))
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	c.stop = func() {
		select {
		case <-done:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(dir)
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := c.ctr("version"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd never answered:\n%s", log)
		}
	}
	return c
}

func (c *containerd) ctr(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "ctr"), append([]string{"-a", c.sock, "-n", "k8s.io"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *containerd) mustCtr(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.ctr(args...)
	if err != nil {
		t.Fatalf("ctr %v: %v\n%s", args, err, out)
	}
	return out
}

// imageArchive writes a docker-archive image of one layer made from dir.
func imageArchive(t *testing.T, dir, tag string) string {
	t.Helper()
	work := t.TempDir()
	layer := filepath.Join(work, "layer.tar")
	if out, err := exec.Command("tar", "-C", dir, "--numeric-owner", "-cf", layer, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	lb, _ := os.ReadFile(layer)
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(lb))
	config, _ := json.Marshal(map[string]any{
		"architecture": goarch(), "os": "linux", "created": "2026-01-02T03:04:05Z",
		"config":  map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]any{{"created": "2026-01-02T03:04:05Z", "created_by": "offline e2e: busybox rootfs"}},
	})
	cname := fmt.Sprintf("%x.json", sha256.Sum256(config))
	os.WriteFile(filepath.Join(work, cname), config, 0o644)
	manifest, _ := json.Marshal([]map[string]any{{"Config": cname, "RepoTags": []string{tag}, "Layers": []string{"layer.tar"}}})
	os.WriteFile(filepath.Join(work, "manifest.json"), manifest, 0o644)
	archive := filepath.Join(t.TempDir(), "image.tar")
	if out, err := exec.Command("tar", "-C", work, "-cf", archive, "manifest.json", cname, "layer.tar").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return archive
}

func goarch() string {
	out, _ := exec.Command("go", "env", "GOARCH").Output()
	return strings.TrimSpace(string(out))
}

func extract(t *testing.T, bundle string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", bundle, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf %s: %v\n%s", bundle, err, out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("bundle %s holds %d root folders", bundle, len(entries))
	}
	return filepath.Join(dir, entries[0].Name())
}

// TestOfflineContainerdRoot runs a container with CRI labels on a
// containerd of its own (overlayfs snapshotter); the container writes,
// deletes and drops an executable; the kernel's overlay mount of its
// snapshot is read as the oracle; containerd stops; then kubectl forensic
// offline lists the container with its pod, namespace and container name
// and exports it: the merged filesystem equals the kernel's, the bundle
// verifies, the pod logs folder's files are carried, and nothing under the
// root changed.
func TestOfflineContainerdRoot(t *testing.T) {
	c := startContainerd(t)
	rootfs := t.TempDir()
	for _, d := range []string{"bin", "etc/conf.d", "tmp"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	bb, _ := exec.LookPath("busybox")
	b, _ := os.ReadFile(bb)
	os.WriteFile(filepath.Join(rootfs, "bin/busybox"), b, 0o755)
	for _, a := range []string{"sh", "echo", "rm", "cp", "mkdir", "chmod"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	os.WriteFile(filepath.Join(rootfs, "etc/motd"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc/conf.d/a"), []byte("a\n"), 0o644)
	c.mustCtr(t, "images", "import", "--snapshotter", "overlayfs", imageArchive(t, rootfs, "docker.io/offline-test/bb:1"))
	c.mustCtr(t, "run", "--snapshotter", "overlayfs",
		"--label", "io.kubernetes.pod.name=web-0", "--label", "io.kubernetes.pod.namespace=shop",
		"--label", "io.kubernetes.pod.uid=0f0e0d0c-1111-2222-3333-444455556666", "--label", "io.kubernetes.container.name=app",
		"docker.io/offline-test/bb:1", "ctr1", "sh", "-c",
		"echo hi > /newfile; rm /etc/motd; rm -r /etc/conf.d; mkdir /etc/conf.d; echo b > /etc/conf.d/b; cp /bin/busybox /tmp/dropper; ln -s ../../../../etc/shadow /tmp/escape")
	// The oracle: the kernel's own overlay mount of the container's snapshot.
	mnt := filepath.Join(c.dir, "mnt")
	os.Mkdir(mnt, 0o755)
	mountCmd := c.mustCtr(t, "snapshots", "--snapshotter", "overlayfs", "mounts", mnt, "ctr1")
	if out, err := exec.Command("sh", "-c", mountCmd).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", mountCmd, err, out)
	}
	kernel := testutil.ReadTree(t, mnt)
	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	c.stop()

	podLogs := t.TempDir()
	logDir := filepath.Join(podLogs, "shop_web-0_0f0e0d0c-1111-2222-3333-444455556666", "app")
	os.MkdirAll(logDir, 0o755)
	os.WriteFile(filepath.Join(logDir, "0.log"), []byte("2026-12-06T20:00:00.000000001Z stdout F hello\n2026-12-06T20:00:00.000000002Z stderr P par\n2026-12-06T20:00:00.000000003Z stderr F tial\n"), 0o640)

	before := testutil.TreeState(t, c.root)
	ls := forensic(t, "offline", "ls", "--root", c.root, "-o", "json")
	var l struct {
		Kind       string
		Containers []struct {
			ID, Namespace, Pod, Image string
			PodNamespace              string `json:"pod_namespace"`
			KubeContainer             string `json:"kube_container"`
			ImageDigest               string `json:"image_digest"`
		}
		Images []struct{ Name, Digest string }
	}
	if err := json.Unmarshal([]byte(ls.stdout), &l); err != nil || ls.code != 0 {
		t.Fatalf("offline ls -o json: exit %d, %v", ls.code, err)
	}
	if l.Kind != "containerd" || len(l.Containers) != 1 || len(l.Images) != 1 {
		t.Fatalf("offline ls: %+v", l)
	}
	got := l.Containers[0]
	if got.ID != "ctr1" || got.Namespace != "k8s.io" || got.Pod != "web-0" || got.PodNamespace != "shop" || got.KubeContainer != "app" ||
		got.Image != "docker.io/offline-test/bb:1" || got.ImageDigest == "" || got.ImageDigest != l.Images[0].Digest {
		t.Errorf("offline ls: container %+v", got)
	}

	out := t.TempDir()
	ex := forensic(t, "offline", "export", "--root", c.root, "--pod-logs", podLogs, "--output-dir", out, "shop/web-0/app")
	if ex.code != 0 {
		t.Fatalf("offline export: exit %d", ex.code)
	}
	bundle := strings.TrimSpace(ex.stdout)
	if v := forensic(t, "verify", bundle); v.code != 0 {
		t.Errorf("verify: exit %d", v.code)
	}
	root := extract(t, bundle)
	if out, err := exec.Command("sh", "-c", "cd '"+root+"' && sha256sum --strict -c --quiet SHA256SUMS").CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(root, "container/filesystem.tar"))
	if err != nil {
		t.Fatal(err)
	}
	offline := testutil.ReadTar(t, f)
	f.Close()
	var names []string
	for p, want := range kernel {
		if offline[p] != want {
			t.Errorf("%s: kernel overlay %+v, offline %+v", p, want, offline[p])
		}
		names = append(names, p)
	}
	for p := range offline {
		if _, ok := kernel[p]; !ok {
			t.Errorf("%s is in the offline filesystem, not in the kernel's overlay mount", p)
		}
	}
	sort.Strings(names)
	if len(kernel) < 10 || kernel["newfile"].Type != tar.TypeReg || kernel["tmp/escape"].Link != "../../../../etc/shadow" {
		t.Fatalf("the oracle mount looks wrong: %v", names)
	}
	if _, ok := offline["etc/conf.d/a"]; ok {
		t.Errorf("the opaque folder etc/conf.d still shows the image's file a")
	}
	diff, _ := os.ReadFile(filepath.Join(root, "container/diff.txt"))
	for _, want := range []string{"A /newfile", "D /etc/motd", "A /tmp/dropper", "D /etc/conf.d/a", "A /etc/conf.d/b"} {
		if !strings.Contains(string(diff), want+"\n") {
			t.Errorf("diff.txt lacks %q:\n%s", want, diff)
		}
	}
	drift, _ := os.ReadFile(filepath.Join(root, "container/drift.json"))
	var d struct {
		NewExecutables []struct{ Path string } `json:"new_executables"`
		Deleted        []struct{ Path string }
	}
	json.Unmarshal(drift, &d)
	if len(d.NewExecutables) != 1 || d.NewExecutables[0].Path != "/tmp/dropper" {
		t.Errorf("drift.json new executables: %+v", d.NewExecutables)
	}
	for _, p := range []string{"container/records/container.json", "container/records/snapshots.json", "container/records/image.json", "container/spec.json", "image/config.json", "image/history.json", "logs/files/0.log", "engine/meta.db", "engine/overlayfs-metadata.db"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("bundle lacks %s", p)
		}
	}
	stderr, _ := os.ReadFile(filepath.Join(root, "logs/stderr.log"))
	if string(stderr) != "2026-12-06T20:00:00.000000002Z partial\n" {
		t.Errorf("logs/stderr.log = %q", stderr)
	}
	var cu struct {
		Target struct {
			ID    string
			Extra map[string]string
		}
		Engine struct{ Kind, Host, Version string }
		Notes  []string
	}
	cb, _ := os.ReadFile(filepath.Join(root, "custody.json"))
	json.Unmarshal(cb, &cu)
	if cu.Target.ID != "ctr1" || cu.Target.Extra["pod"] != "web-0" || cu.Engine.Kind != "containerd-offline-root" || !strings.Contains(cu.Engine.Version, "database version") ||
		!strings.Contains(strings.Join(cu.Notes, "\n"), "meta.db") {
		t.Errorf("custody.json: %s", cb)
	}
	// The manifest's meta.db is the root's, byte for byte.
	orig, _ := os.ReadFile(filepath.Join(c.root, "io.containerd.metadata.v1.bolt/meta.db"))
	copied, _ := os.ReadFile(filepath.Join(root, "engine/meta.db"))
	if len(orig) == 0 || !bytes.Equal(orig, copied) {
		t.Errorf("engine/meta.db (%d bytes) is not the root's meta.db (%d bytes)", len(copied), len(orig))
	}
	after := testutil.TreeState(t, c.root)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("source changed: %s\n  before %s\n  after  %s", p, v, after[p])
		}
	}
	if len(after) != len(before) {
		t.Errorf("source changed: %d entries before, %d after", len(before), len(after))
	}

	t.Run("corrupt meta.db", func(t *testing.T) {
		cp := filepath.Join(c.dir, "copy")
		if out, err := exec.Command("cp", "-a", c.root, cp).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v\n%s", err, out)
		}
		os.WriteFile(filepath.Join(cp, "io.containerd.metadata.v1.bolt/meta.db"), bytes.Repeat([]byte("not a bolt database "), 1000), 0o600)
		r := forensic(t, "offline", "ls", "--root", cp)
		if r.code != 0 || !strings.Contains(r.stderr, "meta.db") {
			t.Errorf("a corrupt meta.db: exit %d, want 0 with what could not be read on stderr", r.code)
		}
		r = forensic(t, "offline", "export", "--root", cp, "--output-dir", t.TempDir(), "ctr1")
		if r.code != 1 || !strings.Contains(r.stderr, `no container "ctr1"`) {
			t.Errorf("export with a corrupt meta.db: exit %d, want 1 naming the container", r.code)
		}
	})
}
