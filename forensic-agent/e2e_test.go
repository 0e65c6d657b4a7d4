//go:build e2e && linux

// End-to-end tests of the agent binary against a container-like target
// made here: a helper process in its own network and mount namespaces,
// chrooted into a prepared root with proc, a tmpfs volume and a bind-mount
// loop mounted, serving HTTP on its loopback. They need root and tshark,
// tcpdump, curl, nsenter and tar, and fail (never skip) without them:
//
//	sudo go test -tags e2e -count=1 ./forensic-agent/
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"golang.org/x/sys/unix"
)

var agentBin string

func TestMain(m *testing.M) {
	if os.Getenv("FA_E2E_HELPER") == "target" {
		os.Exit(targetMain(os.Args[len(os.Args)-1]))
	}
	dir, err := os.MkdirTemp("", "forensic-agent-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "forensic-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-o", agentBin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireE2E fails the test when it cannot run as meant.
func requireE2E(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("e2e tests need root: namespaces, mounts, packet sockets")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("e2e tests need %s (apt-get install tshark tcpdump curl util-linux tar)", tool)
		}
	}
}

// targetMain is the fake container: it runs in fresh network and mount
// namespaces (set up by startTarget), mounts what containers have, chroots
// into root and serves HTTP on 127.0.0.1:8080.
func targetMain(root string) int {
	fail := func(what string, err error) int {
		fmt.Printf("error %s: %v\n", what, err)
		return 1
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket", err)
	}
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fail("ifreq", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fail("getting lo flags", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fail("bringing lo up", err)
	}
	unix.Close(fd)
	mounts := []struct{ src, dst, fstype string }{
		{"proc", "proc", "proc"},
		{"tmpfs", "volume", "tmpfs"},
	}
	for _, m := range mounts {
		if err := unix.Mount(m.src, filepath.Join(root, m.dst), m.fstype, 0, ""); err != nil {
			return fail("mounting "+m.dst, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "volume", "in-volume.txt"), []byte("volume data\n"), 0o644); err != nil {
		return fail("writing volume", err)
	}
	if err := unix.Mount(filepath.Join(root, "a"), filepath.Join(root, "a/b/loop"), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail("bind mount loop", err)
	}
	if err := unix.Chroot(root); err != nil {
		return fail("chroot", err)
	}
	if err := os.Chdir("/"); err != nil {
		return fail("chdir", err)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "target saw %s\n", r.URL.Path) })
	srv := &http.Server{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fail("listening", err)
	}
	fmt.Println("ready")
	// The test kills the helper when done; the namespaces go with it.
	if err := srv.Serve(ln); err != nil {
		return fail("serving", err)
	}
	return 0
}

// target is a running fake container.
type target struct {
	pid  int
	root string
	cmd  *exec.Cmd
}

func startTarget(t *testing.T) *target {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc", "proc", "volume", "a/b/loop", "dev", "tmp"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/planted.txt"), []byte("planted by the e2e test\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(root, "a/file"), []byte("in a\n"), 0o644))
	must(t, os.Symlink("/etc/shadow", filepath.Join(root, "etc/shadow-link")))
	must(t, unix.Mkfifo(filepath.Join(root, "tmp/fifo"), 0o600))
	must(t, unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))

	cmd := exec.Command(os.Args[0], "-test.run=^$", root)
	cmd.Env = append(os.Environ(), "FA_E2E_HELPER=target")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		Pdeathsig:    syscall.SIGKILL,
	}
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	tg := &target{pid: cmd.Process.Pid, root: root, cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("target helper did not start: %q, %v", line, err)
	}
	return tg
}

// runningAgent is an agent process whose stream is being demuxed.
type runningAgent struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *bytes.Buffer
	lines   chan string
	first   chan struct{} // closed when the first stdout byte arrived
	summary chan demuxResult
	dir     string
}

type demuxResult struct {
	sum *stream.Summary
	err error
}

