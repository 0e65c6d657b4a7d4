//go:build e2e

package dist_e2e

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/forensic-tools/forensic/internal/testutil"
)

const (
	version     = "v0.1.0-e2e.1"
	krewVersion = "v0.4.3"
)

var (
	repoRoot string
	work     string
	distDir  string
	manifest string
	toolsBin string
)

var platforms = [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "dist e2e setup failed: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	var err error
	if repoRoot, err = filepath.Abs("../../.."); err != nil {
		return err
	}
	if work, err = os.MkdirTemp("", "forensic-e2e-dist-"); err != nil {
		return err
	}
	distDir = filepath.Join(work, "dist")
	manifest = filepath.Join(work, "forensic.yaml")
	if out, err := runIn(repoRoot, nil, "go", "run", "./tools/dist", "-version", version, "-out", distDir, "-manifest", manifest); err != nil {
		return fmt.Errorf("tools/dist: %v\n%s", err, out)
	}
	// krew and its validator from the Go module proxy, built once per
	// version into the shared tool cache; krew runs as a kubectl plugin, so
	// it is copied in as kubectl-krew.
	toolsBin = filepath.Join(work, "tools")
	if err := os.MkdirAll(toolsBin, 0o755); err != nil {
		return err
	}
	for name, pkg := range map[string]string{
		"kubectl-krew":           "sigs.k8s.io/krew/cmd/krew",
		"validate-krew-manifest": "sigs.k8s.io/krew/cmd/validate-krew-manifest",
	} {
		exe, err := testutil.GoTool(pkg, krewVersion, "CGO_ENABLED=0")
		if err != nil {
			return err
		}
		if out, err := runIn(work, nil, "cp", exe, filepath.Join(toolsBin, name)); err != nil {
			return fmt.Errorf("copying %s: %v\n%s", exe, err, out)
		}
	}
	return nil
}

