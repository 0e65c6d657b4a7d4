//go:build e2e

package analyze_e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze"
)

// Images the suite builds, with tags of its own so that other suites'
// images are never touched; all are removed at the end.
const (
	baseImage = "forensic-test/analyze-base:1"
	appImage  = "forensic-test/analyze-app:1"
	midImage  = "forensic-test/analyze-app:mid"
)

// Secrets planted in the image, assembled here so that the source does
// not look like a leak to secret scanners.
var (
	plantedKeyID  = "AKIA" + "R5TXW2QZ" + "6N4MKE7D"
	plantedSecret = "Xb7Qe2Tn9Wk4Lp6Ry1Vs" + "3Hd8Mf5Jc0Gz2Ua7Ko9I"
	plantedPEM    = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"QyNTUxOQAAACBzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXQAAAAA\n" +
		"-----END OPENSSH PRIVATE KEY-----\n"
	runToken = "ghp_" + "T4kq9ZbW2xLm7Np3Rv8Yc1Hd6Fs0Gj5Ue2Ko"
)

var (
	repoRoot  string
	work      string // the suite's own temporary folder
	dockerCfg string // DOCKER_CONFIG holding the plugin
	plugin    string // docker-forensic, also runnable on its own
	kubectl   string // kubectl-forensic
	saved     string // docker save of appImage (the engine's own layout)
	// savesOCI is true when the engine keeps images in containerd (the
	// containerd image store of the modern test engine): its docker save
	// writes the OCI layout (index.json, blobs/) with a manifest.json
	// beside it; Docker 20.10 writes the legacy layout.
	savesOCI bool
)

func TestMain(m *testing.M) {
	err := setup()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "analyze e2e setup failed: %v\n", err)
	} else {
		code = m.Run()
	}
	teardown()
	os.Exit(code)
}

func setup() error {
	root, err := filepath.Abs("../../..")
	if err != nil {
		return err
	}
	repoRoot = root
	for _, tool := range []string{"docker", "busybox", "chromium", "tar", "gzip", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (Debian packages: docker.io busybox-static chromium tar gzip): %w", tool, err)
		}
	}
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}} {{json .DriverStatus}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("no Docker Engine answers (run test/docker/engine ensure, or up modern): %v: %s", err, out)
	}
	// The driver status names the snapshotter when containerd keeps the
	// images: [["driver-type","io.containerd.snapshotter.v1"]].
	savesOCI = strings.Contains(string(out), "io.containerd.snapshotter")
	version, _, _ := strings.Cut(string(out), " ")
	fmt.Printf("analyze e2e: engine Docker %s at %s, containerd image store %v\n", version, cmp.Or(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock"), savesOCI)
	if work, err = os.MkdirTemp("", "forensic-e2e-analyze-"); err != nil {
		return err
	}
	dockerCfg = filepath.Join(work, "docker-config")
	plugin = filepath.Join(dockerCfg, "cli-plugins", "docker-forensic")
	kubectl = filepath.Join(work, "kubectl-forensic")
	for out, pkg := range map[string]string{plugin: "./docker-forensic", kubectl: "./kubectl-forensic"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = repoRoot
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", pkg, err, b)
		}
	}
	if err := buildImages(); err != nil {
		return err
	}
	saved = filepath.Join(work, "app.tar")
	if b, err := exec.Command("docker", "save", "-o", saved, appImage).CombinedOutput(); err != nil {
		return fmt.Errorf("docker save: %v: %s", err, b)
	}
	return nil
}

func teardown() {
	exec.Command("docker", "rmi", "-f", appImage, midImage, baseImage).Run()
	if work != "" {
		os.RemoveAll(work)
	}
}