// startAgent starts the agent (prefix runs it, e.g. under nsenter) and
// demuxes its stdout into a directory as it arrives.
func startAgent(t *testing.T, prefix []string, args ...string) *runningAgent {
	t.Helper()
	argv := append(append(append([]string{}, prefix...), agentBin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	ra := &runningAgent{cmd: cmd, stderr: &bytes.Buffer{}, lines: make(chan string, 100),
		first: make(chan struct{}), summary: make(chan demuxResult, 1), dir: t.TempDir()}
	var err error
	ra.stdin, err = cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			ra.stderr.WriteString(sc.Text() + "\n")
			select {
			case ra.lines <- sc.Text():
			default:
			}
		}
		close(ra.lines)
	}()
	go func() {
		br := bufio.NewReader(stdout)
		if _, err := br.Peek(1); err == nil {
			close(ra.first)
		}
		sum, err := stream.Demux(br, stream.ExtractTo(ra.dir), nil)
		ra.summary <- demuxResult{sum, err}
	}()
	return ra
}

// waitLog waits for a log line containing s.
func (ra *runningAgent) waitLog(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-ra.lines:
			if !ok {
				t.Fatalf("agent ended before logging %q:\n%s", s, ra.stderr)
			}
			if strings.Contains(l, s) {
				return
			}
		case <-timeout:
			t.Fatalf("agent did not log %q in time:\n%s", s, ra.stderr)
		}
	}
}

// wait waits for the agent's exit and its stream.
func (ra *runningAgent) wait(t *testing.T) (int, *stream.Summary, error) {
	t.Helper()
	var res demuxResult
	select {
	case res = <-ra.summary:
	case <-time.After(60 * time.Second):
		t.Fatalf("stream did not end:\n%s", ra.stderr)
	}
	err := ra.cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, res.sum, res.err
}

