//go:build e2e

package docker_e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// events follows the engine's events for one container.
type events struct {
	container string
	cmd       *exec.Cmd
	mu        sync.Mutex
	actions   []string      // every action reported, in order
	changed   chan struct{} // a new action arrived
	wait      chan string
	from      int // index of the first action after the start marker
}

// startEvents follows the engine's events for container, and returns once
// the subscription is known to be live: it has seen the marker event that
// mark makes. Actions starting with one of waitFor can be awaited.
func startEvents(t *testing.T, container string, waitFor ...string) *events {
	t.Helper()
	e := &events{container: container, changed: make(chan struct{}, 1), wait: make(chan string, 16)}
	e.cmd = exec.Command("docker", "events", "--filter", "container="+container, "--format", "{{.Action}}")
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			e.mu.Lock()
			e.actions = append(e.actions, sc.Text())
			e.mu.Unlock()
			select {
			case e.changed <- struct{}{}:
			default:
			}
			for _, w := range waitFor {
				if strings.HasPrefix(sc.Text(), w) {
					e.wait <- sc.Text()
				}
			}
		}
	}()
	t.Cleanup(func() { e.stop() })
	e.from = e.mark(t)
	return e
}

// markAction is the event mark makes the engine report.
const markAction = "update"

// mark makes the engine report an event for the container, docker update
// with the restart policy the suite's containers have ("no", so nothing
// changes), and waits until the subscription delivers it. The engine
// delivers events in order: every event before the marker has then been
// seen. It returns the index just after the marker.
func (e *events) mark(t *testing.T) int {
	t.Helper()
	e.mu.Lock()
	from := len(e.actions)
	e.mu.Unlock()
	// Repeated until seen: the first update can come before the
	// subscription is registered with the engine.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mustDocker(t, "update", "--restart", "no", e.container)
		retry := time.After(2 * time.Second)
		for {
			e.mu.Lock()
			for i := from; i < len(e.actions); i++ {
				if e.actions[i] == markAction {
					e.mu.Unlock()
					return i + 1
				}
			}
			e.mu.Unlock()
			select {
			case <-e.changed:
				continue
			case <-retry:
			}
			break
		}
	}
	t.Fatalf("the engine never reported the %s marker for %s", markAction, e.container)
	return 0
}

// since makes a closing marker and returns the actions the engine reported
// for the container between startEvents and it, markers left out.
func (e *events) since(t *testing.T) []string {
	t.Helper()
	end := e.mark(t) - 1
	e.mu.Lock()
	defer e.mu.Unlock()
	var got []string
	for _, a := range e.actions[e.from:end] {
		if a != markAction {
			got = append(got, a)
		}
	}
	return got
}

// stop ends the subscription.
func (e *events) stop() {
	if e.cmd.Process != nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
	}
}

func (e *events) await(t *testing.T, what string) {
	t.Helper()
	select {
	case <-e.wait:
	case <-time.After(60 * time.Second):
		t.Fatalf("the engine never reported %q", what)
	}
}

func TestUnknownContainer(t *testing.T) {
	dir := t.TempDir()
	r := forensic(t, dir, "export", "no-such-container-e2e")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "no-such-container-e2e") || !strings.Contains(lines[0], "no such container") {
		t.Errorf("unknown container: exit %d, stderr %q; want exit 1 and one line naming it", r.code, r.stderr)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("files left behind: %v", names)
	}
}

func TestOutputExists(t *testing.T) {
	name := startContainer(t, busyboxImage, "sleep", "100000")
	dir := t.TempDir()
	existing := filepath.Join(dir, "case.tar.gz")
	os.WriteFile(existing, []byte("earlier evidence"), 0o600)
	events := startEvents(t, name)
	r := forensic(t, dir, "export", "-o", "case.tar.gz", name)
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("existing output: exit %d, stderr %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(existing); string(b) != "earlier evidence" {
		t.Errorf("existing file changed: %q", b)
	}
	// Between the two markers the engine reported nothing for the
	// container: no top, export, logs attach or pause.
	if seen := events.since(t); len(seen) != 0 {
		t.Errorf("the engine reported %q for the container before the refusal; want nothing", seen)
	}
}

