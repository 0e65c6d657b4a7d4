// Command dist builds the release: static, reproducible binaries of both
// plugins for linux, darwin and windows on amd64 and arm64 and of the agent
// for linux (every docker-forensic embeds the linux agents of both
// architectures through `go build -overlay`, without writing into the
// source tree), one archive per plugin and platform (binary, LICENSE,
// README.md), the agent image tarballs, a SHA256SUMS file, and the krew
// manifest generated from krew/forensic.yaml.tmpl with every archive's
// address and real SHA-256.
//
//	go run ./tools/dist -version v0.1.0            (make dist)
//
// Reproducible: -trimpath, -buildvcs=false, version, commit and date set
// with -ldflags, archive entries sorted with fixed times (the commit's, or
// SOURCE_DATE_EPOCH), owners and modes.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentcmd"
	"github.com/forensic-tools/forensic/shared/agent/agentimage"
)

// Platform is one os/arch of the release.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

func (p Platform) exe(name string) string {
	if p.OS == "windows" {
		return name + ".exe"
	}
	return name
}

func (p Platform) archiveExt() string {
	if p.OS == "windows" {
		return ".zip"
	}
	return ".tar.gz"
}

// Platforms the plugins are built for.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// semver is the shape krew accepts: vMAJOR.MINOR.PATCH with optional
// pre-release and build parts.
var semver = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

const versionPkg = "github.com/forensic-tools/forensic/shared/version"

type config struct {
	version, commit, out, homepage, downloadBase, template, manifest string
	date                                                             time.Time
	platforms                                                        []Platform
}

// ManifestPlatform is one platform entry of the krew manifest.
type ManifestPlatform struct {
	OS, Arch, URI, SHA256, Bin string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "dist: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	c := config{}
	var only string
	flag.StringVar(&c.version, "version", "", "release version, semantic with a leading v as krew requires (default from git)")
	flag.StringVar(&c.commit, "commit", gitOr("rev-parse", "HEAD"), "source commit")
	flag.StringVar(&c.out, "out", "dist", "output folder (must not exist or be empty)")
	flag.StringVar(&c.homepage, "homepage", "https://github.com/forensic-tools/forensic", "project home page")
	flag.StringVar(&c.downloadBase, "download-base", "", "where archives are published (default HOMEPAGE/releases/download/VERSION)")
	flag.StringVar(&c.template, "template", "krew/forensic.yaml.tmpl", "krew manifest template")
	flag.StringVar(&c.manifest, "manifest", "krew/forensic.yaml", "krew manifest to write")
	flag.StringVar(&only, "platforms", "", "comma-separated os/arch list (default: all six)")
	flag.Parse()
	if c.version == "" {
		c.version = gitOr("describe", "--tags", "--match", "v[0-9]*")
	}
	if c.version == "" {
		c.version = "v0.1.0-dev." + gitOr("rev-parse", "--short", "HEAD")
	}
	if !semver.MatchString(c.version) {
		return fmt.Errorf("version %q is not a semantic version with a leading v (e.g. v0.1.0), which krew requires", c.version)
	}
	if c.commit == "" {
		c.commit = "unknown"
	}
	if c.downloadBase == "" {
		c.downloadBase = c.homepage + "/releases/download/" + c.version
	}
	c.date = sourceDate()
	c.platforms = Platforms
	if only != "" {
		c.platforms = nil
		for _, s := range strings.Split(only, ",") {
			os, arch, ok := strings.Cut(strings.TrimSpace(s), "/")
			if !ok {
				return fmt.Errorf("platform %q is not os/arch", s)
			}
			c.platforms = append(c.platforms, Platform{os, arch})
		}
	}
	if entries, err := os.ReadDir(c.out); err == nil && len(entries) > 0 {
		return fmt.Errorf("output folder %s is not empty: remove it first (make clean)", c.out)
	}
	if err := os.MkdirAll(filepath.Join(c.out, "bin"), 0o755); err != nil {
		return err
	}
	sums := map[string]string{}
	var krew []ManifestPlatform
	// Every docker-forensic carries the linux agents of both architectures
	// (a darwin/arm64 laptop may talk to a linux/amd64 engine); archives
	// and images are made for the architectures asked for.
	agentArchs := map[string]bool{}
	for _, arch := range EmbeddedAgentArchs {
		agentArchs[arch] = true
	}
	released := map[string]bool{}
	for _, p := range c.platforms {
		agentArchs[p.Arch] = true
		released[p.Arch] = true
	}
	agents := map[string]string{}
	for _, arch := range sortedKeys(agentArchs) {
		p := Platform{"linux", arch}
		bin, err := c.build(p, "forensic-agent", "./forensic-agent", "")
		if err != nil {
			return err
		}
		agents[arch] = bin
		if !released[arch] {
			continue
		}
		name := fmt.Sprintf("forensic-agent_%s_linux_%s.tar.gz", c.version, arch)
		if sums[name], err = c.archive(p, name, bin, "forensic-agent"); err != nil {
			return err
		}
		img := fmt.Sprintf("forensic-agent-image_%s_linux_%s.tar", c.version, arch)
		if sums[img], err = c.image(bin, arch, img); err != nil {
			return err
		}
	}
	overlay, cleanup, err := agentOverlay(agents)
	if err != nil {
		return err
	}
	defer cleanup()
	for _, p := range c.platforms {
		for _, plugin := range []string{"kubectl-forensic", "docker-forensic"} {
			ov := ""
			if plugin == "docker-forensic" {
				ov = overlay
			}
			bin, err := c.build(p, plugin, "./"+plugin, ov)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("%s_%s_%s_%s%s", plugin, c.version, p.OS, p.Arch, p.archiveExt())
			sum, err := c.archive(p, name, bin, p.exe(plugin))
			if err != nil {
				return err
			}
			sums[name] = sum
			if plugin == "kubectl-forensic" {
				krew = append(krew, ManifestPlatform{OS: p.OS, Arch: p.Arch, URI: c.downloadBase + "/" + name, SHA256: sum, Bin: p.exe(plugin)})
			}
		}
	}
	if err := writeSums(filepath.Join(c.out, "SHA256SUMS"), sums); err != nil {
		return err
	}
	if err := c.writeManifest(krew); err != nil {
		return err
	}
	fmt.Printf("dist: %d archives in %s, SHA256SUMS, %s\n", len(sums), c.out, c.manifest)
	return nil
}

