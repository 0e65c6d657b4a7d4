package sbom

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

func TestNew(t *testing.T) {
	subject := Subject{Name: "app:1", Version: "sha256:abc", OS: pkgdb.OS{ID: "debian", VersionID: "12"}}
	pkgs := []Package{
		{Package: pkgdb.Package{Type: "deb", Name: "libc6", Version: "2.36", Arch: "amd64", Source: "glibc", Path: "/var/lib/dpkg/status"}, Layer: "sha256:l1"},
		{Package: pkgdb.Package{Type: "npm", Name: "left-pad", Version: "1.3.0", License: "WTFPL", Path: "/app/node_modules/left-pad/package.json"}, Layer: "sha256:l2"},
		{Package: pkgdb.Package{Type: "npm", Name: "left-pad", Version: "1.3.0", Path: "/other/node_modules/left-pad/package.json"}, Layer: "sha256:l2"},
	}
	b := New(subject, Tool{Name: "forensic", Version: "v1"}, pkgs, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["bomFormat"] != "CycloneDX" || doc["specVersion"] != "1.5" {
		t.Errorf("header = %v %v", doc["bomFormat"], doc["specVersion"])
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(b.SerialNumber) {
		t.Errorf("serial number %q is not a UUID URN", b.SerialNumber)
	}
	if again := New(subject, Tool{}, nil, time.Now()); again.SerialNumber != b.SerialNumber {
		t.Errorf("serial number not stable: %s, %s", b.SerialNumber, again.SerialNumber)
	}
	var refs, purls []string
	for _, c := range b.Components {
		refs = append(refs, c.BOMRef)
		purls = append(purls, c.PURL)
	}
	wantRefs := []string{"os:debian", "pkg:deb/debian/libc6@2.36?arch=amd64&distro=debian-12", "pkg:npm/left-pad@1.3.0", "pkg:npm/left-pad@1.3.0#2"}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("bom-refs (-want +got):\n%s", diff)
	}
	if purls[0] != "" || purls[3] != "pkg:npm/left-pad@1.3.0" {
		t.Errorf("purls = %q", purls)
	}
}

// TestGoModules checks that a Go program is an application component
// and its modules libraries, with their go.sum hashes and replacements.
func TestGoModules(t *testing.T) {
	const bin = "/usr/local/bin/app"
	pkgs := []Package{
		{Package: pkgdb.Package{Type: "golang", Name: "example.com/app", Version: "v1.0.0", Path: bin, Go: &pkgdb.GoModule{Main: true}}},
		{Package: pkgdb.Package{Type: "golang", Name: "stdlib", Version: "go1.26.8", Path: bin}},
		{Package: pkgdb.Package{Type: "golang", Name: "example.com/fork/b", Version: "v1.0.1", Path: bin, Go: &pkgdb.GoModule{Sum: "h1:b=", Replaces: "example.com/b@v1.0.0"}}},
	}
	b := New(Subject{Name: "app:1", OS: pkgdb.OS{ID: "debian"}}, Tool{}, pkgs, time.Now())
	want := []Component{
		{BOMRef: "pkg:golang/example.com/app@v1.0.0", Type: "application", Name: "example.com/app", Version: "v1.0.0", PURL: "pkg:golang/example.com/app@v1.0.0",
			Properties: []Property{{Name: "forensic:path", Value: bin}}},
		{BOMRef: "pkg:golang/stdlib@1.26.8", Type: "library", Name: "stdlib", Version: "go1.26.8", PURL: "pkg:golang/stdlib@1.26.8",
			Properties: []Property{{Name: "forensic:path", Value: bin}}},
		{BOMRef: "pkg:golang/example.com/fork/b@v1.0.1", Type: "library", Name: "example.com/fork/b", Version: "v1.0.1", PURL: "pkg:golang/example.com/fork/b@v1.0.1",
			Properties: []Property{{Name: "forensic:path", Value: bin}, {Name: "forensic:go-sum", Value: "h1:b="}, {Name: "forensic:go-replaces", Value: "example.com/b@v1.0.0"}}},
	}
	if diff := cmp.Diff(want, b.Components[1:]); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}