func runIn(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func must(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runIn(dir, env, name, args...)
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

func sums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(distDir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		m[name] = sum
	}
	return m
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type krewManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version   string `json:"version"`
		Homepage  string `json:"homepage"`
		Caveats   string `json:"caveats"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readManifest(t *testing.T) krewManifest {
	t.Helper()
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func archiveName(plugin, goos, arch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", plugin, version, goos, arch, ext)
}

func TestManifestValidates(t *testing.T) {
	must(t, repoRoot, nil, filepath.Join(toolsBin, "validate-krew-manifest"), "-manifest", manifest, "-skip-install")
	m := readManifest(t)
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "forensic" || m.Spec.Version != version {
		t.Errorf("manifest header: %+v", m)
	}
	for _, want := range []string{"ClusterRole", "cannot be removed"} {
		if !strings.Contains(m.Spec.Caveats, want) {
			t.Errorf("caveats lack %q", want)
		}
	}
	s := sums(t)
	if len(m.Spec.Platforms) != len(platforms) {
		t.Fatalf("%d platforms in the manifest, want %d", len(m.Spec.Platforms), len(platforms))
	}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		name := archiveName("kubectl-forensic", goos, arch)
		if !strings.HasSuffix(p.URI, "/"+version+"/"+name) {
			t.Errorf("%s/%s: uri %s", goos, arch, p.URI)
		}
		if p.SHA256 != s[name] || p.SHA256 != fileSHA256(t, filepath.Join(distDir, name)) {
			t.Errorf("%s: manifest sha256 %s, SHA256SUMS %s", name, p.SHA256, s[name])
		}
		var hasLicense bool
		for _, f := range p.Files {
			hasLicense = hasLicense || f.From == "LICENSE"
		}
		if !hasLicense {
			t.Errorf("%s/%s: files do not include LICENSE", goos, arch)
		}
	}
}

// TestArchives checks every archive against SHA256SUMS and that each holds
// LICENSE, README.md and a binary built for its os/arch.
func TestArchives(t *testing.T) {
	s := sums(t)
	var want []string
	for _, p := range platforms {
		want = append(want, archiveName("kubectl-forensic", p[0], p[1]), archiveName("docker-forensic", p[0], p[1]))
	}
	for _, arch := range []string{"amd64", "arm64"} {
		want = append(want, archiveName("forensic-agent", "linux", arch), fmt.Sprintf("forensic-agent-image_%s_linux_%s.tar", version, arch))
	}
	if len(s) != len(want) {
		t.Errorf("SHA256SUMS has %d entries, want %d", len(s), len(want))
	}
	out := must(t, distDir, nil, "sha256sum", "-c", "SHA256SUMS")
	if strings.Count(out, ": OK") != len(want) {
		t.Errorf("sha256sum -c did not check every archive")
	}
	for _, name := range want {
		if _, ok := s[name]; !ok {
			t.Errorf("SHA256SUMS lacks %s", name)
			continue
		}
		if strings.HasPrefix(name, "forensic-agent-image_") {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz"), "_")
		goos, arch := parts[len(parts)-2], parts[len(parts)-1]
		files := unpack(t, filepath.Join(distDir, name))
		bin := parts[0]
		if goos == "windows" {
			bin += ".exe"
		}
		for _, f := range []string{bin, "LICENSE", "README.md"} {
			if _, ok := files[f]; !ok {
				t.Errorf("%s lacks %s", name, f)
			}
		}
		checkBinary(t, name, files[bin], goos, arch)
	}
}

// unpack returns the archive's files by name.
func unpack(t *testing.T, path string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, _ := f.Open()
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		return files
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
}

// checkBinary asks `go version -m` and file(1) what the binary is built for.
func checkBinary(t *testing.T, archive string, data []byte, goos, arch string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runIn("", nil, "go", "version", "-m", path)
	if err != nil {
		t.Fatalf("%s: go version -m: %v %s", archive, err, out)
	}
	for _, want := range []string{"build\tGOOS=" + goos, "build\tGOARCH=" + arch, "build\tCGO_ENABLED=0", "build\t-trimpath=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: go version -m lacks %q", archive, want)
		}
	}
	// -trimpath keeps -ldflags out of the build information: look for the
	// version that -X set in the binary itself.
	if !bytes.Contains(data, []byte(version)) {
		t.Errorf("%s: the binary does not carry version %s", archive, version)
	}
	fileOut, _ := runIn("", nil, "file", path)
	kind := map[string]string{"linux": "ELF", "darwin": "Mach-O", "windows": "PE32+"}[goos]
	machine := map[string]map[string]string{
		"linux":   {"amd64": "x86-64", "arm64": "ARM aarch64"},
		"darwin":  {"amd64": "x86_64", "arm64": "arm64"},
		"windows": {"amd64": "x86-64", "arm64": "Aarch64"},
	}[goos][arch]
	if !strings.Contains(fileOut, kind) || !strings.Contains(fileOut, machine) {
		t.Errorf("%s: file says %q, want %s %s", archive, fileOut, kind, machine)
	}
	if goos == "linux" && !strings.Contains(fileOut, "statically linked") {
		t.Errorf("%s: not static: %s", archive, fileOut)
	}
}

// TestKrewInstall installs from the archives with real krew, offline, for
// every platform; the native one is then run through kubectl and removed.
func TestKrewInstall(t *testing.T) {
	path := toolsBin + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, p := range platforms {
		root := t.TempDir()
		env := []string{"KREW_ROOT=" + root, "KREW_OS=" + p[0], "KREW_ARCH=" + p[1], "PATH=" + filepath.Join(root, "bin") + string(os.PathListSeparator) + path}
		must(t, repoRoot, env, "kubectl", "krew", "install", "--manifest="+manifest, "--archive="+filepath.Join(distDir, archiveName("kubectl-forensic", p[0], p[1])))
		if _, err := os.Stat(filepath.Join(root, "store", "forensic", version, "LICENSE")); err != nil {
			t.Errorf("%s/%s: LICENSE not installed: %v", p[0], p[1], err)
		}
		if p != [2]string{"linux", "amd64"} {
			continue
		}
		if out := must(t, repoRoot, env, "kubectl", "forensic", "version"); !strings.Contains(out, "kubectl-forensic "+version) {
			t.Errorf("kubectl forensic version: %s", out)
		}
		if out := must(t, repoRoot, env, "kubectl", "plugin", "list"); !strings.Contains(out, filepath.Join(root, "bin", "kubectl-forensic")) {
			t.Errorf("kubectl plugin list does not find the plugin:\n%s", out)
		}
		// krew's commands other than install want a plugin index; offline,
		// an empty local one stands in for krew-index (kubectl krew update
		// would clone it from the network).
		must(t, repoRoot, nil, "git", "init", "-q", filepath.Join(root, "index", "default"))
		must(t, repoRoot, env, "kubectl", "krew", "uninstall", "forensic")
		out, _ := runIn(repoRoot, env, "kubectl", "plugin", "list")
		if strings.Contains(out, "kubectl-forensic") {
			t.Errorf("still listed after uninstall:\n%s", out)
		}
	}
}

// TestDockerPluginInstall drops the linux/amd64 docker-forensic into a
// temporary DOCKER_CONFIG, as users do, and asks every docker CLI here.
func TestDockerPluginInstall(t *testing.T) {
	files := unpack(t, filepath.Join(distDir, archiveName("docker-forensic", "linux", "amd64")))
	cfg := t.TempDir()
	os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755)
	if err := os.WriteFile(filepath.Join(cfg, "cli-plugins", "docker-forensic"), files["docker-forensic"], 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfg}
	clis := []string{}
	for _, c := range []string{"/usr/local/bin/docker", "/usr/bin/docker"} {
		if _, err := os.Stat(c); err == nil {
			clis = append(clis, c)
		}
	}
	if len(clis) == 0 {
		t.Fatal("no docker CLI found")
	}
	for _, cli := range clis {
		if out := must(t, "", env, cli, "--help"); !strings.Contains(out, "forensic") {
			t.Errorf("%s --help does not list forensic", cli)
		}
		if out := must(t, "", env, cli, "forensic", "version"); !strings.Contains(out, "docker-forensic "+version) {
			t.Errorf("%s forensic version: %s", cli, out)
		}
	}
	meta := must(t, "", nil, filepath.Join(cfg, "cli-plugins", "docker-forensic"), "docker-cli-plugin-metadata")
	if !strings.Contains(meta, `"Version": "`+version+`"`) {
		t.Errorf("metadata version differs: %s", meta)
	}
}

// TestReproducible builds linux/amd64 again into another folder: the same
// archives, byte for byte.
func TestReproducible(t *testing.T) {
	again := filepath.Join(t.TempDir(), "dist")
	must(t, repoRoot, nil, "go", "run", "./tools/dist", "-version", version, "-platforms", "linux/amd64", "-out", again, "-manifest", filepath.Join(t.TempDir(), "m.yaml"))
	first := sums(t)
	b, err := os.ReadFile(filepath.Join(again, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		n++
		if first[name] != sum {
			t.Errorf("%s differs between two builds: %s vs %s", name, first[name], sum)
		}
	}
	if n != 4 {
		t.Errorf("second build made %d archives, want 4", n)
	}
}

// agentBinaries returns the linux agents of the release, by GOARCH, from
// their archives.
func agentBinaries(t *testing.T) map[string][]byte {
	t.Helper()
	agents := map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		agents[arch] = unpack(t, filepath.Join(distDir, archiveName("forensic-agent", "linux", arch)))["forensic-agent"]
		if len(agents[arch]) == 0 {
			t.Fatalf("no linux/%s agent in the release", arch)
		}
	}
	return agents
}

// TestDockerPluginCarriesBothAgents: every docker-forensic of the release,
// whatever its own platform, carries the linux agents of both
// architectures, byte for byte those of the agent archives, so that it
// serves an engine of either.
func TestDockerPluginCarriesBothAgents(t *testing.T) {
	agents := agentBinaries(t)
	for _, p := range platforms {
		name := archiveName("docker-forensic", p[0], p[1])
		files := unpack(t, filepath.Join(distDir, name))
		bin := "docker-forensic"
		if p[0] == "windows" {
			bin += ".exe"
		}
		for arch, agent := range agents {
			if !bytes.Contains(files[bin], agent) {
				t.Errorf("%s does not carry the linux/%s agent", name, arch)
			}
		}
	}
}

// TestDistLeavesTreeClean: tools/dist writes nothing into the source tree
// (the agents reach the compiler through a build overlay), so a plain
// `go build` afterwards embeds no agent left behind by the release.
func TestDistLeavesTreeClean(t *testing.T) {
	if out := must(t, repoRoot, nil, "git", "status", "--porcelain", "--ignored", "--", "docker-forensic/internal/agentbin"); strings.TrimSpace(out) != "" {
		t.Errorf("tools/dist left files in docker-forensic/internal/agentbin:\n%s", out)
	}
	plain := filepath.Join(t.TempDir(), "docker-forensic")
	must(t, repoRoot, nil, "go", "build", "-o", plain, "./docker-forensic")
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	for arch, agent := range agentBinaries(t) {
		if bytes.Contains(b, agent) {
			t.Errorf("a plain go build after dist embeds the release's linux/%s agent", arch)
		}
	}
}

// TestMakeInstall installs without krew, with the completion helper.
func TestMakeInstall(t *testing.T) {
	prefix, plugins := t.TempDir(), t.TempDir()
	must(t, repoRoot, nil, "make", "install", "PREFIX="+prefix, "DOCKER_PLUGINS="+plugins)
	for _, f := range []string{filepath.Join(prefix, "bin", "kubectl-forensic"), filepath.Join(plugins, "docker-forensic")} {
		if st, err := os.Stat(f); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s not installed as an executable: %v", f, err)
		}
	}
	out := must(t, "", nil, filepath.Join(prefix, "bin", "kubectl_complete-forensic"), "")
	for _, want := range []string{"capture", "verify", "version"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("completion helper does not offer %q:\n%s", want, out)
		}
	}
}
