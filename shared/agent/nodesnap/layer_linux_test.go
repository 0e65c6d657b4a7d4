//go:build linux

package nodesnap

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

const testPID = 4242

// fakeContainerHost builds a host tree with the container testCID running
// as testPID on an overlay root: /proc/<pid>/{mountinfo,cgroup,status}, a
// lower layer with files the image shipped, and an upper layer where the
// container added, changed and deleted files (a whiteout made with mknod)
// and replaced a folder (opaque, trusted.overlay.opaque=y). It needs root.
func fakeContainerHost(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests make character devices and trusted xattrs: run them as root")
	}
	root := t.TempDir()
	upper, lower := "/var/lib/ctr/snap/9/fs", "/var/lib/ctr/snap/1/fs"
	proc := fmt.Sprintf("/proc/%d", testPID)
	writeFile(t, root, proc+"/mountinfo", []byte(
		"1200 1100 0:61 / / rw,relatime master:1 - overlay overlay rw,lowerdir="+lower+":/var/lib/ctr/snap/0/fs,upperdir="+upper+",workdir=/var/lib/ctr/snap/9/work\n"+
			"1201 1200 0:62 / /proc rw,nosuid - proc proc rw\n"))
	writeFile(t, root, proc+"/cgroup", []byte("0::/kubepods/besteffort/pod"+testUID+"/"+testCID+"\n"))
	writeFile(t, root, proc+"/status", []byte(fmt.Sprintf("Name:\tsh\nPPid:\t4000\nNSpid:\t%d\t1\n", testPID)))
	writeFile(t, root, "/proc/1/status", []byte("Name:\tinit\nPPid:\t0\nNSpid:\t1\n"))
	writeFile(t, root, "/proc/1/cgroup", []byte("0::/\n"))

	// The image: /etc/passwd, /etc/group, /opt/old/a.
	writeFile(t, root, lower+"/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"))
	writeFile(t, root, lower+"/etc/group", []byte("root:x:0:\n"))
	writeFile(t, root, lower+"/opt/old/a", []byte("old"))

	// The container: added /tmp/evil (and a hard link to it, and a
	// symlink), changed /etc/passwd, deleted /etc/group, replaced /opt/old.
	u := filepath.Join(root, upper)
	writeFile(t, u, "tmp/evil", []byte("#!/bin/sh\necho pwned\n"))
	if err := os.Link(filepath.Join(u, "tmp/evil"), filepath.Join(u, "tmp/evil2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/tmp/evil", filepath.Join(u, "tmp/link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, u, "etc/passwd", []byte("root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n"))
	if err := unix.Mknod(filepath.Join(u, "etc/group"), unix.S_IFCHR|0o000, 0); err != nil {
		t.Fatalf("making a whiteout: %v", err)
	}
	writeFile(t, u, "opt/old/b", []byte("new"))
	if err := unix.Setxattr(filepath.Join(u, "opt/old"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatalf("marking a folder opaque: %v", err)
	}
	if err := unix.Setxattr(filepath.Join(u, "tmp/evil"), "user.mark", []byte("x"), 0); err != nil {
		t.Fatalf("setting an xattr: %v", err)
	}
	return root
}

// tarEntry is what a test checks of a tar entry.
type tarEntry struct {
	Name, Link string
	Type       byte
	Body       string
	Xattr      string
}

func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading layer.tar: %v", err)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, tarEntry{Name: h.Name, Link: h.Linkname, Type: h.Typeflag, Body: string(body), Xattr: h.PAXRecords["SCHILY.xattr.user.mark"]})
	}
}

// TestLayerAndCRI: on a fake host with a fake CRI socket, the writable
// layer is found through the PID the verbose info gives, streamed as an
// OCI layer (whiteout .wh.group, opaque .wh..wh..opq, hard link, symlink,
// xattr), diff.json has the right kinds, and the CRI records and OCI spec
// are there as JSON.
func TestLayerAndCRI(t *testing.T) {
	root := fakeContainerHost(t)
	f := &fakeCRI{info: map[string]string{"info": fmt.Sprintf(`{"pid": %d, "sandboxID": "sb-ready", "runtimeSpec": {"ociVersion": "1.2.0", "process": {"args": ["sh"]}}}`, testPID)}}
	req := testRequest()
	req.CRIEndpoint = serveCRI(t, root, f)
	r := runSnap(t, Config{Request: req, HostRoot: root})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	cr := r.rep.Containers[0]
	if cr.PID != testPID || cr.PIDSource != "cri verbose info" {
		t.Errorf("pid %d from %q, want %d from the cri verbose info", cr.PID, cr.PIDSource, testPID)
	}
	want := []tarEntry{
		{Name: "etc/", Type: tar.TypeDir},
		{Name: "etc/.wh.group", Type: tar.TypeReg},
		{Name: "etc/passwd", Type: tar.TypeReg, Body: "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n"},
		{Name: "opt/", Type: tar.TypeDir},
		{Name: "opt/old/", Type: tar.TypeDir},
		{Name: "opt/old/.wh..wh..opq", Type: tar.TypeReg},
		{Name: "opt/old/b", Type: tar.TypeReg, Body: "new"},
		{Name: "tmp/", Type: tar.TypeDir},
		{Name: "tmp/evil", Type: tar.TypeReg, Body: "#!/bin/sh\necho pwned\n", Xattr: "x"},
		{Name: "tmp/evil2", Type: tar.TypeLink, Link: "tmp/evil", Xattr: "x"},
		{Name: "tmp/link", Type: tar.TypeSymlink, Link: "/tmp/evil"},
	}
	if diff := cmp.Diff(want, readTar(t, r.read(t, "node/app/layer.tar"))); diff != "" {
		t.Errorf("layer.tar (-want +got):\n%s", diff)
	}
	var changes []Change
	if err := json.Unmarshal(r.read(t, "node/app/diff.json"), &changes); err != nil {
		t.Fatal(err)
	}
	wantChanges := []Change{
		{Path: "/etc", Kind: KindChanged, Type: "dir"},
		{Path: "/etc/group", Kind: KindDeleted, Type: "whiteout"},
		{Path: "/etc/passwd", Kind: KindChanged, Type: "file"},
		{Path: "/opt", Kind: KindChanged, Type: "dir"},
		{Path: "/opt/old", Kind: KindChanged, Type: "dir", Opaque: true},
		{Path: "/opt/old/b", Kind: KindAdded, Type: "file"},
		{Path: "/tmp", Kind: KindAdded, Type: "dir"},
		{Path: "/tmp/evil", Kind: KindAdded, Type: "file"},
		{Path: "/tmp/evil2", Kind: KindAdded, Type: "hardlink"},
		{Path: "/tmp/link", Kind: KindAdded, Type: "symlink"},
	}
	if diff := cmp.Diff(wantChanges, changes); diff != "" {
		t.Errorf("diff.json (-want +got):\n%s", diff)
	}
	l := cr.Layer
	if !l.Found || l.UpperDir != "/var/lib/ctr/snap/9/fs" || l.WorkDir != "/var/lib/ctr/snap/9/work" ||
		!slices.Equal(l.LowerDirs, []string{"/var/lib/ctr/snap/1/fs", "/var/lib/ctr/snap/0/fs"}) ||
		l.Added != 5 || l.Changed != 4 || l.Deleted != 1 {
		t.Errorf("layer report %+v", l)
	}

	var status struct {
		Status struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"status"`
		Info struct {
			PID int `json:"pid"`
		} `json:"info"`
	}
	if err := json.Unmarshal(r.read(t, "node/app/cri-container-status.json"), &status); err != nil {
		t.Fatal(err)
	}
	if status.Status.ID != testCID || status.Status.State != "CONTAINER_RUNNING" || status.Info.PID != testPID {
		t.Errorf("cri-container-status.json: %+v", status)
	}
	if got := string(r.read(t, "node/app/oci-spec.json")); !strings.Contains(got, `"ociVersion": "1.2.0"`) {
		t.Errorf("oci-spec.json: %s", got)
	}
	if got := string(r.read(t, "node/app/cri-image-status.json")); !strings.Contains(got, `"sha256:1111"`) || !strings.Contains(got, `"chainID": "sha256:3333"`) {
		t.Errorf("cri-image-status.json: %s", got)
	}
	if got := string(r.read(t, ArtifactSandboxStatus)); !strings.Contains(got, `"sb-ready"`) || !strings.Contains(got, `"10.244.0.7"`) {
		t.Errorf("%s: %s", ArtifactSandboxStatus, got)
	}
	wantCalls := []string{"ContainerStatus " + testCID, "ImageStatus sha256:1111", "ListPodSandbox " + testUID, "PodSandboxStatus sb-ready"}
	if diff := cmp.Diff(wantCalls, f.calls); diff != "" {
		t.Errorf("cri calls (-want +got):\n%s", diff)
	}
}

// TestLayerWithoutCRI: with no CRI endpoint and no kubelet to ask, the
// init process is found by its cgroup, the layer is still streamed, the
// OCI spec comes from the runtime bundle the shim mounted the rootfs in,
// and the report says why the CRI records are missing.
func TestLayerWithoutCRI(t *testing.T) {
	root := fakeContainerHost(t)
	bundle := "/run/ctr/task/k8s.io/" + testCID
	writeFile(t, root, "/proc/4000/mountinfo", []byte(
		"900 800 0:61 / "+bundle+"/rootfs rw - overlay overlay rw,lowerdir=/var/lib/ctr/snap/1/fs,upperdir=/var/lib/ctr/snap/9/fs,workdir=/var/lib/ctr/snap/9/work\n"))
	writeFile(t, root, bundle+"/config.json", []byte(`{"ociVersion":"1.1.0"}`))
	r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	cr := r.rep.Containers[0]
	if cr.PID != testPID || cr.PIDSource != "cgroup in /proc" || !cr.Layer.Found {
		t.Errorf("pid %d from %q, layer %+v", cr.PID, cr.PIDSource, cr.Layer)
	}
	if got := string(r.read(t, "node/app/oci-spec.json")); got != `{"ociVersion":"1.1.0"}` {
		t.Errorf("oci-spec.json %q", got)
	}
	if cr.OCISpec.Source != "runtime bundle "+bundle+"/config.json" {
		t.Errorf("oci spec source %q", cr.OCISpec.Source)
	}
	if !strings.Contains(cr.ContainerStatus.Error, "CRI endpoint is unknown") || !strings.Contains(r.rep.Sandbox.Error, "CRI endpoint is unknown") {
		t.Errorf("cri errors %q, %q", cr.ContainerStatus.Error, r.rep.Sandbox.Error)
	}
}

// TestLayerNotFound: a container whose root is not an overlay, or whose
// process is gone, has no layer; the report says why and the session
// still ends well.
func TestLayerNotFound(t *testing.T) {
	t.Run("not overlay", func(t *testing.T) {
		root := fakeContainerHost(t)
		writeFile(t, root, fmt.Sprintf("/proc/%d/mountinfo", testPID), []byte("1200 1100 253:1 /x / rw - ext4 /dev/vda rw\n"))
		r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
		if l := r.rep.Containers[0].Layer; l.Found || !strings.Contains(l.Reason, "the root filesystem is ext4, not overlay") {
			t.Errorf("layer %+v", l)
		}
		if _, ok := r.artByNm["node/app/layer.tar"]; ok || r.err != nil {
			t.Errorf("layer.tar sent for a non-overlay root, or error %v", r.err)
		}
	})
	t.Run("no process", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, root, "/proc/1/cgroup", []byte("0::/\n"))
		r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
		if l := r.rep.Containers[0].Layer; l.Found || !strings.Contains(l.Reason, "init process was not found") {
			t.Errorf("layer %+v", l)
		}
	})
}

// TestLayerKindsThroughLowers: a path the container created is added even
// when a lower layer below a whiteout or below an opaque folder holds it
// (the image did not show it), and changed when the image showed it. A
// folder renamed by overlay (redirect xattr) is noted in the report.
func TestLayerKindsThroughLowers(t *testing.T) {
	root := fakeContainerHost(t)
	top, bottom, upper := "/var/lib/ctr/snap/1/fs", "/var/lib/ctr/snap/0/fs", "/var/lib/ctr/snap/9/fs"
	writeFile(t, root, bottom+"/srv/gone", []byte("deleted by the top image layer"))
	writeFile(t, root, bottom+"/srv/kept", []byte("kept"))
	if err := os.MkdirAll(filepath.Join(root, top, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(root, top, "srv/gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, bottom+"/var/cache/x", []byte("hidden by the opaque folder above"))
	writeFile(t, root, top+"/var/cache/y", []byte("y"))
	if err := unix.Setxattr(filepath.Join(root, top, "var/cache"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, upper+"/srv/gone", []byte("new"))
	writeFile(t, root, upper+"/srv/kept", []byte("changed"))
	writeFile(t, root, upper+"/var/cache/x", []byte("new"))
	writeFile(t, root, upper+"/var/cache/y", []byte("changed"))
	writeFile(t, root, upper+"/moved/f", []byte("f"))
	if err := unix.Setxattr(filepath.Join(root, upper, "moved"), "trusted.overlay.redirect", []byte("/old"), 0); err != nil {
		t.Fatal(err)
	}
	r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
	var changes []Change
	if err := json.Unmarshal(r.read(t, "node/app/diff.json"), &changes); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, c := range changes {
		kinds[c.Path] = c.Kind
	}
	for p, want := range map[string]string{"/srv/gone": KindAdded, "/srv/kept": KindChanged, "/var/cache/x": KindAdded, "/var/cache/y": KindChanged} {
		if kinds[p] != want {
			t.Errorf("%s: kind %q, want %q", p, kinds[p], want)
		}
	}
	errs := strings.Join(r.rep.Containers[0].Layer.EntryErrors, "\n")
	if !strings.Contains(errs, "/moved: a folder renamed in the container (overlay redirect from /old)") {
		t.Errorf("entry errors %q", errs)
	}
}