func TestEngineUnreachable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env  []string
		args []string
		host string
	}{
		{nil, []string{"-H", "tcp://127.0.0.1:1", "forensic", "export", "x"}, "tcp://127.0.0.1:1"},
		{[]string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, []string{"forensic", "export", "x"}, "unix:///nonexistent/docker.sock"},
	} {
		r := run(t, dir, tc.env, "docker", tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.host) || !strings.Contains(r.stderr, "cannot reach the Docker Engine") {
			t.Errorf("unreachable %s: exit %d, stderr %q", tc.host, r.code, r.stderr)
		}
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("files left behind: %v", names)
	}
}

// TestStandaloneAndContext runs the binary on its own with DOCKER_HOST, and
// through a docker context, which custody must name.
func TestStandaloneAndContext(t *testing.T) {
	name := startContainer(t, busyboxImage, "sleep", "100000")
	dir := t.TempDir()
	r := run(t, dir, []string{"DOCKER_HOST=" + engine.Host}, pluginBinary, "export", "-o", "alone.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("standalone export: exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "alone.tar.gz"))
	if got := jq(t, filepath.Join(root, "custody.json"), ".command_line[1]"); got != "export" {
		t.Errorf("custody command line should be as typed, got [1]=%q", got)
	}
	ctxName := "forensic-e2e-ctx"
	run(t, dir, nil, "docker", "context", "rm", "-f", ctxName)
	if r := run(t, dir, nil, "docker", "context", "create", ctxName, "--docker", "host="+engine.Host); r.code != 0 {
		t.Fatalf("docker context create: %s", r.stderr)
	}
	defer run(t, dir, nil, "docker", "context", "rm", "-f", ctxName)
	if r := run(t, dir, nil, "docker", "--context", ctxName, "forensic", "export", "-o", "ctx.tar.gz", name); r.code != 0 {
		t.Fatalf("export through a context: exit %d", r.code)
	}
	root = extract(t, filepath.Join(dir, "ctx.tar.gz"))
	if got := jq(t, filepath.Join(root, "custody.json"), ".engine.context"); got != ctxName {
		t.Errorf("custody engine context = %q, want %q", got, ctxName)
	}
}

func TestRefuseTerminal(t *testing.T) {
	name := startContainer(t, busyboxImage, "sleep", "100000")
	dir := t.TempDir()
	// script(1) gives the command a real terminal as standard output.
	cmd := exec.Command("script", "-qec", "docker forensic export -o - "+name, "/dev/null")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to write an evidence archive to a terminal") {
		t.Errorf("export to a terminal: err %v, output %q", err, out)
	}
	if len(out) > 400 {
		t.Errorf("archive bytes reached the terminal (%d bytes)", len(out))
	}
}

// TestContainerRemovedDuringCollection removes the container as soon as
// its processes were listed: the bundle is closed, marked incomplete with
// the engine's errors, and what it holds verifies.
func TestContainerRemovedDuringCollection(t *testing.T) {
	// A long log keeps the collection busy after the process list (the
	// engine's "top" event), long enough for the removal to land during it.
	name := startContainer(t, busyboxImage, "sh", "-c", "yes 2026-11-29T12:00:00Z GET /api/v1/items 200 | head -n 400000; echo doomed; exec sleep 100000")
	waitLog(t, name, "doomed")
	events := startEvents(t, name, "top")
	dir := t.TempDir()
	done := make(chan result)
	go func() { done <- forensic(t, dir, "export", "-o", "gone.tar.gz", name) }()
	events.await(t, "top")
	mustDocker(t, "rm", "-f", name)
	r := <-done
	if r.code != 2 || !strings.Contains(r.stderr, "INCOMPLETE") {
		t.Fatalf("export of a removed container: exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	root := extract(t, filepath.Join(dir, "gone.tar.gz"))
	sha256sumCheck(t, root)
	manifest := filepath.Join(root, "manifest.json")
	if got := jq(t, manifest, ".complete"); got != "false" {
		t.Errorf("complete = %s", got)
	}
	if got := jq(t, manifest, `[.incomplete_reasons[] | select(test("(?i)no such container|dead|marked for removal|no such file"))] | length`); got == "0" {
		t.Errorf("the reasons should carry the engine's error: %s", jq(t, manifest, ".incomplete_reasons"))
	}
	if _, err := os.Stat(filepath.Join(root, "container/inspect.json")); err != nil {
		t.Error("what was collected before the removal is missing")
	}
	if v := forensic(t, dir, "verify", "gone.tar.gz"); v.code != 2 || !strings.Contains(v.stdout, "intact") {
		t.Errorf("verify: exit %d, want 2 (intact, incomplete)", v.code)
	}
}

// bigContainer runs a container holding size MiB of random data.
func bigContainer(t *testing.T, mib string) string {
	t.Helper()
	name := startContainer(t, busyboxImage, "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count="+mib+" 2>/dev/null; echo ready; exec sleep 100000")
	waitLog(t, name, "ready")
	return name
}

// pluginRead waits until the docker-forensic process that the docker CLI
// of pid runs has read n bytes (its /proc rchar), that is until the export
// streams.
func pluginRead(t *testing.T, pid int, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if child := childNamed(pid, "docker-forensic"); child > 0 {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/io", child))
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "rchar: "); ok {
					if got, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64); got >= n {
						return
					}
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the plugin under pid %d did not read %d bytes in 2 min", pid, n)
}

// childNamed returns the pid of the child of parent whose command is comm,
// 0 when there is none.
func childNamed(parent int, comm string) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if string(b[open+1:end]) != comm || len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:open])))
		return pid
	}
	return 0
}

