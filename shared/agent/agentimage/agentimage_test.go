package agentimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lddLibraries asks ldd, independently of debug/elf, which libraries a
// binary loads: name => path, the interpreter and the vDSO left out.
func lddLibraries(t *testing.T, bin string) map[string]string {
	t.Helper()
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd %s: %v\n%s", bin, err, out)
	}
	libs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if !ok {
			continue
		}
		libs[name], _, _ = strings.Cut(rest, " (")
	}
	return libs
}

// TestNeedsDynamic reads a dynamically linked binary of this host and finds
// the interpreter and libraries ldd names, at the same paths.
func TestNeedsDynamic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF binaries of the host: linux only")
	}
	bin := "/bin/ls"
	d, err := Needs(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("readelf", "-l", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("readelf: %v %s", err, out)
	}
	if d.Interpreter == "" || !strings.Contains(string(out), "[Requesting program interpreter: "+d.Interpreter+"]") {
		t.Errorf("interpreter %q, readelf -l says:\n%s", d.Interpreter, out)
	}
	want := lddLibraries(t, bin)
	got := map[string]string{}
	for _, l := range d.Libraries {
		got[filepath.Base(l)] = l
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("libraries (-ldd +Needs):\n%s", diff)
	}
	if len(got) == 0 || got["libc.so.6"] == "" {
		t.Errorf("no libc among %v", d.Libraries)
	}
}

// TestNeedsStatic: a static binary needs nothing.
func TestNeedsStatic(t *testing.T) {
	bin := buildStatic(t)
	d, err := Needs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if d.Interpreter != "" || len(d.Libraries) != 0 {
		t.Errorf("static binary needs %+v", d)
	}
	a, err := FromExecutable(bin, SourceSelf)
	if err != nil {
		t.Fatal(err)
	}
	if a.Arch != runtime.GOARCH || len(a.files) != 0 {
		t.Errorf("agent %s, %d files", a.Arch, len(a.files))
	}
}

func buildStatic(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "static", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a static binary: %v\n%s", err, out)
	}
	return filepath.Join(dir, "static")
}

// TestImageOfDynamicBinary puts a dynamic binary in an image: its layer
// holds the binary, the interpreter and the libraries at the paths they
// have here, and the config carries the labels and the library path.
func TestImageOfDynamicBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF binaries of the host: linux only")
	}
	a, err := FromExecutable("/bin/ls", SourceSelf)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := a.WriteImage(&buf, "forensic/agent:t", time.Unix(0, 0), map[string]string{"x": "y", LabelSHA256: "not this"}); err != nil {
		t.Fatal(err)
	}
	files := untar(t, buf.Bytes())
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	layer := untar(t, files[manifest[0].Layers[0]])
	var names []string
	for n := range layer {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"forensic-agent", strings.TrimPrefix(a.Interpreter, "/")}
	for _, l := range a.Libraries {
		want = append(want, strings.TrimPrefix(l, "/"))
	}
	for _, w := range want {
		if _, ok := layer[w]; !ok {
			t.Errorf("layer lacks %s: %v", w, names)
		}
	}
	ls, _ := os.ReadFile("/bin/ls")
	if !bytes.Equal(layer["forensic-agent"], ls) {
		t.Error("binary in the layer differs from /bin/ls")
	}
	libc, _ := os.ReadFile(a.Libraries[len(a.Libraries)-1])
	if !bytes.Equal(layer[strings.TrimPrefix(a.Libraries[len(a.Libraries)-1], "/")], libc) {
		t.Error("library in the layer differs from the host's")
	}
	var config struct {
		Architecture string
		Config       struct {
			Env    []string
			Labels map[string]string
		}
	}
	if err := json.Unmarshal(files[manifest[0].Config], &config); err != nil {
		t.Fatal(err)
	}
	if config.Architecture != runtime.GOARCH || config.Config.Labels[LabelSHA256] != a.SHA256 || config.Config.Labels[LabelArch] != runtime.GOARCH ||
		config.Config.Labels[LabelSource] != SourceSelf || config.Config.Labels["x"] != "y" {
		t.Errorf("config %+v", config)
	}
	if len(config.Config.Env) != 1 || !strings.Contains(config.Config.Env[0], filepath.Dir(a.Libraries[0])) {
		t.Errorf("env %v", config.Config.Env)
	}
}

// TestStaticAgentImage: a static agent's layer holds the binary alone.
func TestStaticAgentImage(t *testing.T) {
	a := Static(SourceEmbedded, "arm64", []byte("agent bytes"))
	if a.SHA256 != "e1b4b7f4a39d6366738878406dbc705744e153dc0557597620457f8fc034699a" { // printf 'agent bytes' | sha256sum
		t.Fatalf("sha256 %s", a.SHA256)
	}
	var buf bytes.Buffer
	if _, err := a.WriteImage(&buf, "forensic/agent:t", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	files := untar(t, buf.Bytes())
	var manifest []struct{ Layers []string }
	json.Unmarshal(files["manifest.json"], &manifest)
	layer := untar(t, files[manifest[0].Layers[0]])
	if len(layer) != 1 || string(layer["forensic-agent"]) != "agent bytes" {
		t.Errorf("layer %v", layer)
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			m[h.Name], _ = io.ReadAll(tr)
		}
	}
}
