//go:build e2e

package analyze_e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/internal/testutil"
	"github.com/forensic-tools/forensic/shared/analyze"
	"github.com/forensic-tools/forensic/shared/analyze/criu"
	"github.com/forensic-tools/forensic/shared/analyze/elfcore"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// The checkpoint and core tests run a target of their own, checkpoint it
// with CRIU (the build test/k8s/cluster deps unpacks) and take cores with
// gdb's gcore, then compare analyze with checkpointctl and gdb.

// criuBin is the CRIU 4.1.1 that test/k8s/cluster deps unpacks, in
// $FORENSIC_K8S_CACHE (default /var/cache/forensic-k8s) as the script
// does, or $CRIU.
func criuBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CRIU")
	if p == "" {
		cache := os.Getenv("FORENSIC_K8S_CACHE")
		if cache == "" {
			cache = "/var/cache/forensic-k8s"
		}
		p = filepath.Join(cache, "criu-4.1.1-1", "bin", "criu")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("CRIU 4.1.1 is needed at %s (test/k8s/cluster deps unpacks it; or set CRIU): %v", p, err)
	}
	return p
}

// TestCriuBinCache: with no $CRIU, the CRIU binary is looked for in
// $FORENSIC_K8S_CACHE, like test/k8s/cluster puts it there.
func TestCriuBinCache(t *testing.T) {
	cache := t.TempDir()
	want := filepath.Join(cache, "criu-4.1.1-1", "bin", "criu")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CRIU", "")
	t.Setenv("FORENSIC_K8S_CACHE", cache)
	if got := criuBin(t); got != want {
		t.Fatalf("criuBin = %s, want %s from FORENSIC_K8S_CACHE", got, want)
	}
}

// targetSrc keeps a marker made at run time in memory and two connected
// unix sockets open, and prints the marker and its address.
const targetSrc = `package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

var keep []byte

func main() {
	b := make([]byte, 8)
	rand.Read(b)
	keep = []byte("forensic-marker-" + hex.EncodeToString(b) + "\x00")
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %#x %v\n", keep[:len(keep)-1], uintptr(unsafe.Pointer(&keep[0])), fds)
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour)
	}
}
`

type target struct {
	pid    int
	marker string
	addr   uint64
}

// startTarget builds and starts the Go target in its own session, with
// runToken in its environment; it is killed when the test ends.
func startTarget(t *testing.T) target {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(targetSrc), 0o600)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module target\ngo 1.22\n"), 0o600)
	build := exec.Command("go", "build", "-o", "target", ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the target: %v\n%s", err, b)
	}
	return startCmd(t, exec.Command(filepath.Join(dir, "target")))
}

// startShell starts a busybox shell that keeps a marker made at run time
// in a variable, with a sleeping child: a small process for gcore.
func startShell(t *testing.T) target {
	t.Helper()
	return startCmd(t, exec.Command("busybox", "sh", "-c", `M=forensic-marker-$$-$RANDOM$RANDOM$RANDOM; echo $M 0x0; while :; do busybox sleep 3600; done`))
}

func startCmd(t *testing.T, cmd *exec.Cmd) target {
	t.Helper()
	cmd.Env = append(os.Environ(), "GITHUB_TOKEN="+runToken)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The whole session: the shell's sleeping child too.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the target printed no marker: %v", err)
	}
	f := strings.Fields(line)
	addr, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
	return target{pid: cmd.Process.Pid, marker: f[0], addr: addr}
}

// dump checkpoints the target with CRIU, leaving it running, into a new
// folder.
func dump(t *testing.T, pid int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "criu")
	os.Mkdir(dir, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, criuBin(t), "dump", "-t", strconv.Itoa(pid), "-D", dir, "--shell-job", "--leave-running", "-v1").CombinedOutput()
	if err != nil {
		t.Fatalf("criu dump: %v\n%s", err, b)
	}
	return dir
}