// buildImages builds the base image with docker import and two layers on
// it with docker run and docker commit.
func buildImages() error {
	rootfs := filepath.Join(work, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root", "var/lib/dpkg", "usr/lib"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 0o777|os.ModeSticky)
	bb, _ := exec.LookPath("busybox")
	if out, _ := exec.Command("busybox", "--list").Output(); !bytes.Contains(out, []byte("sh\n")) {
		return fmt.Errorf("%s is not a full busybox: install busybox-static", bb)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	files := map[string]string{
		"bin/busybox":         string(data),
		"etc/motd":            "welcome to the base image\n",
		"etc/passwd":          "root:x:0:0:root:/root:/bin/sh\n",
		"usr/lib/os-release":  "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status": "Package: busybox-static\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.35.0-4+b3\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n",
	}
	for name, body := range files {
		mode := os.FileMode(0o644)
		if name == "bin/busybox" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(body), mode); err != nil {
			return err
		}
	}
	os.Symlink("../usr/lib/os-release", filepath.Join(rootfs, "etc/os-release"))
	for _, applet := range []string{"sh", "cp", "chmod", "rm", "mkdir", "cat", "echo", "printf", "sleep", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			return err
		}
	}
	tarCmd := exec.Command("tar", "-C", rootfs, "-c", ".")
	imp := exec.Command("docker", "import", "-c", `CMD ["/bin/sh"]`, "-m", "base rootfs", "-", baseImage)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	if err := tarCmd.Start(); err != nil {
		return err
	}
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import: %v: %s", err, out)
	}
	if err := tarCmd.Wait(); err != nil {
		return err
	}
	// The script comes on standard input, so the secrets are in neither
	// the container's command nor its environment, which commit would keep.
	plant := "mkdir -p /usr/local/bin /root/.ssh /app\n" +
		"cp /bin/busybox /usr/local/bin/helper && chmod 4755 /usr/local/bin/helper\n" +
		"rm /etc/motd\n" +
		"cat > /root/.ssh/id_ed25519 <<'EOF'\n" + plantedPEM + "EOF\n" +
		"chmod 600 /root/.ssh/id_ed25519\n" +
		"printf 'AWS_ACCESS_KEY_ID=" + plantedKeyID + "\\nAWS_SECRET_ACCESS_KEY=" + plantedSecret + "\\n' > /app/.env\n"
	if err := commitStep(baseImage, midImage, plant, "plant a setuid helper and keys, delete motd", "sh", "-s"); err != nil {
		return err
	}
	return commitStep(midImage, appImage, "", "drop a program in /tmp", "sh", "-c", "cp /bin/busybox /tmp/dropper && chmod 755 /tmp/dropper")
}

func commitStep(from, to, stdin, message string, cmd ...string) error {
	name := fmt.Sprintf("forensic-e2e-analyze-build-%d", time.Now().UnixNano())
	run := exec.Command("docker", append([]string{"run", "-i", "--name", name, from}, cmd...)...)
	run.Stdin = strings.NewReader(stdin)
	if out, err := run.CombinedOutput(); err != nil {
		exec.Command("docker", "rm", "-f", name).Run()
		return fmt.Errorf("docker run %v: %v: %s", cmd, err, out)
	}
	defer exec.Command("docker", "rm", "-f", name).Run()
	if out, err := exec.Command("docker", "commit", "-m", message, "-c", `CMD ["/bin/sh"]`, name, to).CombinedOutput(); err != nil {
		return fmt.Errorf("docker commit: %v: %s", err, out)
	}
	return nil
}

// result is a finished command.
type result struct {
	stdout, stderr string
	code           int
}

// run runs a command with the plugin installed and returns its output and
// exit status.
func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerCfg)
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
	out := stdout.String()
	if len(out) > 4000 {
		out = out[:4000] + "...\n"
	}
	t.Logf("$ %s %s  (exit %d)\n%s%s", name, strings.Join(args, " "), code, out, stderr.String())
	return result{stdout.String(), stderr.String(), code}
}

// analyzeJSON runs `docker forensic analyze -o json FILE` and decodes the report.
func analyzeJSON(t *testing.T, file string, extra ...string) (*analyze.Report, result) {
	t.Helper()
	res := run(t, "docker", append(append([]string{"forensic", "analyze", "-o", "json"}, extra...), file)...)
	var r analyze.Report
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("report is not JSON (exit %d): %v\n%s", res.code, err, res.stderr)
	}
	return &r, res
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sbomComponent is what the tests read of a CycloneDX component.
type sbomComponent struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
}

// readSBOM returns the components of the CycloneDX SBOM at path, and the
// file's bytes.
func readSBOM(t *testing.T, path string) ([]sbomComponent, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components []sbomComponent `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("SBOM %s: %v", path, err)
	}
	return doc.Components, b
}

// saveRootfs imports the folder rootfs as image (with the CMD cmd), saves
// it with `docker save` into dir and returns the tarball's path; the image
// is removed when the test ends.
func saveRootfs(t *testing.T, rootfs, image, cmd, dir string) string {
	t.Helper()
	tarCmd := exec.Command("tar", "-C", rootfs, "-c", ".")
	imp := exec.Command("docker", "import", "-c", "CMD "+cmd, "-", image)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	if err := tarCmd.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	if err := tarCmd.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	file := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(image)+".tar")
	mustDocker(t, "save", "-o", file, image)
	return file
}

func find(r *analyze.Report, rule, path string) *analyze.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule && (path == "" || r.Findings[i].Path == path) {
			return &r.Findings[i]
		}
	}
	return nil
}

func ruleList(r *analyze.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule+" "+f.Path+" @"+f.Where)
	}
	return out
}
