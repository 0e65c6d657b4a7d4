package analyze

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

// buildGoProgram builds, offline, a static program that uses go-cmp (in
// the module cache, as this module needs it) and returns it with the mod
// and dep lines `go version -m` prints of it.
func buildGoProgram(t *testing.T) (bin []byte, goVersion string, mods []string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n\nrequire github.com/google/go-cmp v0.7.0\n",
		"go.sum":  string(sum),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/google/go-cmp/cmp\"\n)\n\nfunc main() { fmt.Println(cmp.Diff(1, 2)) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	if bin, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	vm, err := exec.Command("go", "version", "-m", out).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	first, rest, _ := strings.Cut(string(vm), "\n")
	_, goVersion, _ = strings.Cut(first, ": ")
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && (f[0] == "mod" || f[0] == "dep") {
			mods = append(mods, f[1]+" "+f[2])
		}
	}
	return bin, goVersion, mods
}

// TestGoProgram reads an image whose layers hold a real Go program twice
// (at another path in a later layer, where an earlier copy is replaced by
// a shell script) and finds its modules, the standard library and their
// package URLs, in the report, its text and the SBOM.
func TestGoProgram(t *testing.T) {
	bin, goVersion, mods := buildGoProgram(t)
	if len(mods) != 2 {
		t.Fatalf("go version -m lists %q", mods)
	}
	img := imagetest.Image{Tags: []string{"forensic-test/go:1"}, Layers: [][]byte{
		imagetest.Layer(imagetest.Exe("app/hello", string(bin)), imagetest.Exe("usr/local/bin/tool", string(bin))),
		imagetest.Layer(imagetest.Exe("usr/local/bin/tool", "#!/bin/sh\necho not Go any more\n")),
	}}
	r := analyzeBytes(t, "go.tar", img.Legacy(), testOpts)
	var got, gotPURLs []string
	for _, p := range r.Packages {
		if p.Type != "golang" || p.Path != "/app/hello" || p.Layer == "" {
			t.Errorf("package %+v", p)
			continue
		}
		if p.Name != "stdlib" {
			got = append(got, p.Name+" "+p.Version)
		}
		gotPURLs = append(gotPURLs, p.PURL)
	}
	if diff := cmp.Diff(mods, got); diff != "" {
		t.Errorf("modules (-go version -m +analyze):\n%s", diff)
	}
	wantPURLs := []string{"pkg:golang/example.com/hello", "pkg:golang/github.com/google/go-cmp@v0.7.0", "pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go")}
	if diff := cmp.Diff(wantPURLs, gotPURLs); diff != "" {
		t.Errorf("purls (-want +got):\n%s", diff)
	}
	if main := r.Packages[0]; main.Go == nil || !main.Go.Main || main.Version != "(devel)" {
		t.Errorf("main module %+v", main)
	}
	if dep := r.Packages[1]; dep.Go == nil || !strings.HasPrefix(dep.Go.Sum, "h1:") {
		t.Errorf("dependency %+v", dep)
	}
	if std := r.Packages[2]; std.Name != "stdlib" || std.Version != goVersion {
		t.Errorf("standard library %+v", std)
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := "  Go program /app/hello: example.com/hello (devel), " + goVersion + ", 1 module\n"; !strings.Contains(text.String(), want) {
		t.Errorf("text report lacks %q:\n%s", want, text.String())
	}
	var sbom bytes.Buffer
	if err := r.SBOM().Write(&sbom); err != nil {
		t.Fatal(err)
	}
	for _, purl := range wantPURLs {
		if !strings.Contains(sbom.String(), `"purl": "`+purl+`"`) {
			t.Errorf("SBOM lacks %s", purl)
		}
	}
}

// TestGoProgramsText checks the text report's line per Go program: the
// main package when it is not the module's root, a program without
// module information, and the cap on lines.
func TestGoProgramsText(t *testing.T) {
	golang := func(bin, name, version string, g *pkgdb.GoModule) Package {
		return Package{Package: pkgdb.Package{Type: "golang", Name: name, Version: version, Path: bin, Go: g}}
	}
	pkgs := []Package{
		golang("/app/server", "example.com/app", "v1.2.3", &pkgdb.GoModule{Main: true}),
		golang("/app/server", "stdlib", "go1.26.8", &pkgdb.GoModule{Program: "example.com/app/cmd/server"}),
		golang("/app/server", "example.com/lib", "v0.1.0", &pkgdb.GoModule{Sum: "h1:x="}),
		golang("/app/server", "example.com/other", "v0.2.0", &pkgdb.GoModule{Sum: "h1:y="}),
		{Package: pkgdb.Package{Type: "deb", Name: "libc6", Version: "2.36-9", Path: "/var/lib/dpkg/status"}},
	}
	for i := range textListed {
		pkgs = append(pkgs, golang(fmt.Sprintf("/bin/p%02d", i), "stdlib", "go1.25.0", nil))
	}
	var b strings.Builder
	writeGoPrograms(&b, pkgs)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"  Go program /app/server: example.com/app/cmd/server of example.com/app v1.2.3, go1.26.8, 2 modules",
		"  Go program /bin/p00: (no main module), go1.25.0, 0 modules",
	}
	if len(lines) != textListed+1 || lines[0] != want[0] || !slices.Contains(lines, want[1]) {
		t.Errorf("lines:\n%s", b.String())
	}
	if last := lines[len(lines)-1]; last != "  ... and 1 more Go program (-o json lists them)" {
		t.Errorf("last line %q", last)
	}
}