// kubeletArchive wraps a CRIU folder the way the kubelet and CRI-O lay out
// a checkpoint archive: checkpoint/ with the images, config.dump,
// spec.dump and stats-dump beside it.
func kubeletArchive(t *testing.T, criuDir string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "archive")
	os.MkdirAll(filepath.Join(root, "checkpoint"), 0o700)
	if b, err := exec.Command("cp", "-a", criuDir+"/.", filepath.Join(root, "checkpoint")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, b)
	}
	st, _ := os.ReadFile(filepath.Join(criuDir, "stats-dump"))
	os.WriteFile(filepath.Join(root, "stats-dump"), st, 0o600)
	os.WriteFile(filepath.Join(root, "config.dump"), []byte(`{"id":"0123456789ab","name":"target","rootfsImageName":"example.com/target:1","runtime":"runc","createdTime":"2026-12-06T20:00:00Z","checkpointedTime":"2026-12-06T20:05:00Z"}`), 0o600)
	os.WriteFile(filepath.Join(root, "spec.dump"), []byte(`{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-name":"target","io.kubernetes.pod.name":"web","io.kubernetes.pod.namespace":"default"},"mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/etc/hosts","type":"bind","source":"/var/lib/kubelet/pods/x/etc-hosts","options":["rbind","ro"]}]}`), 0o600)
	tarball := filepath.Join(t.TempDir(), "checkpoint-web_default-target-2026-12-06T20:05:00Z.tar")
	if b, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	return tarball
}

