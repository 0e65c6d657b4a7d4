package sbom

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

// TestVulnerabilitiesMatchSchema adds vulnerabilities of every form the
// analyze report writes (a computed CVSS v3.1 rating with aliases, a CVSS
// v4 vector without a score, a rating by word only) to a document,
// validates it against the CycloneDX 1.5 schema, and checks each affects
// the bom-ref of its package, the second of two equal packages included.
func TestVulnerabilitiesMatchSchema(t *testing.T) {
	s := cycloneDX15(t)
	pkgs := []Package{
		{Package: pkgdb.Package{Type: "deb", Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl", Path: "/var/lib/dpkg/status"}, Layer: "sha256:l1"},
		{Package: pkgdb.Package{Type: "npm", Name: "lodash", Version: "4.17.20", Path: "/a/node_modules/lodash/package.json"}},
		{Package: pkgdb.Package{Type: "npm", Name: "lodash", Version: "4.17.20", Path: "/b/node_modules/lodash/package.json"}},
	}
	b := New(Subject{Name: "app:1", OS: pkgdb.OS{ID: "debian", VersionID: "12"}}, Tool{Name: "docker-forensic"}, pkgs, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	score := 9.8
	if err := b.AddVulnerability(0, "3.0.11-1~deb12u2", Vulnerability{ID: "DEBIAN-CVE-2024-0001", Source: &Source{Name: "OSV", URL: "https://osv.dev/vulnerability/DEBIAN-CVE-2024-0001"},
		References:     []VulnRef{{ID: "CVE-2024-0001", Source: Source{Name: "NVD"}}},
		Ratings:        []Rating{{Score: &score, Severity: "critical", Method: "CVSSv31", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		Recommendation: "upgrade libssl3 to 3.0.13-1~deb12u1 or later", Published: "2024-01-01T00:00:00Z", Updated: "2024-02-01T00:00:00Z",
		Advisories: []Advisory{{URL: "https://security-tracker.debian.org/tracker/CVE-2024-0001"}},
		Properties: []Property{{Name: "forensic:osv-database", Value: "/osv/Debian/all.zip"}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddVulnerability(2, "4.17.20", Vulnerability{ID: "GHSA-v4", Ratings: []Rating{{Method: "CVSSv4", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddVulnerability(1, "4.17.20", Vulnerability{ID: "OSV-WORD", Ratings: []Rating{{Severity: "unknown", Method: "other"}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddVulnerability(3, "1", Vulnerability{ID: "OUT"}); err == nil {
		t.Error("a vulnerability of a package New was not given was added")
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := validate(s, buf.Bytes()); err != nil {
		t.Fatalf("the document with vulnerabilities is not valid CycloneDX 1.5:\n%v\n%s", err, buf.Bytes())
	}
	var doc struct {
		Components []struct {
			Ref  string `json:"bom-ref"`
			Path string `json:"-"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID      string `json:"id"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, c := range doc.Components {
		refs[c.Ref] = true
	}
	want := map[string]string{"DEBIAN-CVE-2024-0001": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12", "GHSA-v4": "pkg:npm/lodash@4.17.20#2", "OSV-WORD": "pkg:npm/lodash@4.17.20"}
	for _, v := range doc.Vulnerabilities {
		if len(v.Affects) != 1 || !refs[v.Affects[0].Ref] || v.Affects[0].Ref != want[v.ID] {
			t.Errorf("%s affects %+v, want %s", v.ID, v.Affects, want[v.ID])
		}
	}
	// The schema does check vulnerabilities: a rating method it does not
	// know is refused.
	bad := strings.Replace(buf.String(), `"method": "CVSSv31"`, `"method": "CVSS3"`, 1)
	if bad == buf.String() {
		t.Fatal("the method was not found in the document")
	}
	if err := validate(s, []byte(bad)); err == nil {
		t.Error("the schema accepted the rating method CVSS3")
	}
}
