//go:build e2e

package docker_e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Images built for the suite, with explicit tags.
const (
	busyboxImage = "forensic-test/busybox:1.0"
	webImage     = "forensic-test/webserver:1.0"
	testVersion  = "v0.0.0-e2e"
)

var (
	repoRoot     string
	pluginBinary string
	dockerConfig string
	// releaseConfig is a DOCKER_CONFIG whose docker-forensic is built like
	// a release, with embedded agents (releaseAgents: GOARCH => binary).
	releaseConfig string
	releaseAgents map[string]string
)

// versionFlag stamps the suite's version, so the agent image is
// forensic/agent:v0.0.0-e2e.
const versionFlag = "-X github.com/forensic-tools/forensic/shared/version.Version=" + testVersion

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker e2e setup failed: %v\n", err)
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
	for _, tool := range []string{"docker", "tar", "zstd", "jq", "sha256sum", "nsenter", "script"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 1, fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	e, err := detectEngine()
	if err != nil {
		return 1, err
	}
	engine = e
	fmt.Printf("docker e2e: engine %s\n", engine)
	work, err := os.MkdirTemp("", "forensic-e2e-docker-")
	if err != nil {
		return 1, err
	}
	dockerConfig = filepath.Join(work, "docker-config")
	pluginBinary = filepath.Join(dockerConfig, "cli-plugins", "docker-forensic")
	// The plugin as `go build` or `go install` makes it: cgo on, so
	// dynamically linked, no embedded agent; it runs as its own agent.
	build := exec.Command("go", "build", "-o", pluginBinary, "-ldflags", versionFlag, "./docker-forensic")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("building docker-forensic: %v\n%s", err, out)
	}
	releaseConfig = filepath.Join(work, "docker-config-release")
	if err := buildRelease(work, filepath.Join(releaseConfig, "cli-plugins", "docker-forensic")); err != nil {
		return 1, err
	}
	if err := buildImages(work); err != nil {
		return 1, err
	}
	return 0, nil
}

// buildRelease builds docker-forensic as make build and make dist do:
// static, with the linux agents of amd64 and arm64 embedded through a build
// overlay, whose agents and overlay file live under work, not in the tree.
func buildRelease(work, plugin string) error {
	dir := filepath.Join(work, "release-agents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	replace := map[string]string{}
	releaseAgents = map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(dir, "forensic-agent-linux-"+arch)
		agent := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags", versionFlag, "./forensic-agent")
		agent.Dir = repoRoot
		agent.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := agent.CombinedOutput(); err != nil {
			return fmt.Errorf("building forensic-agent for linux/%s: %v\n%s", arch, err, out)
		}
		replace[filepath.Join(repoRoot, "docker-forensic/internal/agentbin/bin/forensic-agent-linux-"+arch)] = bin
		releaseAgents[arch] = bin
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-trimpath", "-overlay", filepath.Join(dir, "overlay.json"), "-o", plugin, "-ldflags", versionFlag, "./docker-forensic")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building docker-forensic with embedded agents: %v\n%s", err, out)
	}
	return nil
}

// buildImages imports the two test images when the engine lacks them.
func buildImages(work string) error {
	// A full image: busybox-static and its applets.
	bb := filepath.Join(work, "busybox-root")
	for _, d := range []string{"bin", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(bb, d), 0o755); err != nil {
			return err
		}
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed (apt-get install busybox-static): %w", err)
	}
	if out, _ := exec.Command("file", "-L", busybox).CombinedOutput(); !bytes.Contains(out, []byte("statically linked")) {
		return fmt.Errorf("%s is not statically linked: install busybox-static", busybox)
	}
	if err := copyFile(busybox, filepath.Join(bb, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "ls", "cat", "echo", "sleep", "mkdir", "dd", "wget", "ps", "ln", "chmod", "id", "yes", "head"} {
		if err := os.Symlink("busybox", filepath.Join(bb, "bin", applet)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(bb, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), 0o644); err != nil {
		return err
	}
	if err := importDir(bb, busyboxImage); err != nil {
		return err
	}
	// A distroless image: one static Go binary and nothing else.
	ws := filepath.Join(work, "webserver-root")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(ws, "webserver"), "./test/images/webserver")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the webserver: %v\n%s", err, out)
	}
	return importDir(ws, webImage, `ENTRYPOINT ["/webserver"]`)
}