// checkpointctl returns checkpointctl v1.4.0, built from the module proxy
// once per version into the shared tool cache (testutil.CachedGoTool).
// v1.4.0 is the newest release whose dependencies the proxy serves in
// full: v1.5.0 to v1.7.0 need go-criu v8 releases (v8.1.0, v8.4.0, v8.5.0)
// the proxy does not serve, and v8.3.0, the one it does, reads CRIU 4's
// pagemaps without their page counts.
func checkpointctl(t *testing.T) string {
	t.Helper()
	return testutil.CachedGoTool(t, "github.com/checkpoint-restore/checkpointctl", "v1.4.0", "CGO_ENABLED=0")
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Oracle: on the same archive, analyze and checkpointctl agree on the
// process tree, command lines, environments, open files, sockets, mounts,
// memory sizes and memory search hits.
func TestCheckpointAgainstCheckpointctl(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process")
	tg := startTarget(t)
	archive := kubeletArchive(t, dump(t, tg.pid))
	cc := checkpointctl(t)

	rep, res := analyzeJSON(t, archive, "--show-secrets", "--search", tg.marker)
	if res.code != 0 {
		t.Fatalf("analyze: exit %d: %s", res.code, res.stderr)
	}
	if rep.Input.Kind != analyze.KindCheckpoint || rep.Input.Layout != "kubelet" || rep.Checkpoint == nil {
		t.Fatalf("input %+v: want a checkpoint in the kubelet layout", rep.Input)
	}
	var ins []struct {
		Name           string `json:"container_name"`
		Image          string `json:"image"`
		ID             string `json:"id"`
		Runtime        string `json:"runtime"`
		Engine         string `json:"engine"`
		CheckpointSize struct {
			Total int64 `json:"total_size"`
			Pages int64 `json:"memory_pages_size"`
		} `json:"checkpoint_size"`
		Stats struct {
			FrozenTime   uint32 `json:"frozen_time"`
			PagesWritten uint64 `json:"pages_written"`
		} `json:"statistics"`
		Tree            *psNode `json:"process_tree"`
		FileDescriptors []struct {
			PID   uint32 `json:"pid"`
			Files []struct {
				Type, FD, Path string
			} `json:"open_files"`
		} `json:"file_descriptors"`
		Sockets []struct {
			PID     uint32 `json:"pid"`
			Sockets []struct {
				Protocol string `json:"protocol"`
				Data     struct {
					Type, State, Address string
					Source               string `json:"src"`
					SourcePort           uint32 `json:"src_port"`
				} `json:"data"`
			} `json:"open_sockets"`
		} `json:"sockets"`
		Mounts []struct {
			Destination, Type, Source string
		} `json:"mounts"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, cc, "inspect", "--all", "--format", "json", archive)), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("checkpointctl inspect: %v (%d checkpoints)", err, len(ins))
	}
	want, got := ins[0], rep.Checkpoint

	// show: container, image, ID, runtime, engine, sizes, statistics.
	ct := got.Container
	if ct == nil || ct.Name != want.Name || ct.Image != want.Image || ct.ID != want.ID || ct.Runtime != want.Runtime || ct.Engine != want.Engine {
		t.Errorf("container %+v, checkpointctl says %s %s %s %s %s", ct, want.Name, want.Image, want.ID, want.Runtime, want.Engine)
	}
	if got.Sizes.Total != want.CheckpointSize.Total || got.Sizes.Pages != want.CheckpointSize.Pages {
		t.Errorf("sizes %+v, checkpointctl says %+v", got.Sizes, want.CheckpointSize)
	}
	if got.Stats == nil || got.Stats.FrozenTime != want.Stats.FrozenTime || got.Stats.PagesWritten != want.Stats.PagesWritten {
		t.Errorf("dump statistics %+v, checkpointctl says %+v", got.Stats, want.Stats)
	}

	// The process tree with command lines and environments.
	var walk func(n *psNode)
	seen := 0
	walk = func(n *psNode) {
		seen++
		p := findProcess(rep, n.PID)
		if p == nil {
			t.Errorf("pid %d (%s) is not in the report", n.PID, n.Command)
			return
		}
		if p.Comm != n.Command {
			t.Errorf("pid %d: comm %q, checkpointctl says %q", n.PID, p.Comm, n.Command)
		}
		if strings.Join(p.Cmdline, " ") != strings.TrimSpace(n.Cmdline) {
			t.Errorf("pid %d: cmdline %q, checkpointctl says %q", n.PID, p.Cmdline, n.Cmdline)
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
		if len(env) != len(n.Env) {
			t.Errorf("pid %d: %d environment variables, checkpointctl says %d", n.PID, len(env), len(n.Env))
		}
		for _, c := range n.Children {
			if q := findProcess(rep, c.PID); q == nil || q.PPID != n.PID {
				t.Errorf("pid %d: parent is not %d as checkpointctl says", c.PID, n.PID)
			}
			walk(c)
		}
	}
	walk(want.Tree)
	if seen != len(got.Processes) || seen == 0 {
		t.Errorf("%d processes, checkpointctl says %d", len(got.Processes), seen)
	}
	if p := findProcess(rep, uint32(tg.pid)); p == nil || !slices.Contains(p.Env, "GITHUB_TOKEN="+runToken) {
		t.Errorf("--show-secrets: the target's environment lacks GITHUB_TOKEN in clear")
	}

	// Open files and sockets.
	for _, fds := range want.FileDescriptors {
		p := findProcess(rep, fds.PID)
		var mine, theirs []string
		for _, f := range p.Files {
			path := f.Path
			if f.Type != "REG" {
				path = ""
			}
			mine = append(mine, fmt.Sprintf("%s %d %s", f.Type, f.FD, path))
		}
		for _, f := range fds.Files {
			path := f.Path
			switch {
			case f.FD == "cwd" && path == p.Cwd, f.FD == "root" && path == p.Root:
				continue // analyze has them as the process's cwd and root
			case f.Type != "REG":
				path = ""
			}
			theirs = append(theirs, fmt.Sprintf("%s %s", f.FD, path))
		}
		slices.Sort(mine)
		slices.Sort(theirs)
		if !slices.Equal(mine, theirs) {
			t.Errorf("pid %d open files:\n  analyze:       %q\n  checkpointctl: %q", fds.PID, mine, theirs)
		}
	}
	nsk := 0
	for _, sks := range want.Sockets {
		p := findProcess(rep, sks.PID)
		var mine, theirs []string
		// checkpointctl names a unix socket's kind UNIX and its address;
		// an inet socket's protocol, state and source address.
		for _, s := range p.Sockets {
			if s.Protocol == "UNIX" {
				mine = append(mine, "UNIX  "+s.Local)
			} else {
				mine = append(mine, s.Protocol+" "+s.State+" "+s.Local)
			}
		}
		for _, s := range sks.Sockets {
			addr := s.Data.Address
			if s.Data.Source != "" {
				addr = fmt.Sprintf("%s:%d", s.Data.Source, s.Data.SourcePort)
			}
			theirs = append(theirs, s.Data.Type+" "+s.Data.State+" "+addr)
		}
		slices.Sort(mine)
		slices.Sort(theirs)
		nsk += len(theirs)
		if !slices.Equal(mine, theirs) {
			t.Errorf("pid %d sockets:\n  analyze:       %q\n  checkpointctl: %q", sks.PID, mine, theirs)
		}
	}
	if nsk != 2 {
		t.Errorf("checkpointctl lists %d sockets, want the target's 2 (a socketpair)", nsk)
	}
	var mounts, theirMounts []string
	for _, m := range got.Mounts {
		mounts = append(mounts, m.Destination+" "+m.Type+" "+m.Source)
	}
	for _, m := range want.Mounts {
		theirMounts = append(theirMounts, m.Destination+" "+m.Type+" "+m.Source)
	}
	if !slices.Equal(mounts, theirMounts) || len(mounts) != 2 {
		t.Errorf("mounts %q, checkpointctl says %q", mounts, theirMounts)
	}

	// memparse: memory size per process.
	sizes := map[uint32]string{}
	for _, line := range strings.Split(mustRun(t, cc, "memparse", archive), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 {
			if pid, err := strconv.Atoi(f[0]); err == nil {
				sizes[uint32(pid)] = f[2] + " " + f[3]
			}
		}
	}
	for _, p := range got.Processes {
		if s := humanSize(p.PagesBytes); s != sizes[p.PID] {
			t.Errorf("pid %d: memory size %s, checkpointctl memparse says %q", p.PID, s, sizes[p.PID])
		}
	}

	// memparse --search: the same hits.
	var theirHits []uint64
	out := mustRun(t, cc, "memparse", "--search="+tg.marker, "--pid", strconv.Itoa(tg.pid), archive)
	for _, m := range regexp.MustCompile(`(?m)^([0-9a-f]{16})\s`).FindAllStringSubmatch(out, -1) {
		a, _ := strconv.ParseUint(m[1], 16, 64)
		theirHits = append(theirHits, a)
	}
	var hits []uint64
	for _, h := range rep.Search.Hits {
		if h.PID == tg.pid {
			hits = append(hits, h.Address)
		}
	}
	slices.Sort(theirHits)
	if len(hits) == 0 || !slices.Equal(hits, theirHits) {
		t.Errorf("--search hits %#x, checkpointctl memparse --search finds %#x", hits, theirHits)
	}
	if !slices.Contains(hits, tg.addr) {
		t.Errorf("--search hits %#x lack the address the target printed, %#x", hits, tg.addr)
	}
}

type psNode struct {
	PID      uint32            `json:"pid"`
	Command  string            `json:"command"`
	Cmdline  string            `json:"cmdline"`
	Env      map[string]string `json:"environment_variables"`
	Children []*psNode         `json:"children"`
}

// humanSize formats like checkpointctl's metadata.ByteToString.
func humanSize(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

func findProcess(rep *analyze.Report, pid uint32) *criu.Process {
	for _, p := range rep.Checkpoint.Processes {
		if p.PID == pid {
			return p
		}
	}
	return nil
}

// A raw CRIU folder and the same folder in a tar: the marker is found in
// memory, the secret in the environment is masked and found (in the
// environment and in memory), --show-secrets shows it, in text and JSON.
func TestCheckpointFolderSecretsAndMarker(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process")
	tg := startTarget(t)
	dir := dump(t, tg.pid)
	folderTar := filepath.Join(t.TempDir(), "criu.tar")
	mustRun(t, "tar", "-C", dir, "-cf", folderTar, ".")
	for _, in := range []string{dir, folderTar} {
		rep, res := analyzeJSON(t, in, "--search", tg.marker, "--context", "8")
		if res.code != 0 || rep.Input.Kind != analyze.KindCheckpoint || rep.Input.Layout != "criu" {
			t.Fatalf("%s: exit %d, input %+v: %s", in, res.code, rep.Input, res.stderr)
		}
		if strings.Contains(res.stdout, runToken) {
			t.Errorf("%s: the report holds the token in clear without --show-secrets", in)
		}
		p := findProcess(rep, uint32(tg.pid))
		if p == nil || !slices.ContainsFunc(p.Env, func(kv string) bool {
			return strings.HasPrefix(kv, "GITHUB_TOKEN=ghp_") && strings.Contains(kv, "****")
		}) {
			t.Errorf("%s: the environment lacks GITHUB_TOKEN masked", in)
		}
		var inEnv, inMem bool
		for _, f := range rep.Findings {
			if f.Rule == "github-token" && f.Secret != nil && f.Secret.Masked {
				inEnv = inEnv || strings.Contains(f.Where, "environment")
				inMem = inMem || strings.Contains(f.Where, "memory of pid")
			}
		}
		if !inEnv || !inMem {
			t.Errorf("%s: github-token found in the environment %v, in memory %v; want both", in, inEnv, inMem)
		}
		found := false
		for _, h := range rep.Search.Hits {
			if h.Address == tg.addr && h.Match == tg.marker && h.PID == tg.pid && len(h.Before) > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no hit for the marker at %#x with context: %+v", in, tg.addr, rep.Search.Hits)
		}
		shown := run(t, plugin, "analyze", "--show-secrets", in)
		if shown.code != 0 || !strings.Contains(shown.stdout, "GITHUB_TOKEN="+runToken) {
			t.Errorf("%s: --show-secrets: exit %d, the text report lacks the token in clear", in, shown.code)
		}
		html := filepath.Join(t.TempDir(), "report.html")
		if r := run(t, plugin, "analyze", "--html", html, "--search", tg.marker, in); r.code != 0 {
			t.Errorf("%s: --html: exit %d", in, r.code)
		}
		page, _ := os.ReadFile(html)
		for _, want := range []string{"Processes (1)", fmt.Sprintf("%#x", tg.addr), "GITHUB_TOKEN=ghp_****"} {
			if !bytes.Contains(page, []byte(want)) {
				t.Errorf("%s: the HTML report lacks %q", in, want)
			}
		}
		if bytes.Contains(page, []byte(runToken)) {
			t.Errorf("%s: the HTML report holds the token in clear", in)
		}
		text := run(t, kubectl, "analyze", "--search", tg.marker, in)
		if text.code != 0 || !strings.Contains(text.stdout, fmt.Sprintf("%#x", tg.addr)) || !strings.Contains(text.stdout, "PROCESSES (1)") {
			t.Errorf("%s: kubectl forensic analyze --search: exit %d, the text lacks the hit or the process", in, text.code)
		}
	}
}

// --core-dir writes a core gdb opens, and gdb reads the marker in it at
// the address the target printed.
func TestCheckpointCoreDir(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process")
	tg := startTarget(t)
	dir := dump(t, tg.pid)
	cores := filepath.Join(t.TempDir(), "cores")
	res := run(t, plugin, "analyze", "--core-dir", cores, dir)
	if res.code != 0 {
		t.Fatalf("analyze --core-dir: exit %d: %s", res.code, res.stderr)
	}
	core := filepath.Join(cores, fmt.Sprintf("core.%d", tg.pid))
	out, err := exec.Command("gdb", "-nx", "-batch", "-ex", fmt.Sprintf("x/s %#x", tg.addr), "-ex", "info threads", "-c", core).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"`+tg.marker+`"`) {
		t.Errorf("gdb does not read the marker at %#x in the written core:\n%s", tg.addr, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("LWP %d", tg.pid)) {
		t.Errorf("gdb does not list the main thread (LWP %d):\n%s", tg.pid, out)
	}
	// Cores are never written over.
	if again := run(t, plugin, "analyze", "--core-dir", cores, dir); again.code != 1 || !strings.Contains(again.stderr, "not empty") {
		t.Errorf("a second --core-dir into the same folder: exit %d, %q", again.code, again.stderr)
	}
}

// A gcore core: threads with the mapping each IP is in, mappings with
// files, and --search finds the marker where gdb reads it.
func TestGcoreCore(t *testing.T) {
	testutil.RequireRoot(t, "gdb attaches to a process")
	tg := startShell(t)
	prefix := filepath.Join(t.TempDir(), "sh")
	if b, err := exec.Command("gcore", "-o", prefix, strconv.Itoa(tg.pid)).CombinedOutput(); err != nil {
		t.Fatalf("gcore: %v\n%s", err, b)
	}
	core := fmt.Sprintf("%s.%d", prefix, tg.pid)
	rep, res := analyzeJSON(t, core, "--search", tg.marker, "--context", "4")
	if res.code != 0 || rep.Input.Kind != analyze.KindCore || rep.Core == nil {
		t.Fatalf("exit %d, input %+v: %s", res.code, rep.Input, res.stderr)
	}
	c := rep.Core
	if c.PID != tg.pid || c.Comm != "busybox" || len(c.Threads) != 1 || c.Threads[0].TID != tg.pid {
		t.Errorf("core pid %d comm %q threads %+v; want pid %d, busybox, one thread", c.PID, c.Comm, c.Threads, tg.pid)
	}
	if !strings.Contains(c.Threads[0].Mapping, "/usr/bin/busybox") && !strings.Contains(c.Threads[0].Mapping, "/bin/busybox") {
		t.Errorf("the thread's IP %#x is in %q, want busybox's text", c.Threads[0].IP, c.Threads[0].Mapping)
	}
	if !slices.ContainsFunc(c.Mappings, func(m elfcore.Mapping) bool {
		return strings.HasSuffix(m.File, "busybox")
	}) {
		t.Errorf("no mapping names busybox: %+v", c.Mappings)
	}
	for _, f := range rep.Findings {
		if f.Rule == "memory-exec-anonymous" {
			t.Errorf("a plain shell's core has executable anonymous memory: %s", f.Reason)
		}
	}
	if rep.Search == nil || len(rep.Search.Hits) == 0 {
		t.Fatalf("--search finds no marker in the core")
	}
	for _, h := range rep.Search.Hits {
		out, err := exec.Command("gdb", "-nx", "-batch", "-ex", fmt.Sprintf("x/s %#x", h.Address), "-c", core).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"`+tg.marker) {
			t.Errorf("gdb at hit %#x reads:\n%s (%v)", h.Address, out, err)
		}
	}
}

// Bad input: each ends in a clear error (exit 1) or a report marked
// partial (exit 2), never a crash.
func TestCheckpointBadInput(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process")
	tg := startTarget(t)
	dir := dump(t, tg.pid)
	archive := kubeletArchive(t, dir)
	tmp := t.TempDir()

	raw, _ := os.ReadFile(archive)
	truncated := filepath.Join(tmp, "truncated.tar")
	os.WriteFile(truncated, raw[:len(raw)/2], 0o600)

	// The pages file cut to one page: the pagemap points past it.
	shortPages := filepath.Join(tmp, "short-pages")
	mustRun(t, "cp", "-a", dir, shortPages)
	pages, _ := filepath.Glob(filepath.Join(shortPages, "pages-*.img"))
	os.Truncate(pages[0], 4096)

	// pstree.img with an entry whose length claims 4 GiB.
	hostile := filepath.Join(tmp, "hostile")
	mustRun(t, "cp", "-a", dir, hostile)
	pst, _ := os.ReadFile(filepath.Join(hostile, "pstree.img"))
	binary.LittleEndian.PutUint32(pst[8:], 0xffffffff)
	os.WriteFile(filepath.Join(hostile, "pstree.img"), pst, 0o600)

	// A gcore core whose second segment is moved onto the first.
	sh := startShell(t)
	prefix := filepath.Join(tmp, "sh")
	mustRun(t, "gcore", "-o", prefix, strconv.Itoa(sh.pid))
	core, _ := os.ReadFile(fmt.Sprintf("%s.%d", prefix, sh.pid))
	overlap := filepath.Join(tmp, "overlap.core")
	phoff := binary.LittleEndian.Uint64(core[32:])
	var loads []uint64
	for i := uint64(0); i < uint64(binary.LittleEndian.Uint16(core[56:])); i++ {
		if binary.LittleEndian.Uint32(core[phoff+56*i:]) == 1 { // PT_LOAD
			loads = append(loads, phoff+56*i)
		}
	}
	copy(core[loads[1]+16:loads[1]+24], core[loads[0]+16:loads[0]+24])
	os.WriteFile(overlap, core, 0o600)
	// and one whose segment claims more bytes than the file has.
	enormous := filepath.Join(tmp, "enormous.core")
	binary.LittleEndian.PutUint64(core[loads[1]+16:], binary.LittleEndian.Uint64(core[loads[1]+16:])+1<<40)
	binary.LittleEndian.PutUint64(core[loads[2]+32:], 1<<62)
	binary.LittleEndian.PutUint64(core[loads[2]+40:], 1<<62)
	os.WriteFile(enormous, core, 0o600)

	tests := []struct {
		name, file string
		code       int
		stderr     string
	}{
		{"truncated archive", truncated, 0, ""},
		{"pagemap past the pages", shortPages, 2, "past the end of the pages"},
		{"hostile entry size", hostile, 1, "claims 4294967295 bytes"},
		{"overlapping segments", overlap, 2, "overlaps the one before"},
		{"enormous segment", enormous, 2, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, plugin, "analyze", "--search", "forensic-marker-", tt.file)
			if tt.code == 0 {
				// Where the tar is cut decides: before the inventory
				// nothing can be read (1), after it a partial report (2).
				if !(res.code == 2 && strings.Contains(res.stderr, "analysed only in part") && strings.Contains(res.stderr, "truncated")) &&
					!(res.code == 1 && strings.Contains(res.stderr, "checkpoint archive cut short")) {
					t.Errorf("exit %d, stderr %q; want exit 2 with a partial report or 1, both saying truncated", res.code, res.stderr)
				}
				return
			}
			if res.code != tt.code || !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tt.code, tt.stderr)
			}
			if n := strings.Count(strings.TrimSpace(res.stderr), "\n"); n > 0 {
				t.Errorf("stderr has %d lines, want one", n+1)
			}
		})
	}
}

