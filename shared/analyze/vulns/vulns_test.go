package vulns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCVSS3Score takes scores NVD and the CVSS v3.1 specification's
// examples give for these vectors.
func TestCVSS3Score(t *testing.T) {
	for _, c := range []struct {
		vector string
		want   float64
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9},
		{"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 6.5},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0},
		// Temporal metrics after the base ones do not change the base score.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O", 9.8},
	} {
		got, _, err := CVSS3Score(c.vector)
		if err != nil || got != c.want {
			t.Errorf("CVSS3Score(%s) = %v, %v; want %v", c.vector, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "AV:N/AC:L", "CVSS:2.0/AV:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H"} {
		if _, _, err := CVSS3Score(bad); err == nil {
			t.Errorf("CVSS3Score(%q) accepted", bad)
		}
	}
	// Appendix A: Roundup(4.000002) is 4.0, not 4.1; Roundup(4.02) is 4.1.
	if roundup31(4.000002) != 4.0 || roundup31(4.02) != 4.1 {
		t.Errorf("roundup31: %v %v", roundup31(4.000002), roundup31(4.02))
	}
}

func TestParseRecord(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{`, "not an OSV record: unexpected end"},
		{`[]`, "not an OSV record: json: cannot unmarshal array"},
		{`{"modified":"2024-01-01T00:00:00Z"}`, "no id"},
		{`{"id":"X","modified":"yesterday"}`, "cannot parse"},
		{`{"id":"X","affected":[{"package":{"ecosystem":"PyPI"}}]}`, "names no package"},
		{`{"id":"X","affected":[{"package":{"purl":"pkg:npm/x"},"ranges":[{"type":"DATE","events":[]}]}]}`, `unknown type "DATE"`},
		{`{"id":"X","affected":[{"package":{"purl":"pkg:npm/x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}`, "exactly one of"},
		{`{"id":"X","affected":[{"package":{"purl":"pkg:npm/x"},"ranges":[{"type":"SEMVER","events":[{}]}]}]}`, "exactly one of"},
	} {
		_, err := ParseRecord([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRecord(%s): %v, want an error with %q", c.in, err, c.want)
		}
	}
	r, err := ParseRecord([]byte(`{"id":"GHSA-1","modified":"2024-05-01T10:00:00Z","aliases":["CVE-2024-1"],"unknown_field":1}`))
	if err != nil || r.ID != "GHSA-1" || r.Aliases[0] != "CVE-2024-1" {
		t.Fatalf("ParseRecord: %+v, %v", r, err)
	}
}

// testPackages are the installed packages the match tests use.
var testPackages = []Package{
	{Type: "deb", Name: "libssl3", Source: "openssl", Version: "3.0.11-1~deb12u2", PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12"},
	{Type: "deb", Name: "bash", Version: "5.2.15-2+b2", PURL: "pkg:deb/debian/bash@5.2.15-2+b2"},
	{Type: "apk", Name: "libcrypto3", Source: "openssl", Version: "3.1.4-r5"},
	{Type: "pypi", Name: "PyYAML", Version: "5.3.1", PURL: "pkg:pypi/pyyaml@5.3.1"},
	{Type: "npm", Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20"},
	{Type: "golang", Name: "stdlib", Version: "go1.21.3", PURL: "pkg:golang/stdlib@1.21.3"},
	{Type: "gem", Name: "rack", Version: "2.2.3", PURL: "pkg:gem/rack@2.2.3"},
	{Type: "pypi", Name: "weird", Version: "not a version", PURL: "pkg:pypi/weird@not%20a%20version"},
}

func matchIDs(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.ID+" "+f.Name+" "+f.Version+" fixed="+f.Fixed+" "+f.Severity)
	}
	return out
}

// TestMatch covers the schema's rules, each with a record that matches
// and one that must not.
func TestMatch(t *testing.T) {
	dir := t.TempDir()
	v3 := map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
	withdrawn := rec("DEBIAN-CVE-2024-0003", "2024-03-01T00:00:00Z", aff("Debian:12", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.0.99-1"))))
	withdrawn["withdrawn"] = "2024-03-02T00:00:00Z"
	sevRec := rec("DEBIAN-CVE-2024-0001", "2024-01-01T00:00:00Z", aff("Debian:12", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.0.13-1~deb12u1"))))
	sevRec["severity"] = []any{v3}
	sevRec["aliases"] = []any{"CVE-2024-0001"}
	ghsa := rec("GHSA-8q59-q68h-6hv4", "2024-06-01T00:00:00Z", aff("PyPI", "pyyaml", rng("ECOSYSTEM", intro("0"), fixed("5.4"))))
	ghsa["aliases"] = []any{"CVE-2020-14343"}
	ghsa["database_specific"] = map[string]any{"severity": "CRITICAL"}
	pysec := rec("PYSEC-2021-142", "2024-02-01T00:00:00Z", aff("PyPI", "PyYAML", rng("ECOSYSTEM", intro("5.1"), fixed("5.4"))))
	pysec["aliases"] = []any{"CVE-2020-14343", "GHSA-8q59-q68h-6hv4"}
	listRec := rec("RUBY-1", "2024-01-05T00:00:00Z", map[string]any{"package": map[string]any{"ecosystem": "RubyGems", "name": "rack"}, "versions": []any{"2.2.2", "2.2.3"}})
	purlRec := rec("GHSA-purl", "2024-01-06T00:00:00Z", map[string]any{"package": map[string]any{"purl": "pkg:npm/lodash"}, "ranges": []any{rng("SEMVER", intro("4.0.0"), map[string]any{"last_affected": "4.17.20"})}})
	gitRec := rec("OSV-GIT-1", "2024-01-07T00:00:00Z", map[string]any{"package": map[string]any{"ecosystem": "npm", "name": "lodash"},
		"ranges": []any{map[string]any{"type": "GIT", "repo": "https://github.com/lodash/lodash", "events": []any{intro("0"), fixed("c0ffee")}}}})
	badVer := rec("PYSEC-BAD", "2024-01-08T00:00:00Z", aff("PyPI", "pyyaml", rng("ECOSYSTEM", intro("0"), fixed("five point four"))))
	db1 := writeZip(t, dir, "Debian/all.zip",
		entry{name: "DEBIAN-CVE-2024-0001.json", rec: sevRec},
		entry{name: "DEBIAN-CVE-2024-0002.json", rec: rec("DEBIAN-CVE-2024-0002", "2024-02-01T00:00:00Z", aff("Debian:12", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.0.9-1"))))},
		entry{name: "DEBIAN-CVE-2024-0003.json", rec: withdrawn},
		entry{name: "DEBIAN-CVE-2024-0004.json", rec: rec("DEBIAN-CVE-2024-0004", "2024-12-24T08:00:00Z", aff("Debian:11", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.0.99-1"))))},
		entry{name: "DEBIAN-CVE-2024-0005.json", rec: rec("DEBIAN-CVE-2024-0005", "2024-01-01T00:00:00Z", aff("Debian:12", "bash", rng("ECOSYSTEM", intro("0"))))},
	)
	db2 := writeZip(t, dir, "other/all.zip",
		entry{name: "ALPINE-CVE-2024-0001.json", rec: rec("ALPINE-CVE-2024-0001", "2024-01-01T00:00:00Z", aff("Alpine:v3.19", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.1.4-r6"))))},
		entry{name: "ALPINE-CVE-2024-0002.json", rec: rec("ALPINE-CVE-2024-0002", "2024-01-01T00:00:00Z", aff("Alpine:v3.18", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.1.4-r6"))))},
		entry{name: "GHSA-8q59-q68h-6hv4.json", rec: ghsa},
		entry{name: "PYSEC-2021-142.json", rec: pysec},
		entry{name: "RUBY-1.json", rec: listRec},
		entry{name: "GHSA-purl.json", rec: purlRec},
		entry{name: "OSV-GIT-1.json", rec: gitRec},
		entry{name: "PYSEC-BAD.json", rec: badVer},
		entry{name: "GO-2023-2185.json", rec: rec("GO-2023-2185", "2024-01-01T00:00:00Z", aff("Go", "stdlib", rng("SEMVER", intro("0"), fixed("1.20.11"), intro("1.21.0-0"), fixed("1.21.4"))))},
		entry{name: "GO-OLD.json", rec: rec("GO-OLD", "2024-01-01T00:00:00Z", aff("Go", "stdlib", rng("SEMVER", intro("0"), fixed("1.20.11"))))},
		entry{name: "not-json.json", raw: []byte("<html>rate limited</html>")},
		entry{name: "README.txt", raw: []byte("not a record")},
	)
	db, err := Open([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := Match(context.Background(), db, testPackages, Release{ID: "debian", VersionID: "12"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Critical with a score of 9.8 before critical without a score.
		"DEBIAN-CVE-2024-0001 libssl3 3.0.11-1~deb12u2 fixed=3.0.13-1~deb12u1 critical",
		"GHSA-8q59-q68h-6hv4 PyYAML 5.3.1 fixed=5.4 critical",
		"DEBIAN-CVE-2024-0005 bash 5.2.15-2+b2 fixed= unknown",
		"GHSA-purl lodash 4.17.20 fixed= unknown",
		"RUBY-1 rack 2.2.3 fixed= unknown",
		"GO-2023-2185 stdlib go1.21.3 fixed=1.21.4 unknown",
	}
	if d := cmp.Diff(want, matchIDs(res)); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if got := res.Findings[1].Aliases; !slices.Equal(got, []string{"CVE-2020-14343", "PYSEC-2021-142"}) {
		t.Errorf("GHSA and PYSEC records of one CVE are one finding with both names, got aliases %v", got)
	}
	if c := res.Findings[0].CVSS; len(c) != 1 || *c[0].Score != 9.8 || !c[0].Computed {
		t.Errorf("CVSS of the Debian finding: %+v", c)
	}
	if len(res.Unjudged) != 1 || res.Unjudged[0].ID != "OSV-GIT-1" || !strings.Contains(res.Unjudged[0].Reason, "GIT") {
		t.Errorf("the GIT-only record is not judged: %+v", res.Unjudged)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, w := range []string{"not-json.json skipped: not an OSV record", `PYSEC-BAD: range of pyyaml skipped: "five point four" is not a PEP 440 version`, `weird not a version: "not a version" is not a PEP 440 version`} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	if res.Records != 15 {
		t.Errorf("records = %d, want 15", res.Records)
	}
	for _, f := range res.Files {
		data, _ := os.ReadFile(f.Path)
		sum := sha256.Sum256(data)
		if f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %s", f.Path, f.SHA256)
		}
	}
	if f := res.Files[0]; f.Path != db1 || f.Newest == nil || f.Newest.Format("2006-01-02T15") != "2024-12-24T08" || f.Withdrawn != 1 {
		t.Errorf("identity of %s: %+v", db1, f)
	}
	if f := res.Files[1]; f.Path != db2 || f.Skipped != 1 || f.Records != 10 {
		t.Errorf("identity of %s: %+v", db2, f)
	}

	// Alpine: the release comes from os-release's VERSION_ID 3.19.1.
	res, err = Match(context.Background(), db, testPackages[2:3], Release{ID: "alpine", VersionID: "3.19.1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"ALPINE-CVE-2024-0001 libcrypto3 3.1.4-r5 fixed=3.1.4-r6 unknown"}, matchIDs(res)); d != "" {
		t.Errorf("alpine findings (-want +got):\n%s", d)
	}
	// No os-release: release-specific records are not matched, and a note says so.
	res, err = Match(context.Background(), db, testPackages[:1], Release{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "os-release names no release of their distribution") {
		t.Errorf("without a release: %v %v", matchIDs(res), res.Notes)
	}
	// An apk database in a Debian image: its packages stay Alpine's, and
	// the Debian release says nothing of Alpine's.
	res, err = Match(context.Background(), db, testPackages[2:3], Release{ID: "debian", VersionID: "12"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "2 records name a distribution release") {
		t.Errorf("apk in a Debian image: %v %v", matchIDs(res), res.Notes)
	}
}

// TestInRange takes the OSV schema's evaluation examples: several
// introduced/fixed pairs, last_affected, limit.
func TestInRange(t *testing.T) {
	semver := func(a, b string) (int, error) { return vcmp("npm")(a, b) }
	for _, c := range []struct {
		v      string
		events []Event
		in     bool
		fixed  string
	}{
		{"1.0.0", []Event{{Introduced: "0"}, {Fixed: "1.0.1"}}, true, "1.0.1"},
		{"1.0.1", []Event{{Introduced: "0"}, {Fixed: "1.0.1"}}, false, ""},
		{"2.5.0", []Event{{Introduced: "1.0.0"}, {Fixed: "1.2.0"}, {Introduced: "2.0.0"}, {Fixed: "2.6.0"}}, true, "2.6.0"},
		{"1.5.0", []Event{{Fixed: "2.6.0"}, {Introduced: "2.0.0"}, {Fixed: "1.2.0"}, {Introduced: "1.0.0"}}, false, ""},
		{"0.9.0", []Event{{Introduced: "1.0.0"}, {Fixed: "1.2.0"}}, false, ""},
		{"1.3.0", []Event{{Introduced: "1.0.0"}, {LastAffected: "1.3.0"}}, true, ""},
		{"1.3.1", []Event{{Introduced: "1.0.0"}, {LastAffected: "1.3.0"}}, false, ""},
		{"1.9.0", []Event{{Introduced: "0"}, {Limit: "1.5.0"}}, false, ""},
		{"1.0.0-rc.1", []Event{{Introduced: "0"}, {Fixed: "1.0.0"}}, true, "1.0.0"},
	} {
		in, fix, err := inRange(semver, c.events, c.v)
		if err != nil || in != c.in || fix != c.fixed {
			t.Errorf("%s in %+v: %v %q %v, want %v %q", c.v, c.events, in, fix, err, c.in, c.fixed)
		}
	}
}

// TestBadDatabase: a file that is not a zip, a truncated zip, an empty
// folder are one clear error; a damaged record inside a readable zip and
// a record over MaxRecord are notes, the other records still matched.
func TestBadDatabase(t *testing.T) {
	dir := t.TempDir()
	good := writeZip(t, dir, "good/all.zip",
		entry{name: "A.json", rec: rec("DEBIAN-CVE-2024-0001", "2024-01-01T00:00:00Z", aff("Debian:12", "openssl", rng("ECOSYSTEM", intro("0"), fixed("3.0.13-1~deb12u1"))))},
		entry{name: "B.json", rec: rec("DEBIAN-CVE-2024-0002", "2024-01-01T00:00:00Z", aff("Debian:12", "bash", rng("ECOSYSTEM", intro("0"), fixed("5.2.99-1"))))},
	)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.zip")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	garbage := filepath.Join(dir, "garbage.zip")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a zip "), 100), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, c := range []struct{ path, want string }{
		{truncated, "reading the OSV database " + truncated + ": zip: not a valid zip file: it is not a complete zip file, download it again"},
		{garbage, "reading the OSV database " + garbage + ": zip: not a valid zip file: it is not a complete zip file, download it again"},
		{empty, "the OSV database folder " + empty + " holds no .zip file"},
		{filepath.Join(dir, "missing.zip"), "opening the OSV database " + filepath.Join(dir, "missing.zip") + ": stat"},
	} {
		_, err := Open([]string{good, c.path})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Open(%s): %v, want %q", c.path, err, c.want)
		}
	}

	// A damaged record: the compressed bytes of A.json altered in place.
	damaged := filepath.Join(dir, "damaged.zip")
	i := bytes.Index(data, []byte("A.json")) + len("A.json") + 10
	bad := slices.Clone(data)
	for k := i; k < i+8; k++ {
		bad[k] ^= 0xff
	}
	os.WriteFile(damaged, bad, 0o644)
	// A huge record: valid JSON, padded past MaxRecord.
	huge := rec("HUGE-1", "2024-01-01T00:00:00Z", aff("Debian:12", "bash", rng("ECOSYSTEM", intro("0"))))
	huge["details"] = strings.Repeat("x", MaxRecord)
	hugeZip := writeZip(t, dir, "huge/all.zip", entry{name: "HUGE-1.json", rec: huge},
		entry{name: "C.json", rec: rec("DEBIAN-CVE-2024-0003", "2024-01-01T00:00:00Z", aff("Debian:12", "bash", rng("ECOSYSTEM", intro("0"), fixed("5.2.99-1"))))})
	db, err := Open([]string{damaged, hugeZip})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := Match(context.Background(), db, testPackages[:2], Release{ID: "debian", VersionID: "12"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{
		"DEBIAN-CVE-2024-0002 bash 5.2.15-2+b2 fixed=5.2.99-1 unknown",
		"DEBIAN-CVE-2024-0003 bash 5.2.15-2+b2 fixed=5.2.99-1 unknown",
	}, matchIDs(res)); d != "" {
		t.Errorf("the records around the bad ones (-want +got):\n%s", d)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, w := range []string{damaged + ": A.json skipped: ", hugeZip + ": HUGE-1.json skipped: the record is 16777"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
}
