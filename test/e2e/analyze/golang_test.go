//go:build e2e

package analyze_e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

const goImage = "forensic-test/analyze-go:1"

// TestGoProgramModules builds a distroless-style image, one static Go
// program on an empty base, and checks that `docker forensic analyze`
// lists the modules `go version -m` prints of that program, with the
// standard library and package URLs, in the JSON report, the text report
// and the SBOM.
func TestGoProgramModules(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	// The one dependency comes from a module proxy folder the test writes:
	// the build needs no network and no module fetched before.
	env, err := imagetest.GoProxy(filepath.Join(dir, "goproxy"), imagetest.GoModule{
		Path: "example.com/e2e-dep", Version: "v1.3.0",
		Files: map[string]string{"dep.go": "package dep\n\n// Greeting is a greeting.\nconst Greeting = \"hello\"\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"go.mod":  "module example.com/e2e-hello\n\ngo 1.22\n\nrequire example.com/e2e-dep v1.3.0\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\tdep \"example.com/e2e-dep\"\n)\n\nfunc main() { fmt.Print(dep.Greeting) }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rootfs := filepath.Join(dir, "rootfs")
	bin := filepath.Join(rootfs, "app", "hello")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// What the real tool reads of the program.
	vm, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	first, rest, _ := strings.Cut(string(vm), "\n")
	_, goVersion, _ := strings.Cut(first, ": ")
	want := []string{"stdlib " + goVersion}
	wantPURLs := []string{"pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go")}
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[0] != "mod" && f[0] != "dep") {
			continue
		}
		want = append(want, f[1]+" "+f[2])
		purl := "pkg:golang/" + f[1]
		if f[2] != "(devel)" {
			purl += "@" + f[2]
		}
		wantPURLs = append(wantPURLs, purl)
	}
	sort.Strings(want)
	sort.Strings(wantPURLs)
	if len(want) != 3 {
		t.Fatalf("go version -m lists %q", want)
	}

	file := saveRootfs(t, rootfs, goImage, `["/app/hello"]`, dir)

	sbom := filepath.Join(dir, "go.cdx.json")
	r, res := analyzeJSON(t, file, "--sbom", sbom)
	if res.code != 0 || !r.Complete {
		t.Fatalf("exit %d, complete %v, problems %q", res.code, r.Complete, r.Problems)
	}
	var got, gotPURLs []string
	for _, p := range r.Packages {
		if p.Type != "golang" || p.Path != "/app/hello" {
			t.Errorf("package %+v", p)
			continue
		}
		got = append(got, p.Name+" "+p.Version)
		gotPURLs = append(gotPURLs, p.PURL)
	}
	sort.Strings(got)
	sort.Strings(gotPURLs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modules (-go version -m +analyze):\n%s", diff)
	}
	if diff := cmp.Diff(wantPURLs, gotPURLs); diff != "" {
		t.Errorf("purls (-want +got):\n%s", diff)
	}

	components, _ := readSBOM(t, sbom)
	var sbomPURLs []string
	for _, c := range components {
		sbomPURLs = append(sbomPURLs, c.PURL)
		if c.PURL == "pkg:golang/example.com/e2e-hello" && c.Type != "application" {
			t.Errorf("the program's component is a %s", c.Type)
		}
	}
	sort.Strings(sbomPURLs)
	if diff := cmp.Diff(wantPURLs, sbomPURLs); diff != "" {
		t.Errorf("SBOM purls (-want +got):\n%s", diff)
	}

	text := run(t, "docker", "forensic", "analyze", file)
	if line := "Go program /app/hello: example.com/e2e-hello (devel), " + goVersion + ", 1 module"; !strings.Contains(text.stdout, line) {
		t.Errorf("text report lacks %q", line)
	}
}
