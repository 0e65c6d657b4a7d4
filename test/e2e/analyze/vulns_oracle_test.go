//go:build e2e

package analyze_e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// buildOSVScanner returns osv-scanner v2.6.0, the oracle, built once per
// version into the shared tool cache (testutil.CachedGoTool). v2.6.0 needs
// Go 1.27, a newer toolchain than the module's: the go command fetches it
// from the module proxy (GOTOOLCHAIN).
func buildOSVScanner(t *testing.T) string {
	t.Helper()
	return testutil.CachedGoTool(t, "github.com/google/osv-scanner/v2/cmd/osv-scanner", "v2.6.0", "GOTOOLCHAIN=go1.27.1")
}

// osvScannerIDs runs osv-scanner offline (scan image --archive FILE, or
// scan source --lockfile FILE) against the database folder, laid out as
// its cache (DIR/osv-scalibr/ECOSYSTEM/all.zip), and returns every
// vulnerability ID it reports, sorted.
func osvScannerIDs(t *testing.T, exe, cache string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(exe, append(args, "--offline-vulnerabilities", "--local-db-path", cache, "--format", "json")...)
	cmd.Env = append(os.Environ(), "OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="+cache)
	out, err := cmd.Output()
	// 1 means vulnerabilities were found.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("osv-scanner %v: %v\n%s", args, err, ee.Stderr)
	}
	var doc struct {
		Results []struct {
			Packages []struct {
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("osv-scanner's JSON: %v\n%s", err, out)
	}
	var ids []string
	for _, r := range doc.Results {
		for _, p := range r.Packages {
			for _, v := range p.Vulnerabilities {
				ids = append(ids, v.ID)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestVulnerabilitiesAgreeWithOSVScanner runs osv-scanner, Google's own
// OSV matcher, in its offline mode on the same images and database files
// as TestVulnerabilities, and checks that both name the same
// vulnerability IDs (ours with the record IDs it merged as aliases):
// Debian, PyPI and Alpine from the images; npm from the image's
// package-lock.json, since osv-scanner's image scan lists no npm package
// of these images.
func TestVulnerabilitiesAgreeWithOSVScanner(t *testing.T) {
	exe := buildOSVScanner(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	db := osvDatabase(t, filepath.Join(cache, "osv-scalibr"))
	debian, alpine, _ := vulnImages(t, dir)
	lock := filepath.Join(dir, "lock", "package-lock.json")
	os.MkdirAll(filepath.Dir(lock), 0o755)
	if err := os.WriteFile(lock, []byte(packageLock), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		image     string
		ecosystem func(string) bool
		oracle    []string
	}{
		{debian, func(e string) bool { return e != "npm" }, []string{"scan", "image", "--archive", debian}},
		{debian, func(e string) bool { return e == "npm" }, []string{"scan", "source", "--lockfile", lock}},
		{alpine, func(string) bool { return true }, []string{"scan", "image", "--archive", alpine}},
	} {
		r, res := analyzeJSON(t, c.image, "--vulns", db)
		if res.code != 0 {
			t.Fatalf("analyze --vulns %s: exit %d", c.image, res.code)
		}
		var ours []string
		for _, f := range r.Vulnerabilities.Findings {
			if !c.ecosystem(f.Ecosystem) {
				continue
			}
			ours = append(ours, f.ID)
			for _, a := range f.Aliases {
				// Aliases that are records of the database, not CVE names.
				if !strings.HasPrefix(a, "CVE-") {
					ours = append(ours, a)
				}
			}
		}
		slices.Sort(ours)
		theirs := osvScannerIDs(t, exe, cache, c.oracle...)
		if d := cmp.Diff(theirs, ours); d != "" {
			t.Errorf("osv-scanner %v: vulnerability IDs (-osv-scanner +ours):\n%s", c.oracle, d)
		}
		if len(ours) == 0 {
			t.Errorf("osv-scanner %v: no vulnerability at all: the comparison proves nothing", c.oracle)
		}
	}
}
