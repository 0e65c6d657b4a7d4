//go:build e2e

package kubee2e

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// This file holds the test of kubectl forensic offline against the
// running test node's own containerd root: the live capture's filesystem
// tar, read by the agent through the kernel's overlay mount of the
// container, is the oracle for the merged filesystem the offline code
// rebuilds from the snapshot folders.

// offEntry is one file of a filesystem tar, everything compared.
type offEntry struct {
	Type     byte
	Mode     int64
	UID, GID int
	Size     int64
	Link     string
	SHA256   string
}

// offReadTar reads a filesystem tar into path -> entry. Paths lose "./",
// "/" at either end; the root itself is left out. A hard link becomes the
// entry it links to: which name of a link group a writer stores first is
// its walk order's choice, not a property of the filesystem.
func offReadTar(t *testing.T, path string) map[string]offEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clean := func(n string) string { return strings.Trim(strings.TrimPrefix(n, "./"), "/") }
	out := map[string]offEntry{}
	links := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		name := clean(h.Name)
		if name == "" || name == "." {
			continue
		}
		if h.Typeflag == tar.TypeLink {
			links[name] = clean(h.Linkname)
			continue
		}
		e := offEntry{Type: h.Typeflag, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Size: h.Size, Link: h.Linkname}
		if h.Typeflag == tar.TypeDir {
			e.Size = 0
		}
		if h.Typeflag == tar.TypeReg {
			hs := sha256.New()
			if _, err := io.Copy(hs, tr); err != nil {
				t.Fatalf("reading %s member %s: %v", path, h.Name, err)
			}
			e.SHA256 = hex.EncodeToString(hs.Sum(nil))
		}
		out[name] = e
	}
	for name, target := range links {
		e, ok := out[target]
		if !ok {
			t.Errorf("%s: hard link %s to %s, which the tar does not hold", path, name, target)
			continue
		}
		out[name] = e
	}
	return out
}

// offMayDiffer says why a path may legitimately differ between the agent's
// view of the running container and its layers at rest, or "" when it
// must be the same. Only what the runtime mounts over the root filesystem
// when the container starts is exempt:
//   - /dev is a tmpfs runc mounts with device nodes, /dev/pts, /dev/shm,
//     /dev/mqueue and the kubelet's /dev/termination-log; at rest there is
//     the image's empty mount point folder;
//   - /proc and /sys are kernel filesystems: the agent stores the mount
//     point (with the mounted filesystem's mode) and nothing below it, at
//     rest there is the image's folder; what is below must match (nothing);
//   - /etc/hosts, /etc/hostname and /etc/resolv.conf are the kubelet's and
//     containerd's files bind-mounted at run time; at rest there is, at
//     most, the empty mount point file runc created in the writable layer.
func offMayDiffer(p string) string {
	switch {
	case p == "dev" || strings.HasPrefix(p, "dev/"):
		return "a tmpfs mounted by runc at run time"
	case p == "proc" || p == "sys":
		return "mount point of a kernel filesystem"
	case p == "etc/hosts" || p == "etc/hostname" || p == "etc/resolv.conf":
		return "a file bind-mounted by the runtime at run time"
	}
	return ""
}

