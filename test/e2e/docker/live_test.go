//go:build e2e

package docker_e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const agentImage = "forensic/agent:" + testVersion

// traffic sends HTTP requests to the container from inside its own
// network namespace, over and over until stop is called, while a capture
// runs: however long the agent takes to start, some requests fall inside
// the capture window. stop returns an error when no round of requests
// succeeded.
func traffic(t *testing.T, container string, paths ...string) (stop func() error) {
	t.Helper()
	pid := mustDocker(t, "inspect", "-f", "{{.State.Pid}}", container)
	quit := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var rounds int
		var last error
		for {
			select {
			case <-quit:
				if rounds == 0 {
					done <- fmt.Errorf("no request reached the container: %v", last)
				} else {
					done <- nil
				}
				return
			case <-time.After(300 * time.Millisecond):
			}
			ok := true
			for _, p := range paths {
				out, err := exec.Command("nsenter", "-t", pid, "-n", "busybox", "wget", "-qO-", "http://127.0.0.1:8080"+p).CombinedOutput()
				if err != nil {
					last = fmt.Errorf("request %s: %v %s", p, err, out)
					ok = false
				}
			}
			if ok {
				rounds++
			}
		}
	}()
	return func() error {
		close(quit)
		return <-done
	}
}

// TestLiveCaptureDistroless captures the traffic and processes of a
// distroless container running as a non-root user, through the agent
// sidecar; the engine lacks the agent image at first, so the plugin
// creates it from the agent it carries.
func TestLiveCaptureDistroless(t *testing.T) {
	exec.Command("docker", "rmi", "-f", agentImage).Run()
	name, root := liveExport(t, forensic, []string{"--user", "65534:65534"}, "/live-probe-1", "/live-probe-2")
	// This plugin is a plain `go build`: dynamically linked, it ran as its
	// own agent, with its interpreter and libc in the image.
	if out, _ := exec.Command("file", pluginBinary).CombinedOutput(); !strings.Contains(string(out), "dynamically linked") {
		t.Errorf("the plain build is not dynamically linked: %s", out)
	}
	checkAgent(t, root, "self", sha256File(t, pluginBinary))
	transfer := filepath.Join(root, "agent/transfer.json")
	if got := jq(t, transfer, `.stream.ended and .stream.bytes == .stream.declared_bytes and .stream.sha256 == .stream.declared_sha256 and (.problems|length) == 0`); got != "true" {
		t.Errorf("agent stream check failed: %s", jq(t, transfer, "."))
	}
	// The agent's own last log line names the same bytes and hash.
	stderr, _ := os.ReadFile(filepath.Join(root, "agent/stderr.log"))
	wantLine := "sent " + jq(t, transfer, ".stream.declared_bytes") + " bytes, sha256 " + jq(t, transfer, ".stream.declared_sha256")
	if !strings.Contains(string(stderr), wantLine) {
		t.Errorf("agent log lacks %q:\n%s", wantLine, stderr)
	}
	// Each agent artifact landed in the bundle as the agent hashed it.
	if got := jq(t, filepath.Join(root, "manifest.json"), `[.artifacts[] | select(.producer == "docker.agent") | .path] | sort | join(",")`); got != "agent/info.json,agent/stderr.log,agent/transfer.json,pcap/capture.pcapng,proc/snapshot.json" {
		t.Errorf("agent artifacts in the manifest: %s", got)
	}
	for _, name := range []string{"pcap/capture.pcapng", "proc/snapshot.json"} {
		declared := jq(t, transfer, `.stream.artifacts[] | select(.name == "`+name+`") | .declared_sha256`)
		if got := sha256File(t, filepath.Join(root, name)); got != declared {
			t.Errorf("%s: bundle sha256 %s, agent declared %s", name, got, declared)
		}
	}
	snap := filepath.Join(root, "proc/snapshot.json")
	if got := jq(t, snap, `[.processes[] | select(.pid == 1 and .cmdline[0] == "/webserver" and .uids[0] == 65534)] | length`); got != "1" {
		t.Errorf("snapshot lacks the target's main process as uid 65534: %s", jq(t, snap, `.processes[0]`))
	}
	if got := jq(t, snap, `[.sockets[] | select(.state == "LISTEN" and (.local | endswith(":8080")) and any(.owners[]; .pid == 1))] | length`); got == "0" {
		t.Errorf("snapshot lacks the listening socket of pid 1: %s", jq(t, snap, ".sockets"))
	}
	custody := filepath.Join(root, "custody.json")
	if got := jq(t, custody, `[.actions[].what] | join(",")`); got != "loaded agent image,added sidecar container" {
		t.Errorf("custody actions = %q", got)
	}
	if got := jq(t, custody, `.actions[1] | (.detail | contains("`+agentImage+`")) and (.until > .at)`); got != "true" {
		t.Errorf("sidecar action lacks the image or times: %s", jq(t, custody, ".actions[1]"))
	}
	if left := mustDocker(t, "ps", "-aq", "--filter", "label=io.forensic-tools.role=agent"); left != "" {
		t.Errorf("sidecar containers left behind: %s", left)
	}
	// A second capture finds the image and loads nothing.
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--processes", "-o", "again.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("second live export: exit %d", r.code)
	}
	root = extract(t, filepath.Join(dir, "again.tar.gz"))
	if got := jq(t, filepath.Join(root, "custody.json"), `[.actions[].what] | join(",")`); got != "added sidecar container" {
		t.Errorf("custody actions on the second run = %q", got)
	}
}