func curl(t *testing.T, pid int, path string) {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "curl", "-sS", "--max-time", "5",
		"http://127.0.0.1:8080"+path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "target saw "+path) {
		t.Fatalf("curl %s: %v: %s", path, err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func verifiedAll(t *testing.T, sum *stream.Summary, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("demux: %v", err)
	}
	if !sum.Ended {
		t.Fatal("stream has no end frame")
	}
	for _, a := range sum.Artifacts {
		if !a.Verified() {
			t.Errorf("%s: not verified: %+v", a.Name, a)
		}
	}
}

// TestAgentAsSidecar runs the agent the way a sidecar or ephemeral
// container does, sharing the target's network namespace, with all three
// captures at once, and checks each artifact with the tools people use.
func TestAgentAsSidecar(t *testing.T) {
	requireE2E(t, "tshark", "tcpdump", "curl", "nsenter", "tar")
	tg := startTarget(t)
	ra := startAgent(t, []string{"nsenter", "-t", strconv.Itoa(tg.pid), "-n", "--"},
		"run", "--target-pid", strconv.Itoa(tg.pid), "--pcap", "4s", "--fs", "--proc")

	ra.waitLog(t, "waiting for one byte on stdin")
	select {
	case <-ra.first:
		t.Fatal("agent wrote to stdout before the start byte")
	case <-time.After(300 * time.Millisecond):
	}
	_, err := ra.stdin.Write([]byte{1})
	must(t, err)
	ra.waitLog(t, "pcap: capturing on lo")
	for i := 1; i <= 3; i++ {
		curl(t, tg.pid, fmt.Sprintf("/forensic-e2e-path-%d", i))
	}
	code, sum, derr := ra.wait(t)
	verifiedAll(t, sum, derr)
	if code != 0 {
		t.Errorf("agent exit code %d:\n%s", code, ra.stderr)
	}
	if !strings.Contains(ra.stderr.String(), "sent "+strconv.FormatInt(sum.DeclaredBytes, 10)+" bytes, sha256 "+sum.DeclaredSHA256) {
		t.Errorf("final log line does not match the END frame:\n%s", ra.stderr)
	}

	// pcap: both tools read it and see the requests on port 8080.
	pcapFile := filepath.Join(ra.dir, agent.ArtifactPcapNG)
	out, err := exec.Command("tshark", "-r", pcapFile, "-Y", "http.request", "-T", "fields",
		"-e", "http.request.uri", "-e", "tcp.dstport").CombinedOutput()
	must(t, err)
	for i := 1; i <= 3; i++ {
		if !strings.Contains(string(out), fmt.Sprintf("/forensic-e2e-path-%d\t8080", i)) {
			t.Errorf("tshark does not show request %d on port 8080:\n%s", i, out)
		}
	}
	out, err = exec.Command("tcpdump", "-n", "-A", "-r", pcapFile).CombinedOutput()
	must(t, err)
	if !strings.Contains(string(out), "GET /forensic-e2e-path-2 HTTP/1.1") || !strings.Contains(string(out), "127.0.0.1.8080") {
		t.Errorf("tcpdump does not show the request:\n%s", out)
	}
	out, err = exec.Command("tcpdump", "-n", "-r", pcapFile).CombinedOutput()
	must(t, err)
	if c := strings.Count(string(out), "GET /forensic-e2e-path-1 "); c != 1 {
		t.Errorf("request 1 appears %d times: loopback duplicates are not filtered", c)
	}
	for _, a := range sum.Artifacts {
		if a.Name == agent.ArtifactPcapNG && (a.CloseMeta["kernel_drops"] == nil || a.CloseMeta["stop_reason"] != "duration elapsed") {
			t.Errorf("pcap close metadata %v", a.CloseMeta)
		}
	}

	// fs: the tar, with what is special kept as such and proc left out.
	tf, err := os.Open(filepath.Join(ra.dir, agent.ArtifactFSTar))
	must(t, err)
	defer tf.Close()
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(tf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		entries[h.Name] = h
	}
	checks := map[string]func(*tar.Header) bool{
		"etc/planted.txt":      func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg && h.Mode == 0o640 },
		"etc/shadow-link":      func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "/etc/shadow" },
		"tmp/fifo":             func(h *tar.Header) bool { return h.Typeflag == tar.TypeFifo },
		"dev/null":             func(h *tar.Header) bool { return h.Typeflag == tar.TypeChar && h.Devmajor == 1 && h.Devminor == 3 },
		"volume/in-volume.txt": func(h *tar.Header) bool { return h.Size == int64(len("volume data\n")) },
		"proc/":                func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir },
		"a/b/loop/":            func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir },
		"a/file":               func(h *tar.Header) bool { return true },
	}
	for name, ok := range checks {
		if h := entries[name]; h == nil || !ok(h) {
			t.Errorf("tar entry %s: %+v", name, h)
		}
	}
	for name := range entries {
		if strings.HasPrefix(name, "proc/") && name != "proc/" || strings.HasPrefix(name, "a/b/loop/") && name != "a/b/loop/" {
			t.Errorf("tar has %s, inside a skipped mount or a loop", name)
		}
	}
	out, err = exec.Command("tar", "-tvf", filepath.Join(ra.dir, agent.ArtifactFSTar)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "etc/shadow-link -> /etc/shadow") {
		t.Errorf("GNU tar listing: %v\n%s", err, out)
	}
	var report struct {
		Complete bool
		Skipped  []struct{ Path, Reason string }
	}
	readJSON(t, filepath.Join(ra.dir, agent.ArtifactFSReport), &report)
	skipped := map[string]string{}
	for _, s := range report.Skipped {
		skipped[s.Path] = s.Reason
	}
	if !report.Complete || !strings.Contains(skipped["/proc"], "proc") || !strings.Contains(skipped["/a/b/loop"], "loop") {
		t.Errorf("report %+v", report)
	}
	var mounts []struct {
		MountPoint string `json:"mount_point"`
		FSType     string `json:"fs_type"`
		Kind       string
		Skipped    bool
	}
	readJSON(t, filepath.Join(ra.dir, agent.ArtifactFSMounts), &mounts)
	kinds := map[string]string{}
	for _, m := range mounts {
		kinds[m.MountPoint] = m.FSType + "/" + m.Kind
	}
	if kinds["/proc"] != "proc/pseudo" || kinds["/volume"] != "tmpfs/volume" {
		t.Errorf("mounts %v", kinds)
	}

	// proc: the target with its command line and its listening socket.
	var snap struct {
		Processes []struct {
			PID     int
			Cmdline []string
			Agent   bool
			Root    string
		}
		Sockets []struct {
			Proto, Local, State string
			Owners              []struct{ PID int }
		}
	}
	readJSON(t, filepath.Join(ra.dir, agent.ArtifactProcSnapshot), &snap)
	found, agentFound := false, false
	for _, p := range snap.Processes {
		if p.PID == tg.pid && len(p.Cmdline) > 0 && p.Cmdline[len(p.Cmdline)-1] == tg.root && p.Root == tg.root {
			found = true
		}
		agentFound = agentFound || p.Agent
	}
	if !found || !agentFound {
		t.Errorf("snapshot lacks the target (%v) or the agent (%v)", found, agentFound)
	}
	listening := false
	for _, s := range snap.Sockets {
		if s.Proto == "tcp" && s.Local == "127.0.0.1:8080" && s.State == "LISTEN" && len(s.Owners) == 1 && s.Owners[0].PID == tg.pid {
			listening = true
		}
	}
	if !listening {
		t.Errorf("snapshot lacks the target's listening socket: %+v", snap.Sockets)
	}
}