// offNodeContainerdRoot reads the root folder from the test node's
// containerd configuration (rendered by test/k8s/cluster up from
// test/k8s/config/containerd.toml into FORENSIC_K8S_DIR/config).
func offNodeContainerdRoot(t *testing.T) string {
	t.Helper()
	conf := filepath.Join(nodeDir(), "config", "containerd.toml")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatalf("reading the node's containerd configuration: %v", err)
	}
	m := regexp.MustCompile(`(?m)^root\s*=\s*"([^"]+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s names no root", conf)
	}
	root := string(m[1])
	if _, err := os.Stat(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db")); err != nil {
		t.Fatalf("containerd root %s from %s: %v", root, conf, err)
	}
	return root
}

// TestOfflineNodeRoot runs a busybox container that adds, changes and
// deletes files (a whiteout file, a whited-out folder, an opaque folder, a
// mode and an owner change, a link), captures its filesystem live through
// the agent, then exports it with kubectl forensic offline from the
// running node's containerd root and pod logs folder (both read from the
// node's own configuration): the merged filesystem equals the agent's,
// path by path (type, mode, owner, size, content, link target), but for
// the runtime's mounts (offMayDiffer), and offline ls names the pod,
// namespace and container.
func TestOfflineNodeRoot(t *testing.T) {
	t.Parallel()
	e := Require(t)
	liveTools(t)
	ns := e.Namespace(t)
	script := strings.Join([]string{
		"set -e",
		"printf 'added\\n' > /added.txt",
		"mkdir -p /var/lib/app && printf 'state\\n' > /var/lib/app/state && chmod 0640 /var/lib/app/state && chown 65534:65534 /var/lib/app/state",
		"ln -s ../etc/passwd /tmp/link",
		"printf 'extra:x:1000:1000::/home/extra:/bin/sh\\n' >> /etc/passwd",
		"chmod 0600 /etc/group && chown 0:65534 /etc/group",
		"rm /bin/vi",
		"rm -rf /home",
		"rm -rf /usr/sbin && mkdir /usr/sbin && printf 'only\\n' > /usr/sbin/only",
		"echo offline-ready",
		"exec sleep 3600",
	}, "\n")
	e.CreatePod(t, ns, NewPod("changed", kfBusybox(script)), 2*time.Minute)
	if _, err := e.WaitForLog(t.Context(), ns, "changed", "main", "offline-ready"); err != nil {
		t.Fatal(err)
	}
	pod, err := e.WaitForPod(t.Context(), ns, "changed", PodRunning)
	if err != nil {
		t.Fatal(err)
	}
	st := FindContainerStatus(pod, "main")
	cid, ok := strings.CutPrefix(st.ContainerID, "containerd://")
	if !ok {
		t.Fatalf("container ID %q is not containerd's", st.ContainerID)
	}

	// The oracle: the agent's tar of the running container's root.
	dir := t.TempDir()
	live := kfOneBundle(t, dir, kfRun(t, dir, e.Kubeconfig, "capture", "-n", ns, "pod/changed", "--filesystem", "--yes"), 0)
	liveCheckTransfer(t, live, "fs/rootfs.tar", "fs/mounts.json", "fs/report.json")
	agent := offReadTar(t, filepath.Join(live.Root, "fs/rootfs.tar"))
	// The container did what the test compares.
	for p, want := range map[string]bool{"added.txt": true, "var/lib/app/state": true, "tmp/link": true, "usr/sbin/only": true,
		"etc/group": true, "bin/vi": false, "home": false, "usr/sbin/chroot": false, "bin/sh": true} {
		if _, got := agent[p]; got != want {
			t.Fatalf("the agent's tar holds %s: %t, want %t; the container did not run its script", p, got, want)
		}
	}
	if a := agent["var/lib/app/state"]; a.UID != 65534 || a.Mode != 0o640 {
		t.Fatalf("the agent's tar: var/lib/app/state %+v", a)
	}

	// Offline, from the running node's root: the container is listed with
	// its pod, namespace and container name.
	root := offNodeContainerdRoot(t)
	podLogs, _, _ := naKubeletConfig(t, e)
	ls := kfRun(t, dir, "", "offline", "ls", "--root", root, "-o", "json")
	if ls.Code != 0 {
		t.Fatalf("offline ls: %s", ls)
	}
	var listing struct {
		Kind       string `json:"kind"`
		Containers []struct {
			ID            string `json:"id"`
			Namespace     string `json:"namespace"`
			Pod           string `json:"pod"`
			PodNamespace  string `json:"pod_namespace"`
			PodUID        string `json:"pod_uid"`
			KubeContainer string `json:"kube_container"`
			Image         string `json:"image"`
			State         string `json:"state"`
			Sandbox       bool   `json:"sandbox"`
		} `json:"containers"`
	}
	if err := json.Unmarshal([]byte(ls.Stdout), &listing); err != nil {
		t.Fatalf("offline ls -o json: %v\n%.2000s", err, ls.Stdout)
	}
	found := 0
	for _, c := range listing.Containers {
		if c.PodNamespace != ns {
			continue
		}
		if c.Sandbox {
			if c.Pod != "changed" {
				t.Errorf("offline ls: a sandbox of pod %q in %s", c.Pod, ns)
			}
			continue
		}
		if strings.HasPrefix(c.KubeContainer, "forensic-agent-") {
			// The live capture's ephemeral container, ended by now.
			if c.State != "exited" || !strings.Contains(c.Image, "forensic/agent:") {
				t.Errorf("offline ls: the agent's container %+v, want exited, image forensic/agent", c)
			}
			continue
		}
		found++
		if c.ID != cid || c.Pod != "changed" || c.KubeContainer != "main" || c.Namespace != "k8s.io" || c.PodUID != string(pod.UID) ||
			c.Image != "docker.io/"+BusyboxImage && c.Image != BusyboxImage || c.State != "running" {
			t.Errorf("offline ls: %+v; want ID %s, pod changed (%s) in %s, container main, containerd namespace k8s.io, image %s, running", c, cid, pod.UID, ns, BusyboxImage)
		}
	}
	if listing.Kind != "containerd" || found != 1 {
		t.Errorf("offline ls of %s: kind %q, %d containers of namespace %s, want containerd and 1", root, listing.Kind, found, ns)
	}

	// Offline export of the same container, with its pod logs.
	bundle := filepath.Join(dir, "offline.tar.gz")
	r := kfRun(t, dir, "", "offline", "export", "--root", root, "--pod-logs", podLogs, "-o", bundle, cid)
	if r.Code != 0 {
		t.Fatalf("offline export: %s", r)
	}
	off := kfOpen(t, bundle, true)
	if got := off.JQ(t, "custody.json", `.target | [.id, .namespace, .extra.pod, .extra.kube_container] | join(" ")`); got != cid+" "+ns+" changed main" {
		t.Errorf("custody.json target: %q", got)
	}
	if !strings.Contains(off.File(t, "logs/stdout.log"), "offline-ready") {
		t.Errorf("logs/stdout.log of the offline bundle lacks the container's line offline-ready:\n%.2000s", off.File(t, "logs/stdout.log"))
	}
	offline := offReadTar(t, filepath.Join(off.Root, "container/filesystem.tar"))

	var paths []string
	for p := range agent {
		paths = append(paths, p)
	}
	for p := range offline {
		if _, ok := agent[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	exempt := map[string]string{}
	for _, p := range paths {
		a, inAgent := agent[p]
		o, inOffline := offline[p]
		if why := offMayDiffer(p); why != "" {
			exempt[p] = why
			if (p == "proc" || p == "sys") && (!inAgent || !inOffline || a.Type != o.Type) {
				t.Errorf("/%s: agent %+v (%t), offline %+v (%t): a mount point folder in both", p, a, inAgent, o, inOffline)
			}
			continue
		}
		switch {
		case !inOffline:
			t.Errorf("/%s is in the live container (agent %+v), not in the offline filesystem", p, a)
		case !inAgent:
			t.Errorf("/%s is in the offline filesystem (%+v), not in the live container", p, o)
		case a != o:
			t.Errorf("/%s: live container (agent) %+v, offline %+v", p, a, o)
		}
	}
	if len(paths) < 200 {
		t.Errorf("only %d paths compared: the tars look empty", len(paths))
	}
	t.Logf("compared %d paths (agent %d, offline %d); exempt as runtime mounts: %v", len(paths), len(agent), len(offline), exempt)
	liveEphemeral(t, e, ns, "changed", live.JQ(t, "agent/transfer.json", ".ephemeral_container.name"))
}
