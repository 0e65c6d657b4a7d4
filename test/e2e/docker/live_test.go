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
	name := startContainer(t, "--user", "65534:65534", webImage)
	waitLog(t, name, "webserver starting")
	stop := traffic(t, name, "/live-probe-1", "/live-probe-2")
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--pcap", "4s", "--processes", "-o", "live.tar.gz", name)
	if err := stop(); err != nil {
		t.Fatalf("traffic: %v", err)
	}
	if r.code != 0 {
		t.Fatalf("export --pcap --processes: exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "live.tar.gz"))
	sha256sumCheck(t, root)
	pcap := filepath.Join(root, "pcap/capture.pcapng")
	for _, reader := range [][]string{
		{"tshark", "-r", pcap, "-Y", "http.request", "-T", "fields", "-e", "tcp.dstport", "-e", "http.request.uri"},
		{"tcpdump", "-nn", "-A", "-r", pcap},
	} {
		out, err := exec.Command(reader[0], reader[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", reader[0], err, out)
		}
		for _, want := range []string{"/live-probe-1", "/live-probe-2", "8080"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s output lacks %q:\n%s", reader[0], want, out)
			}
		}
	}
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
	r = forensic(t, dir, "export", "--processes", "-o", "again.tar.gz", name)
	if r.code != 0 {
		t.Fatalf("second live export: exit %d", r.code)
	}
	root = extract(t, filepath.Join(dir, "again.tar.gz"))
	if got := jq(t, filepath.Join(root, "custody.json"), `[.actions[].what] | join(",")`); got != "added sidecar container" {
		t.Errorf("custody actions on the second run = %q", got)
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