// A bundle holding a Docker checkpoint (checkpoint/NAME.tar, the CRIU
// folder in a tar, as docker forensic export --checkpoint stores it) and a
// process core (memory/PID-NAME.core): both analysed in place of the
// bundle, the search finds each marker in its own process.
func TestBundleWithCheckpointAndCore(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process, gdb attaches to one")
	tg := startTarget(t)
	dir := dump(t, tg.pid)
	sh := startShell(t)
	prefix := filepath.Join(t.TempDir(), "sh")
	mustRun(t, "gcore", "-o", prefix, strconv.Itoa(sh.pid))
	criuTar := filepath.Join(t.TempDir(), "criu.tar")
	mustRun(t, "tar", "-C", dir, "-cf", criuTar, ".")

	for _, format := range []evidence.Format{evidence.TarGz, evidence.Zip} {
		name := "target-20261206T200000Z" + format.Extension()
		bundle := filepath.Join(t.TempDir(), name)
		w, err := evidence.Create(bundle, evidence.Options{Format: format, Root: evidence.TrimExtension(name)})
		if err != nil {
			t.Fatal(err)
		}
		for p, src := range map[string]string{"checkpoint/forensic.tar": criuTar, fmt.Sprintf("memory/%d-sh.core", sh.pid): fmt.Sprintf("%s.%d", prefix, sh.pid)} {
			f, err := os.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Add(evidence.Meta{Path: p, Producer: "test"}, f); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		if _, err := w.Finish(evidence.NewCustody(evidence.Tool{Name: "docker-forensic", Version: "test"}, time.Now())); err != nil {
			t.Fatal(err)
		}
		rep, res := analyzeJSON(t, bundle, "--search-regex", "forensic-marker-[0-9a-f-]+")
		if res.code != 0 || rep.Input.Kind != analyze.KindBundle {
			t.Fatalf("%s: exit %d, kind %q: %s", format.Extension(), res.code, rep.Input.Kind, res.stderr)
		}
		if rep.Checkpoint == nil || findProcess(rep, uint32(tg.pid)) == nil {
			t.Errorf("%s: the bundle's checkpoint is not reported with pid %d", format.Extension(), tg.pid)
		}
		if rep.Core == nil || rep.Core.PID != sh.pid {
			t.Errorf("%s: the bundle's core is not reported with pid %d", format.Extension(), sh.pid)
		}
		var inCheckpoint, inCore bool
		for _, h := range rep.Search.Hits {
			inCheckpoint = inCheckpoint || (h.PID == tg.pid && h.Match == tg.marker)
			inCore = inCore || (h.PID == sh.pid && h.Match == sh.marker)
		}
		if !inCheckpoint || !inCore {
			t.Errorf("%s: --search-regex found the checkpoint's marker %v, the core's %v", format.Extension(), inCheckpoint, inCore)
		}
	}
}

// A process whose program was deleted after it started: CRIU keeps the
// program as a ghost file, and analyze says the program is deleted.
func TestCheckpointDeletedProgram(t *testing.T) {
	testutil.RequireRoot(t, "CRIU dumps a process")
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(t.TempDir(), "sh")
	mustRun(t, "cp", bb, prog)
	tg := startCmd(t, exec.Command(prog, "-c", `echo forensic-marker-$$ 0x0; while :; do read x; done </dev/zero`))
	if err := os.Remove(prog); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "criu")
	os.Mkdir(dir, 0o700)
	// The ghost limit lets CRIU keep the deleted program (1 MiB by default).
	if b, err := exec.Command(criuBin(t), "dump", "-t", strconv.Itoa(tg.pid), "-D", dir, "--shell-job", "--leave-running", "--ghost-limit", "16M").CombinedOutput(); err != nil {
		t.Fatalf("criu dump: %v\n%s", err, b)
	}
	rep, res := analyzeJSON(t, dir)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if p := findProcess(rep, uint32(tg.pid)); p == nil || p.Exe != prog+" (deleted)" {
		t.Errorf("the process's program is not %s (deleted)", prog)
	}
	if !slices.ContainsFunc(rep.Findings, func(f analyze.Finding) bool {
		return f.Rule == "memory-deleted-executable" && f.Path == prog
	}) {
		t.Errorf("no memory-deleted-executable finding for %s", prog)
	}
}