// TestAgentEntersTargetNetNS runs the agent outside the target's network
// namespace: it must capture there (setns) on the named interface, in the
// classic format.
func TestAgentEntersTargetNetNS(t *testing.T) {
	requireE2E(t, "tcpdump", "curl", "nsenter")
	tg := startTarget(t)
	ra := startAgent(t, nil, "run", "--wait-stdin=false", "--target-pid", strconv.Itoa(tg.pid),
		"--pcap", "10s", "--pcap-iface", "lo", "--pcap-format", "pcap", "--pcap-max-packets", "10")
	ra.waitLog(t, "pcap: capturing on lo")
	curl(t, tg.pid, "/entered-netns")
	code, sum, err := ra.wait(t)
	verifiedAll(t, sum, err)
	if code != 0 {
		t.Errorf("exit code %d:\n%s", code, ra.stderr)
	}
	out, err := exec.Command("tcpdump", "-n", "-A", "-r", filepath.Join(ra.dir, agent.ArtifactPcap)).CombinedOutput()
	must(t, err)
	if !strings.Contains(string(out), "GET /entered-netns") || !strings.Contains(string(out), "link-type EN10MB") {
		t.Errorf("tcpdump:\n%s", out)
	}
	for _, a := range sum.Artifacts {
		if a.Name == agent.ArtifactPcap && (fmt.Sprint(a.CloseMeta["packets"]) != "10" || a.CloseMeta["stop_reason"] != "packet limit reached") {
			t.Errorf("close metadata %v", a.CloseMeta)
		}
	}
}

// TestAgentStopsWhenStdinCloses checks the transport contract: closing
// stdin after the start byte stops the session, which still ends the
// stream properly with the capture marked as cut short.
func TestAgentStopsWhenStdinCloses(t *testing.T) {
	requireE2E(t, "nsenter")
	tg := startTarget(t)
	ra := startAgent(t, nil, "run", "--target-pid", strconv.Itoa(tg.pid), "--pcap", "1h")
	ra.waitLog(t, "waiting for one byte")
	ra.stdin.Write([]byte{1})
	ra.waitLog(t, "pcap: capturing")
	ra.stdin.Close()
	code, sum, err := ra.wait(t)
	verifiedAll(t, sum, err)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (capture cut short):\n%s", code, ra.stderr)
	}
	errs := strings.Join(sum.AgentErrors(), "\n")
	if !strings.Contains(errs, "pcap/capture.pcapng: capture stopped") {
		t.Errorf("agent errors %q", errs)
	}
}

// TestImageScript builds the image with image.sh and checks the binary in
// its only layer runs and reports the version image.sh stamped.
func TestImageScript(t *testing.T) {
	requireE2E(t, "bash", "tar")
	out := t.TempDir()
	cmd := exec.Command("bash", "image.sh", "--out", out, "--version", "v9.9.9-e2e")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("image.sh: %v\n%s", err, b)
	}
	img := filepath.Join(out, "forensic-agent-image.tar")
	x := t.TempDir()
	if b, err := exec.Command("tar", "-xf", img, "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	var legacy []struct {
		RepoTags []string
		Layers   []string
	}
	readJSON(t, filepath.Join(x, "manifest.json"), &legacy)
	if len(legacy) != 1 || legacy[0].RepoTags[0] != "forensic/agent:v9.9.9-e2e" || len(legacy[0].Layers) != 1 {
		t.Fatalf("manifest.json %+v", legacy)
	}
	l := t.TempDir()
	if b, err := exec.Command("tar", "-xf", filepath.Join(x, legacy[0].Layers[0]), "-C", l).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	files, _ := os.ReadDir(l)
	if len(files) != 1 || files[0].Name() != "forensic-agent" {
		t.Fatalf("layer holds %v", files)
	}
	v, err := exec.Command(filepath.Join(l, "forensic-agent"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "v9.9.9-e2e") {
		t.Errorf("agent in the image: %v %s", err, v)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