// readPcap reads the bundle's capture with tshark and tcpdump, which must
// both show requests to port 8080 for every path.
func readPcap(t *testing.T, root string, paths ...string) {
	t.Helper()
	pcap := filepath.Join(root, "pcap/capture.pcapng")
	for _, reader := range [][]string{
		{"tshark", "-r", pcap, "-Y", "http.request", "-T", "fields", "-e", "tcp.dstport", "-e", "http.request.uri"},
		{"tcpdump", "-nn", "-A", "-r", pcap},
	} {
		out, err := exec.Command(reader[0], reader[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", reader[0], err, out)
		}
		for _, want := range append([]string{"8080"}, paths...) {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s output lacks %q:\n%s", reader[0], want, out)
			}
		}
	}
}

// checkAgent checks which agent the bundle says ran: its source and
// SHA-256, on the engine's architecture, named in custody too.
func checkAgent(t *testing.T, root, source, sha string) {
	t.Helper()
	arch := mustDocker(t, "version", "--format", "{{.Server.Arch}}")
	transfer := filepath.Join(root, "agent/transfer.json")
	want := source + " " + sha + " " + arch + " " + arch
	if got := jq(t, transfer, `.agent | "\(.source) \(.sha256) \(.arch) \(.engine_arch)"`); got != want {
		t.Errorf("agent in transfer.json: %q, want %q", got, want)
	}
	if got := jq(t, filepath.Join(root, "custody.json"), `[.actions[] | select(.what == "added sidecar container") | .detail | contains("`+source+` agent linux/`+arch+`, sha256 `+sha+`")] == [true]`); got != "true" {
		t.Errorf("the sidecar action does not name the %s agent %s: %s", source, sha, jq(t, filepath.Join(root, "custody.json"), ".actions"))
	}
}

// TestLiveCaptureReleaseBuild captures with the plugin built the way make
// build and make dist build it: static, with embedded linux agents; the
// one for the engine's architecture runs.
func TestLiveCaptureReleaseBuild(t *testing.T) {
	_, root := liveExport(t, forensicRelease, nil, "/release-probe")
	if out, _ := exec.Command("file", filepath.Join(releaseConfig, "cli-plugins", "docker-forensic")).CombinedOutput(); !strings.Contains(string(out), "statically linked") {
		t.Errorf("the release build is not static: %s", out)
	}
	arch := mustDocker(t, "version", "--format", "{{.Server.Arch}}")
	checkAgent(t, root, "embedded", sha256File(t, releaseAgents[arch]))
	if got := mustDocker(t, "image", "inspect", "--format", `{{index .Config.Labels "io.forensic-tools.agent.sha256"}} {{.Architecture}}`, agentImage); got != sha256File(t, releaseAgents[arch])+" "+arch {
		t.Errorf("agent image labels: %s", got)
	}
}