// EmbeddedAgentArchs are the architectures of the linux agents every
// docker-forensic of the release carries.
var EmbeddedAgentArchs = []string{"amd64", "arm64"}

// agentEmbedPath is where package agentbin embeds the agent for an
// architecture; the file exists only in the build's overlay.
func agentEmbedPath(arch string) string {
	return "docker-forensic/internal/agentbin/bin/forensic-agent-linux-" + arch
}

// agentOverlay writes a `go build -overlay` file in a temporary folder
// that puts the built agents where package agentbin embeds them, so that
// nothing is written into the source tree.
func agentOverlay(agents map[string]string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "forensic-dist-overlay-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	replace := map[string]string{}
	for arch, bin := range agents {
		if !slices.Contains(EmbeddedAgentArchs, arch) {
			continue
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			cleanup()
			return "", nil, err
		}
		embed, err := filepath.Abs(agentEmbedPath(arch))
		if err != nil {
			cleanup()
			return "", nil, err
		}
		replace[embed] = abs
	}
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "overlay.json"), b, 0o644)
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("writing the build overlay: %w", err)
	}
	return filepath.Join(dir, "overlay.json"), cleanup, nil
}

// build compiles one static binary for p into OUT/bin/OS_ARCH/, with the
// overlay file when one is given.
func (c *config) build(p Platform, name, pkg, overlay string) (string, error) {
	out := filepath.Join(c.out, "bin", p.OS+"_"+p.Arch, p.exe(name))
	ldflags := fmt.Sprintf("-s -w -buildid= -X %[1]s.Version=%s -X %[1]s.Commit=%s -X %[1]s.Date=%s",
		versionPkg, c.version, c.commit, c.date.Format(time.RFC3339))
	// grpcnotrace: see the Makefile (grpc without x/net/trace keeps the agent small).
	args := []string{"build", "-trimpath", "-buildvcs=false", "-tags", "grpcnotrace", "-ldflags", ldflags, "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "dist: building %s for %s\n", name, p)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s for %s: %w", name, p, err)
	}
	return out, nil
}

// archive writes OUT/name holding the binary (as binName), LICENSE and
// README.md, and returns its SHA-256.
func (c *config) archive(p Platform, name, bin, binName string) (string, error) {
	files := []struct {
		name, src string
		mode      int64
	}{{binName, bin, 0o755}, {"LICENSE", "LICENSE", 0o644}, {"README.md", "README.md", 0o644}}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	if p.OS == "windows" {
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			data, err := os.ReadFile(f.src)
			if err != nil {
				return "", err
			}
			h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: c.date}
			h.SetMode(os.FileMode(f.mode))
			w, err := zw.CreateHeader(h)
			if err != nil {
				return "", err
			}
			if _, err := w.Write(data); err != nil {
				return "", err
			}
		}
		if err := zw.Close(); err != nil {
			return "", err
		}
	} else {
		gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // no name, zero time: reproducible
		tw := tar.NewWriter(gz)
		for _, f := range files {
			data, err := os.ReadFile(f.src)
			if err != nil {
				return "", err
			}
			h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(data)), ModTime: c.date, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
			if err := tw.WriteHeader(h); err != nil {
				return "", err
			}
			if _, err := tw.Write(data); err != nil {
				return "", err
			}
		}
		if err := tw.Close(); err != nil {
			return "", err
		}
		if err := gz.Close(); err != nil {
			return "", err
		}
	}
	return writeHashed(filepath.Join(c.out, name), buf.Bytes())
}

// image writes the agent image tarball for arch, labelled like the images
// docker-forensic makes from the same agent.
func (c *config) image(bin, arch, name string) (string, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	a := agentimage.Static(agentimage.SourceFile, arch, data)
	_, err = a.WriteImage(&buf, agent.DefaultImageRepository+":"+agent.ImageTag(c.version), c.date,
		agentcmd.ImageLabels(c.version, c.commit, c.date.Format(time.RFC3339)))
	if err != nil {
		return "", fmt.Errorf("building the agent image for %s: %w", arch, err)
	}
	return writeHashed(filepath.Join(c.out, name), buf.Bytes())
}

func (c *config) writeManifest(platforms []ManifestPlatform) error {
	tmpl, err := template.ParseFiles(c.template)
	if err != nil {
		return fmt.Errorf("reading the krew template: %w", err)
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{"Version": c.version, "Homepage": c.homepage, "Platforms": platforms})
	if err != nil {
		return fmt.Errorf("rendering the krew manifest: %w", err)
	}
	if err := os.WriteFile(c.manifest, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.out, filepath.Base(c.manifest)), b.Bytes(), 0o644)
}

func writeHashed(path string, data []byte) (string, error) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

func writeSums(path string, sums map[string]string) error {
	var b strings.Builder
	for _, name := range sortedKeys(sums) {
		fmt.Fprintf(&b, "%s  %s\n", sums[name], name)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sourceDate is SOURCE_DATE_EPOCH, else the commit time, else the epoch.
func sourceDate() time.Time {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOr("log", "-1", "--format=%ct")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}

func gitOr(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