// TestDiskFull writes to a small tmpfs: one clear error, the partial file
// kept under a .partial name, and the other file on it untouched.
func TestDiskFull(t *testing.T) {
	name := bigContainer(t, "40")
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.Mkdir(small, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Fatalf("mounting a small tmpfs (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", small).Run()
	os.WriteFile(filepath.Join(small, "other-evidence.txt"), []byte("keep me"), 0o600)
	r := run(t, small, []string{"TMPDIR=" + small}, "docker", "forensic", "export", "-o", "full.tar.gz", name)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("disk full: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 3 {
		t.Errorf("disk full should give a short message, got %d lines", n+1)
	}
	names := listDir(t, small)
	if contains(names, "full.tar.gz") || !contains(names, "full.tar.gz.partial") {
		t.Errorf("files after disk full: %v, want full.tar.gz.partial and no full.tar.gz", names)
	}
	if b, _ := os.ReadFile(filepath.Join(small, "other-evidence.txt")); string(b) != "keep me" {
		t.Errorf("other file changed: %q", b)
	}
	for _, n := range names {
		if strings.HasPrefix(n, ".forensic-spool") {
			t.Errorf("spool file left behind: %s", n)
		}
	}
}

// TestInterrupt sends SIGINT to the whole process group while the
// filesystem streams, as Ctrl-C in a terminal does: the bundle is closed,
// readable, marked incomplete, and verifies.
func TestInterrupt(t *testing.T) {
	name := bigContainer(t, "300")
	events := startEvents(t, name, "export")
	dir := t.TempDir()
	cmd := exec.Command("docker", "forensic", "export", "-o", "int.tar.gz", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events.await(t, "export")
	// Interrupted once 32 MiB of the 300 MiB filesystem have been read: a
	// fixed pause raced a fast engine, which finished the export first.
	pluginRead(t, cmd.Process.Pid, 32<<20)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	t.Logf("stderr:\n%s", stderr.String())
	if code != 2 {
		t.Errorf("interrupted export: exit %d, want 2", code)
	}
	root := extract(t, filepath.Join(dir, "int.tar.gz"))
	sha256sumCheck(t, root)
	manifest := filepath.Join(root, "manifest.json")
	if got := jq(t, manifest, `.complete`); got != "false" {
		t.Errorf("complete = %s", got)
	}
	if got := jq(t, manifest, `[.incomplete_reasons[] | select(test("interrupted"))] | length`); got == "0" {
		t.Errorf("reasons do not mention the interruption: %s", jq(t, manifest, ".incomplete_reasons"))
	}
	if v := forensic(t, dir, "verify", "int.tar.gz"); v.code != 2 {
		t.Errorf("verify of the interrupted bundle: exit %d, want 2", v.code)
	}
}