// TestStaleAgentImageReplaced: a wrong image under the agent's tag (a
// busybox root imported as forensic/agent:VERSION, which has no agent and
// would break every capture) is detected, replaced and recorded.
func TestStaleAgentImageReplaced(t *testing.T) {
	exec.Command("docker", "rmi", "-f", agentImage).Run()
	busyboxRoot := t.TempDir()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(busyboxRoot, "bin"), 0o755)
	if err := copyFile(busybox, filepath.Join(busyboxRoot, "bin", "busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := importDir(busyboxRoot, agentImage, `ENTRYPOINT ["/bin/busybox"]`); err != nil {
		t.Fatal(err)
	}
	stale := mustDocker(t, "image", "inspect", "--format", "{{.ID}}", agentImage)
	name := startContainer(t, webImage)
	waitLog(t, name, "webserver starting")
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--processes", "-o", "s.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("export --processes over a stale agent image: exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "s.tar.gz"))
	custody := filepath.Join(root, "custody.json")
	if got := jq(t, custody, `[.actions[].what] | join(",")`); got != "replaced agent image,added sidecar container" {
		t.Errorf("custody actions = %q", got)
	}
	if got := jq(t, custody, `.actions[0].detail | contains("`+stale+`")`); got != "true" {
		t.Errorf("the replacement does not name the stale image %s: %s", stale, jq(t, custody, ".actions[0]"))
	}
	if got := jq(t, filepath.Join(root, "agent/transfer.json"), ".agent.image"); got != "replaced" {
		t.Errorf("agent.image = %q", got)
	}
	checkAgent(t, root, "self", sha256File(t, pluginBinary))
	if got := jq(t, filepath.Join(root, "proc/snapshot.json"), `[.processes[] | select(.pid == 1 and .cmdline[0] == "/webserver")] | length`); got != "1" {
		t.Errorf("no process snapshot from the replaced image's agent")
	}
}

func TestLiveCaptureMissingAgentImage(t *testing.T) {
	name := startContainer(t, webImage)
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--processes", "--agent-image", "forensic/agent:no-such-tag", "-o", "m.tar.gz", name)
	if r.code != 2 || !strings.Contains(r.stderr, "forensic/agent:no-such-tag") {
		t.Fatalf("missing agent image: exit %d, stderr %q; want 2 and the image named", r.code, r.stderr)
	}
	root := extract(t, filepath.Join(dir, "m.tar.gz"))
	if _, err := os.Stat(filepath.Join(root, "container/filesystem.tar")); err != nil {
		t.Error("the rest of the evidence was not collected")
	}
	if v := forensic(t, dir, "verify", "m.tar.gz"); v.code != 2 {
		t.Errorf("verify: exit %d, want 2", v.code)
	}
}

// liveExport starts the web server image (runArgs go to docker run), sends
// requests for probes from inside its network namespace while run (one of
// the built plugins) exports it with --pcap 3s --processes, and returns the
// container's name and the extracted bundle, checked with sha256sum -c
// and read with tshark, which must find every probe.
func liveExport(t *testing.T, run func(*testing.T, string, ...string) result, runArgs []string, probes ...string) (name, root string) {
	t.Helper()
	name = startContainer(t, append(runArgs, webImage)...)
	waitLog(t, name, "webserver starting")
	stop := traffic(t, name, probes...)
	dir := t.TempDir()
	r := run(t, dir, "export", "--pcap", "3s", "--processes", "-o", "live.tar.gz", name)
	if err := stop(); err != nil {
		t.Fatalf("traffic: %v", err)
	}
	if r.code != 0 {
		t.Fatalf("export --pcap --processes: exit %d", r.code)
	}
	root = extract(t, filepath.Join(dir, "live.tar.gz"))
	sha256sumCheck(t, root)
	readPcap(t, root, probes...)
	return name, root
}
