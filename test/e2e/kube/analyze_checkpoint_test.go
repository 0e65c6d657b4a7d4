//go:build e2e

package kubee2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/internal/testutil"
	"github.com/forensic-tools/forensic/shared/analyze"
	"github.com/forensic-tools/forensic/shared/analyze/criu"
)

// checkpointctlBinary returns checkpointctl v1.4.0, built from the module
// proxy once per version into the shared tool cache
// (testutil.CachedGoTool): the newest release whose dependencies the proxy
// serves in full (v1.5.0 to v1.7.0 need go-criu v8 releases it does not
// serve).
func checkpointctlBinary(t testing.TB) string {
	t.Helper()
	return testutil.CachedGoTool(t, "github.com/checkpoint-restore/checkpointctl", "v1.4.0", "CGO_ENABLED=0")
}

// TestAnalyzeKubeletCheckpoint analyses an archive the kubelet wrote and
// compares it with checkpointctl on the same archive: container, process
// tree, command lines, environments, open files, sockets, mounts, memory
// sizes and the hits of a memory search. The container keeps a marker made
// at run time in a shell variable and a token in its environment, and
// runs a copy of busybox from /tmp/sleep (in the writable layer, rootfs-diff.tar).
func TestAnalyzeKubeletCheckpoint(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	token := "ghp_" + "Qm3Zt8Lw1Kd6Xr9Vb2Np5Hc7Fy0Js4Ua6Eo1"
	e.CreatePod(t, ns, NewPod("marked", corev1.Container{Name: "main", Image: BusyboxImage,
		Env: []corev1.EnvVar{{Name: "GITHUB_TOKEN", Value: token}},
		// The child starts before the marker is printed, so that the
		// checkpoint taken once the marker is seen holds both.
		// busybox picks the applet by its name: the copy is called sleep.
		Command: []string{"sh", "-c", `cp /bin/busybox /tmp/sleep; /tmp/sleep 100000 & ` +
			`M=forensic-marker-$RANDOM$RANDOM$RANDOM; echo $M; wait`}}), 2*time.Minute)
	logs, err := e.WaitForLog(t.Context(), ns, "marked", "main", "forensic-marker-")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`forensic-marker-\d+`).FindString(logs)
	paths, err := e.Checkpoint(t.Context(), ns, "marked", "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 {
		t.Fatalf("checkpoint archives = %q, want one", paths)
	}
	archive := paths[0]
	t.Cleanup(func() { os.Remove(archive) })
	dir := t.TempDir()

	res := kfRun(t, dir, "", "analyze", "-o", "json", "--show-secrets", "--search", marker, archive)
	if res.Code != 0 {
		t.Fatalf("analyze: %s", res)
	}
	var rep analyze.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Checkpoint
	if rep.Input.Kind != analyze.KindCheckpoint || rep.Input.Layout != "kubelet" || c == nil || c.Container == nil {
		t.Fatalf("input %+v: want a kubelet checkpoint with its container", rep.Input)
	}
	if c.Container.Pod != "marked" || c.Container.Namespace != ns || c.Container.Name != "main" {
		t.Errorf("container %+v: want main of %s/marked", c.Container, ns)
	}

	cc := checkpointctlBinary(t)
	var out bytes.Buffer
	cmd := exec.Command(cc, "inspect", "--all", "--format", "json", archive)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("checkpointctl inspect: %v", err)
	}
	var ins []struct {
		Name           string `json:"container_name"`
		Image          string `json:"image"`
		ID             string `json:"id"`
		Engine         string `json:"engine"`
		CheckpointSize struct {
			Total      int64 `json:"total_size"`
			Pages      int64 `json:"memory_pages_size"`
			RootfsDiff int64 `json:"root_fs_diff_size"`
		} `json:"checkpoint_size"`
		Tree   *kubePsNode `json:"process_tree"`
		Mounts []struct{ Destination, Type, Source string }
		Files  []struct {
			PID   uint32                            `json:"pid"`
			Files []struct{ Type, FD, Path string } `json:"open_files"`
		} `json:"file_descriptors"`
		Sockets []struct {
			PID     uint32            `json:"pid"`
			Sockets []json.RawMessage `json:"open_sockets"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal(out.Bytes(), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("checkpointctl inspect: %v (%d checkpoints)\n%s", err, len(ins), out.String())
	}
	want := ins[0]
	if c.Container.Name != want.Name || c.Container.Image != want.Image || want.ID == "" || !strings.HasPrefix(c.Container.ID, want.ID) || c.Container.Engine != want.Engine {
		t.Errorf("container %+v, checkpointctl says %s image %s id %s engine %s", c.Container, want.Name, want.Image, want.ID, want.Engine)
	}
	if c.Sizes.Total != want.CheckpointSize.Total || c.Sizes.Pages != want.CheckpointSize.Pages || c.Sizes.RootfsDiff != want.CheckpointSize.RootfsDiff {
		t.Errorf("sizes %+v, checkpointctl says %+v", c.Sizes, want.CheckpointSize)
	}
	var walk func(n *kubePsNode) int
	walk = func(n *kubePsNode) int {
		count := 1
		p := findKubeProcess(&rep, n.PID)
		if p == nil {
			t.Errorf("pid %d (%s) is not in the report", n.PID, n.Command)
			return count
		}
		if p.Comm != n.Command || strings.Join(p.Cmdline, " ") != strings.TrimSpace(n.Cmdline) {
			t.Errorf("pid %d: %s %q, checkpointctl says %s %q", n.PID, p.Comm, p.Cmdline, n.Command, n.Cmdline)
		}
		env := map[string]string{}
		for _, kv := range p.Env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		for k, v := range n.Env {
			if env[k] != v {
				t.Errorf("pid %d: %s=%q, checkpointctl says %q", n.PID, k, env[k], v)
			}
		}
		for _, ch := range n.Children {
			count += walk(ch)
		}
		return count
	}
	if n := walk(want.Tree); n != len(c.Processes) || n < 2 {
		t.Errorf("%d processes, checkpointctl says %d (want the shell and its child)", len(c.Processes), n)
	}
	for _, fds := range want.Files {
		p := findKubeProcess(&rep, fds.PID)
		if p == nil {
			continue
		}
		var mine, theirs []string
		for _, f := range p.Files {
			mine = append(mine, fmt.Sprintf("%s %d", f.Type, f.FD))
		}
		for _, f := range fds.Files {
			if f.FD != "cwd" && f.FD != "root" {
				theirs = append(theirs, f.FD)
			}
		}
		slices.Sort(mine)
		slices.Sort(theirs)
		if !slices.Equal(mine, theirs) {
			t.Errorf("pid %d open files %q, checkpointctl says %q", fds.PID, mine, theirs)
		}
	}
	nsk, mysk := 0, 0
	for _, s := range want.Sockets {
		nsk += len(s.Sockets)
	}
	for _, p := range c.Processes {
		mysk += len(p.Sockets)
	}
	if nsk != mysk {
		t.Errorf("%d sockets, checkpointctl says %d", mysk, nsk)
	}
	var mounts, theirMounts []string
	for _, m := range c.Mounts {
		mounts = append(mounts, m.Destination+" "+m.Type+" "+m.Source)
	}
	for _, m := range want.Mounts {
		theirMounts = append(theirMounts, m.Destination+" "+m.Type+" "+m.Source)
	}
	if len(mounts) == 0 || !slices.Equal(mounts, theirMounts) {
		t.Errorf("mounts %q, checkpointctl says %q", mounts, theirMounts)
	}

	// The token: in clear with --show-secrets, masked without.
	shell := findKubeProcess(&rep, want.Tree.PID)
	if shell == nil || !slices.Contains(shell.Env, "GITHUB_TOKEN="+token) {
		t.Errorf("--show-secrets: the shell's environment lacks the token in clear")
	}
	masked := kfRun(t, dir, "", "analyze", archive)
	if masked.Code != 0 || strings.Contains(masked.Stdout, token) || !strings.Contains(masked.Stdout, "GITHUB_TOKEN=ghp_****") {
		t.Errorf("without --show-secrets: exit %d, token in clear %v", masked.Code, strings.Contains(masked.Stdout, token))
	}
	// The copy of busybox in /tmp: the program is not the image's.
	if !slices.ContainsFunc(rep.Findings, func(f analyze.Finding) bool {
		return f.Rule == "memory-exe-not-image" && f.Path == "/tmp/sleep"
	}) {
		t.Errorf("no memory-exe-not-image finding for /tmp/sleep")
	}

	// memparse --search finds the marker at the same addresses.
	out.Reset()
	cmd = exec.Command(cc, "memparse", "--search="+marker, "--pid", strconv.Itoa(int(want.Tree.PID)), archive)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("checkpointctl memparse --search: %v", err)
	}
	var theirHits, hits []uint64
	for _, m := range regexp.MustCompile(`(?m)^([0-9a-f]{16})\s`).FindAllStringSubmatch(out.String(), -1) {
		a, _ := strconv.ParseUint(m[1], 16, 64)
		theirHits = append(theirHits, a)
	}
	for _, h := range rep.Search.Hits {
		if uint32(h.PID) == want.Tree.PID {
			hits = append(hits, h.Address)
		}
	}
	slices.Sort(theirHits)
	if len(hits) == 0 || !slices.Equal(hits, theirHits) {
		t.Errorf("--search hits %#x, checkpointctl memparse --search finds %#x", hits, theirHits)
	}
}

type kubePsNode struct {
	PID      uint32            `json:"pid"`
	Command  string            `json:"command"`
	Cmdline  string            `json:"cmdline"`
	Env      map[string]string `json:"environment_variables"`
	Children []*kubePsNode     `json:"children"`
}

func findKubeProcess(rep *analyze.Report, pid uint32) *criu.Process {
	for _, p := range rep.Checkpoint.Processes {
		if p.PID == pid {
			return p
		}
	}
	return nil
}
