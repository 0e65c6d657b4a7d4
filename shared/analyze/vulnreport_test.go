package analyze

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
	"github.com/forensic-tools/forensic/shared/analyze/vulns"
)

// TestMatchVulnerabilities checks how matches enter the report: a finding
// each with its severity, stage and layer, counted in the summary and the
// timeline, sorted with the other findings; the VULNERABILITIES section of
// the text; the HTML section; the SBOM's vulnerabilities on the right
// component; and Worst for --fail-on.
func TestMatchVulnerabilities(t *testing.T) {
	dir := t.TempDir()
	zf := filepath.Join(dir, "all.zip")
	f, err := os.Create(zf)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"DEBIAN-CVE-2024-1.json": `{"id":"DEBIAN-CVE-2024-1","modified":"2024-06-01T00:00:00Z","aliases":["CVE-2024-1"],"summary":"heap overflow",
			"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
			"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`,
		"PYSEC-1.json": `{"id":"PYSEC-1","modified":"2024-05-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"requests"},"versions":["2.19.0"]}]}`,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Close()
	db, err := vulns.Open([]string{zf})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	zero, one := 0, 1
	r := &Report{Schema: Schema, Input: Input{Path: "app.tar"}, OS: &pkgdb.OS{ID: "debian", VersionID: "12"},
		Timeline: []Stage{{Index: 0, Kind: StageLayer, DiffID: "sha256:aaaaaaaaaaaaaaaaaaaa"}, {Index: 1, Kind: StageLayer, DiffID: "sha256:bbbbbbbbbbbbbbbbbbbb"}},
		Findings: []Finding{Finding{Rule: ruleSetuid, Severity: High, Path: "/bin/x", Stage: &zero}.ruled()},
		Packages: []Package{
			{Package: pkgdb.Package{Type: "deb", Name: "libssl3", Source: "openssl", Version: "3.0.11-1~deb12u2", Path: "/var/lib/dpkg/status"}, PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2", Stage: &zero, Layer: "sha256:aaaaaaaaaaaaaaaaaaaa"},
			{Package: pkgdb.Package{Type: "pypi", Name: "requests", Version: "2.19.0", Path: "/usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA"}, PURL: "pkg:pypi/requests@2.19.0", Stage: &one, Layer: "sha256:bbbbbbbbbbbbbbbbbbbb"},
		}}
	if err := r.MatchVulnerabilities(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, string(f.Severity)+" "+f.Rule+" "+f.Path+" "+f.Reason)
	}
	want := []string{
		"high setuid /bin/x ",
		"medium known-vulnerability /var/lib/dpkg/status DEBIAN-CVE-2024-1 (CVE-2024-1) in libssl3 3.0.11-1~deb12u2, CVSS 6.1, fixed in 3.0.13-1~deb12u1: heap overflow",
		"medium known-vulnerability /usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA PYSEC-1 in requests 2.19.0, severity not rated by the record, no fixed version known",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Summary.Findings[Medium] != 2 || r.Timeline[0].Findings != 2 || r.Timeline[1].Findings != 1 || r.Worst() != High {
		t.Errorf("summary %+v, timeline findings %d %d, worst %s", r.Summary.Findings, r.Timeline[0].Findings, r.Timeline[1].Findings, r.Worst())
	}
	v := r.Vulnerabilities
	if v == nil || len(v.Findings) != 2 || v.Findings[0].Layer != "sha256:aaaaaaaaaaaaaaaaaaaa" || *v.Findings[1].Stage != 1 || v.Database.Records != 2 || v.Database.Files[0].SHA256 == "" {
		t.Fatalf("vulnerabilities: %+v", v)
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"FINDINGS (1)", "VULNERABILITIES (2) from 2 OSV records", "newest modified 2024-06-01T00:00:00Z",
		"MEDIUM 6.1    DEBIAN-CVE-2024-1      libssl3 3.0.11-1~deb12u2 -> 3.0.13-1~deb12u1  [layer #0 sha256:aaaaaaaaaaaa]",
		"UNKNOWN       PYSEC-1                requests 2.19.0 -> (no fix known)  [layer #1 sha256:bbbbbbbbbbbb]"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("the text report lacks %q:\n%s", w, text.String())
		}
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<h2>Findings (1)</h2>", "<h2>Vulnerabilities (2)</h2>", "DEBIAN-CVE-2024-1<br>CVE-2024-1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N</span> 6.1"} {
		if !strings.Contains(html.String(), w) {
			t.Errorf("the HTML report lacks %q", w)
		}
	}
	var sb bytes.Buffer
	if err := r.WriteSBOM(&sb); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vulnerabilities []struct {
			ID      string `json:"id"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
			Ratings []struct {
				Severity string   `json:"severity"`
				Score    *float64 `json:"score"`
			} `json:"ratings"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(sb.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vulnerabilities) != 2 || !strings.HasPrefix(doc.Vulnerabilities[0].Affects[0].Ref, "pkg:deb/debian/libssl3@") ||
		*doc.Vulnerabilities[0].Ratings[0].Score != 6.1 || !strings.HasPrefix(doc.Vulnerabilities[1].Affects[0].Ref, "pkg:pypi/requests@2.19.0") ||
		doc.Vulnerabilities[1].Ratings[0].Severity != "unknown" {
		t.Errorf("SBOM vulnerabilities: %s", sb.String())
	}
}