func importDir(dir, image string, changes ...string) error {
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "-c", c)
	}
	args = append(args, "-", image)
	tarCmd := exec.Command("tar", "-C", dir, "-c", ".")
	imp := exec.Command("docker", args...)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr = &out, &out
	if err := tarCmd.Start(); err != nil {
		return err
	}
	if err := imp.Run(); err != nil {
		return fmt.Errorf("docker import %s: %v: %s", image, err, out.String())
	}
	return tarCmd.Wait()
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// result is a finished command.
type result struct {
	stdout, stderr string
	code           int
}

// run runs a command with the plugin installed, in dir, and waits.
func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+dockerConfig), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	t.Logf("$ %s %s  (exit %d)\n%s%s", name, strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{stdout.String(), stderr.String(), code}
}

// forensic runs `docker forensic ARGS` in dir.
func forensic(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, dir, nil, "docker", append([]string{"forensic"}, args...)...)
}

// forensicRelease runs `docker forensic ARGS` in dir with the plugin built
// like a release (embedded agents).
func forensicRelease(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, dir, []string{"DOCKER_CONFIG=" + releaseConfig}, "docker", append([]string{"forensic"}, args...)...)
}

// mustDocker runs a docker command that must succeed and returns its output.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// startContainer runs a detached container and removes it when the test ends.
func startContainer(t *testing.T, args ...string) string {
	t.Helper()
	name := fmt.Sprintf("fe2e-%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano()%100000)
	if len(name) > 60 {
		name = name[len(name)-60:]
		name = "f" + strings.TrimLeft(name, "-_.")
	}
	// Registered first: a container created but not started is removed too.
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	mustDocker(t, append([]string{"run", "-d", "--name", name}, args...)...)
	return name
}

// waitLog waits until the container's logs contain want.
func waitLog(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("docker", "logs", name).CombinedOutput()
		if strings.Contains(string(out), want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("container %s never logged %q", name, want)
}

// extract unpacks a bundle into a new folder and returns the bundle root in it.
func extract(t *testing.T, bundle string) string {
	t.Helper()
	dir := t.TempDir()
	var args []string
	switch {
	case strings.HasSuffix(bundle, ".tar.zst"):
		args = []string{"--zstd", "-xf", bundle}
	case strings.HasSuffix(bundle, ".zip"):
		t.Fatalf("extract: use Go for zip bundles")
	default:
		args = []string{"-xf", bundle} // GNU tar detects gzip itself
	}
	cmd := exec.Command("tar", append(args, "-C", dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar %v: %v\n%s", args, err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("bundle %s should hold exactly one root folder, found %v (%v)", bundle, entries, err)
	}
	return filepath.Join(dir, entries[0].Name())
}

// sha256sumCheck runs `sha256sum -c SHA256SUMS` in an extracted bundle.
func sha256sumCheck(t *testing.T, root string) {
	t.Helper()
	cmd := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c failed in %s: %v\n%s", root, err, out)
	}
}

// jq evaluates a jq filter on a JSON file and returns its raw output.
func jq(t *testing.T, file, filter string) string {
	t.Helper()
	out, err := exec.Command("jq", "-r", filter, file).CombinedOutput()
	if err != nil {
		t.Fatalf("jq %q %s: %v\n%s", filter, file, err, out)
	}
	return strings.TrimSpace(string(out))
}

// readJSON decodes a JSON file into v.
func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// singleBundle returns the one bundle file in dir.
func singleBundle(t *testing.T, dir string) string {
	t.Helper()
	names := listDir(t, dir)
	if len(names) != 1 {
		t.Fatalf("want one bundle in %s, found %v", dir, names)
	}
	return filepath.Join(dir, names[0])
}

// tarList lists the names in a tar file (any compression GNU tar detects).
func tarList(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("tar", "-tf", file).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tf %s: %v\n%s", file, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}
