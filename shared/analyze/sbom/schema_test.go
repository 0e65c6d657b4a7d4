package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

// schemaBase is where the CycloneDX schemas' $id and references point.
const schemaBase = "http://cyclonedx.org/schema/"

// offlineSchemas serves the schema files of testdata/schema for their URLs
// and refuses every other URL, so that nothing is fetched from the network.
type offlineSchemas map[string]string

func (o offlineSchemas) Load(url string) (any, error) {
	file, ok := o[url]
	if !ok {
		return nil, fmt.Errorf("%s is not in testdata/schema: this test loads no schema from the network", url)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// cycloneDX15 compiles the CycloneDX 1.5 JSON schema from testdata, with
// format assertions on (date-time, uri, ...).
func cycloneDX15(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("testdata", "schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(offlineSchemas{
		schemaBase + "bom-1.5.schema.json":           filepath.Join(dir, "bom-1.5.SNAPSHOT.schema.json"),
		schemaBase + "spdx.SNAPSHOT.schema.json":     filepath.Join(dir, "spdx.SNAPSHOT.schema.json"),
		schemaBase + "jsf-0.82.SNAPSHOT.schema.json": filepath.Join(dir, "jsf-0.82.SNAPSHOT.schema.json"),
	})
	s, err := c.Compile(schemaBase + "bom-1.5.schema.json")
	if err != nil {
		t.Fatalf("compiling the CycloneDX 1.5 schema: %v", err)
	}
	return s
}

func validate(s *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// richBOM is a document with every kind of component the package writes:
// the subject container, the tool, the operating system, libraries of each
// ecosystem, a Go program (application) with its modules, a license, a
// duplicate package (second bom-ref) and every property.
func richBOM(t *testing.T) []byte {
	t.Helper()
	subject := Subject{Name: "registry.example/app:1.2", Version: "sha256:0123456789abcdef", OS: pkgdb.OS{ID: "debian", VersionID: "12"}}
	const bin = "/usr/local/bin/app"
	pkgs := []Package{
		{Package: pkgdb.Package{Type: "deb", Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", Source: "glibc", License: "LGPL-2.1", Path: "/var/lib/dpkg/status"}, Layer: "sha256:l1"},
		{Package: pkgdb.Package{Type: "rpm", Name: "bash", Version: "1:5.2.26-3.fc40", Arch: "x86_64", Source: "bash-5.2.26-3.fc40.src.rpm", License: "GPL-3.0-or-later", Path: "/var/lib/rpm/rpmdb.sqlite"}, Layer: "sha256:l1"},
		{Package: pkgdb.Package{Type: "apk", Name: "musl", Version: "1.2.4-r2", Arch: "x86_64", Source: "musl", License: "MIT", Path: "/lib/apk/db/installed"}, Layer: "sha256:l1"},
		{Package: pkgdb.Package{Type: "pypi", Name: "Flask_Login", Version: "0.6.3", License: "MIT", Path: "/usr/lib/python3/dist-packages/Flask_Login-0.6.3.dist-info/METADATA"}, Layer: "sha256:l2"},
		{Package: pkgdb.Package{Type: "npm", Name: "@scope/left-pad", Version: "1.3.0", License: "WTFPL", Path: "/app/node_modules/@scope/left-pad/package.json"}, Layer: "sha256:l2"},
		{Package: pkgdb.Package{Type: "npm", Name: "@scope/left-pad", Version: "1.3.0", Path: "/other/node_modules/@scope/left-pad/package.json"}, Layer: "sha256:l3"},
		{Package: pkgdb.Package{Type: "gem", Name: "rack", Version: "3.0.8", Path: "/usr/lib/ruby/gems/3.1.0/specifications/rack-3.0.8.gemspec"}},
		{Package: pkgdb.Package{Type: "golang", Name: "example.com/app", Version: "(devel)", Path: bin, Go: &pkgdb.GoModule{Main: true}}, Layer: "sha256:l4"},
		{Package: pkgdb.Package{Type: "golang", Name: "stdlib", Version: "go1.26.8", Path: bin}, Layer: "sha256:l4"},
		{Package: pkgdb.Package{Type: "golang", Name: "example.com/fork/b", Version: "v1.0.1", Path: bin, Go: &pkgdb.GoModule{Sum: "h1:b=", Replaces: "example.com/b@v1.0.0"}}, Layer: "sha256:l4"},
	}
	b := New(subject, Tool{Name: "docker-forensic", Version: "v1.0.0"}, pkgs, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	types := map[string]bool{b.Metadata.Component.Type: true}
	for _, c := range append(b.Components, b.Metadata.Tools.Components...) {
		types[c.Type] = true
	}
	for _, want := range []string{"container", "application", "operating-system", "library"} {
		if !types[want] {
			t.Fatalf("the rich document lacks a %s component: the test no longer covers every type", want)
		}
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMatchesCycloneDX15Schema validates what the package writes against
// the CycloneDX 1.5 JSON schema, and checks that the validator does reject
// documents that break it.
func TestMatchesCycloneDX15Schema(t *testing.T) {
	s := cycloneDX15(t)
	doc := richBOM(t)
	if err := validate(s, doc); err != nil {
		t.Errorf("the document is not valid CycloneDX 1.5:\n%v\n%s", err, doc)
	}
	// A document with no packages and no operating system.
	var empty bytes.Buffer
	if err := New(Subject{Name: "scratch.tar"}, Tool{Name: "kubectl-forensic"}, nil, time.Now()).Write(&empty); err != nil {
		t.Fatal(err)
	}
	if err := validate(s, empty.Bytes()); err != nil {
		t.Errorf("the empty document is not valid CycloneDX 1.5:\n%v\n%s", err, empty.Bytes())
	}
	// The validator is not a yes-machine: each change below breaks the
	// schema and must be rejected.
	for _, tc := range []struct{ name, old, new string }{
		{"unknown component type", `"type": "operating-system"`, `"type": "distribution"`},
		{"timestamp not date-time", `"timestamp": "2026-11-29T12:00:00Z"`, `"timestamp": "29 Nov 2026"`},
		{"serial number not a UUID URN", `"serialNumber": "urn:uuid:`, `"serialNumber": "uuid:`},
		{"component field the schema lacks", `"purl": "pkg:apk/`, `"package-url": "pkg:apk/`},
		{"license without id or name", `"name": "MIT"`, `"title": "MIT"`},
		{"spec version", `"specVersion": "1.5"`, `"specVersion": 1.5`},
	} {
		if !strings.Contains(string(doc), tc.old) {
			t.Fatalf("%s: the document lacks %s", tc.name, tc.old)
		}
		bad := strings.Replace(string(doc), tc.old, tc.new, 1)
		if err := validate(s, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepted %s", tc.name, tc.new)
		}
	}
}

// TestRichBOMReadsBack checks that the rich document is plain JSON whose
// components keep their order and bom-refs are unique, as the schema
// cannot say.
func TestRichBOMReadsBack(t *testing.T) {
	var doc struct {
		Components []struct {
			BOMRef string `json:"bom-ref"`
		} `json:"components"`
	}
	if err := json.Unmarshal(richBOM(t), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range doc.Components {
		if seen[c.BOMRef] {
			t.Errorf("bom-ref %s twice", c.BOMRef)
		}
		seen[c.BOMRef] = true
	}
	if len(doc.Components) != 11 {
		t.Errorf("%d components, want the operating system and 10 packages", len(doc.Components))
	}
}
