//go:build e2e

package analyze_e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// cdxSchemas serves the CycloneDX 1.5 schema files that the sbom package's
// tests keep in testdata, and refuses every other URL: nothing is fetched.
type cdxSchemas map[string]string

func (c cdxSchemas) Load(url string) (any, error) {
	file, ok := c[url]
	if !ok {
		return nil, fmt.Errorf("%s is not in shared/analyze/sbom/testdata/schema: no schema is loaded from the network", url)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// TestSBOMMatchesSchema validates the SBOM each plugin writes for the
// suite's image against the CycloneDX 1.5 JSON schema.
func TestSBOMMatchesSchema(t *testing.T) {
	const base = "http://cyclonedx.org/schema/"
	dir := filepath.Join(repoRoot, "shared/analyze/sbom/testdata/schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(cdxSchemas{
		base + "bom-1.5.schema.json":           filepath.Join(dir, "bom-1.5.SNAPSHOT.schema.json"),
		base + "spdx.SNAPSHOT.schema.json":     filepath.Join(dir, "spdx.SNAPSHOT.schema.json"),
		base + "jsf-0.82.SNAPSHOT.schema.json": filepath.Join(dir, "jsf-0.82.SNAPSHOT.schema.json"),
	})
	schema, err := c.Compile(base + "bom-1.5.schema.json")
	if err != nil {
		t.Fatalf("compiling the CycloneDX 1.5 schema: %v", err)
	}
	for _, argv := range [][]string{{"docker", "forensic", "analyze"}, {kubectl, "analyze"}} {
		sbom := filepath.Join(t.TempDir(), "app.cdx.json")
		res := run(t, argv[0], append(argv[1:], "-o", "json", "--sbom", sbom, saved)...)
		if res.code != 0 {
			t.Fatalf("%s analyze --sbom: exit %d", argv[0], res.code)
		}
		f, err := os.Open(sbom)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: the SBOM is not JSON: %v", argv[0], err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: the SBOM is not valid CycloneDX 1.5:\n%v", argv[0], err)
		}
		m, _ := doc.(map[string]any)
		if components, _ := m["components"].([]any); len(components) < 2 {
			t.Errorf("%s: the SBOM lists fewer than two components: the image has Debian packages", argv[0])
		}
	}
}
