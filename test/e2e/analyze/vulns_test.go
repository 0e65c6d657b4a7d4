//go:build e2e

package analyze_e2e

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	vulnsBase   = "forensic-test/analyze-vulns-base:1"
	vulnsImage  = "forensic-test/analyze-vulns:1"
	vulnsAlpine = "forensic-test/analyze-vulns-alpine:1"
)

// osvRecord is an OSV record in the schema's own field names
// (https://ossf.github.io/osv-schema/), written by the test.
type osvRecord map[string]any

func osv(id, modified string, affected ...map[string]any) osvRecord {
	return osvRecord{"schema_version": "1.6.0", "id": id, "modified": modified, "published": "2023-01-01T00:00:00Z", "affected": affected}
}

func (r osvRecord) with(k string, v any) osvRecord { r[k] = v; return r }

func affected(eco, name, rangeType string, events ...map[string]any) map[string]any {
	return map[string]any{"package": map[string]any{"ecosystem": eco, "name": name},
		"ranges": []any{map[string]any{"type": rangeType, "events": events}}}
}

func ev(kind, v string) map[string]any { return map[string]any{kind: v} }

func cvss(vector string) []any {
	typ := "CVSS_V3"
	if strings.HasPrefix(vector, "CVSS:4") {
		typ = "CVSS_V4"
	}
	return []any{map[string]any{"type": typ, "score": vector}}
}

// writeOSVZip writes records (and raw entries, for bad ones) as an OSV
// export like osv.dev's ECOSYSTEM/all.zip.
func writeOSVZip(t *testing.T, path string, records []osvRecord, raw map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	put := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range records {
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		put(r["id"].(string)+".json", data)
	}
	for name, data := range raw {
		put(name, []byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// vulnsRootfs writes a root with busybox, an os-release and the files.
func vulnsRootfs(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	files["bin/busybox"] = string(data)
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("busybox", filepath.Join(dir, "bin/sh"))
	return dir
}

const dpkgStatus = `Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
`

const packageLock = `{"name": "app", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "app", "dependencies": {"lodash": "4.17.20"}},
  "node_modules/lodash": {"version": "4.17.20", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz", "license": "MIT"}}}`

const apkInstalled = `P:libcrypto3
V:3.1.4-r4
A:x86_64
o:openssl
L:Apache-2.0

P:musl
V:1.2.4_git20230717-r4
A:x86_64
o:musl
L:MIT
`

// osvDatabase writes the test's OSV database into the folder db, as
// db/ECOSYSTEM/all.zip: records written for the test images' packages,
// with known answers.
func osvDatabase(t *testing.T, db string) string {
	t.Helper()
	withdrawn := osv("DEBIAN-CVE-2022-0001", "2024-03-01T00:00:00Z",
		affected("Debian:12", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.0.99-1"))).with("withdrawn", "2024-03-02T00:00:00Z")
	writeOSVZip(t, filepath.Join(db, "Debian", "all.zip"), []osvRecord{
		// Fixed above the installed version: affected, with the fix.
		osv("DEBIAN-CVE-2023-5678", "2024-02-01T10:00:00Z", affected("Debian:12", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.0.13-1~deb12u1"))).
			with("aliases", []any{"CVE-2023-5678"}).with("summary", "openssl: DH keys excessively long").
			with("severity", cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L")),
		// Fixed below the installed version (the ~deb12u2 sorts after ~deb12u1... and 3.0.10 < 3.0.11).
		osv("DEBIAN-CVE-2023-3817", "2024-01-01T00:00:00Z", affected("Debian:12", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.0.10-1~deb12u1"))),
		withdrawn,
		// Another release: not this image's.
		osv("DEBIAN-CVE-2023-0002", "2025-05-05T05:05:05Z", affected("Debian:11", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.0.99-1"))),
		// No fix yet: affected, no fixed version.
		osv("DEBIAN-CVE-2023-45853", "2024-01-02T00:00:00Z", affected("Debian:12", "zlib", "ECOSYSTEM", ev("introduced", "0"))),
		// Fixed without an epoch: the installed 1:1.2.13 is newer.
		osv("DEBIAN-CVE-2018-25032", "2024-01-03T00:00:00Z", affected("Debian:12", "zlib", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "1.3.dfsg-1"))),
	}, nil)
	writeOSVZip(t, filepath.Join(db, "Alpine", "all.zip"), []osvRecord{
		osv("ALPINE-CVE-2024-0727", "2024-02-02T00:00:00Z", affected("Alpine:v3.19", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.1.4-r5"))),
		osv("ALPINE-CVE-2023-6129", "2024-02-03T00:00:00Z", affected("Alpine:v3.18", "openssl", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "3.1.4-r5"))),
	}, nil)
	writeOSVZip(t, filepath.Join(db, "PyPI", "all.zip"), []osvRecord{
		osv("GHSA-8q59-q68h-6hv4", "2024-04-01T00:00:00Z", affected("PyPI", "pyyaml", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "5.4"))).
			with("aliases", []any{"CVE-2020-14343"}).with("summary", "Improper Input Validation in PyYAML").
			with("severity", cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).with("database_specific", map[string]any{"severity": "CRITICAL"}),
		// The same vulnerability under PYSEC's ID: one finding.
		// (Named as osv.dev names PyPI packages, normalised: osv-scanner's
		// offline matcher, the oracle, compares names as they are.)
		osv("PYSEC-2021-142", "2024-04-02T00:00:00Z", affected("PyPI", "pyyaml", "ECOSYSTEM", ev("introduced", "5.1"), ev("fixed", "5.4"))).
			with("aliases", []any{"CVE-2020-14343", "GHSA-8q59-q68h-6hv4"}),
		// Fixed by a pre-release below the installed version.
		osv("PYSEC-2018-49", "2024-04-03T00:00:00Z", affected("PyPI", "PyYAML", "ECOSYSTEM", ev("introduced", "0"), ev("fixed", "4.2b1"))),
	}, map[string]string{"PYSEC-BROKEN.json": `{"id": "PYSEC-BROKEN", "affected": [`})
	gitOnly := osvRecord{"schema_version": "1.6.0", "id": "OSV-2021-GIT", "modified": "2024-05-01T00:00:00Z",
		"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "npm", "name": "lodash"},
			"ranges": []any{map[string]any{"type": "GIT", "repo": "https://github.com/lodash/lodash", "events": []any{ev("introduced", "0"), ev("fixed", "c4847ebe7d14540bb28a8b932a9ce1b9ecbfee1a")}}}}}}
	writeOSVZip(t, filepath.Join(db, "npm", "all.zip"), []osvRecord{
		osv("GHSA-35jh-r3h4-6jhm", "2024-05-02T00:00:00Z", affected("npm", "lodash", "SEMVER", ev("introduced", "0"), ev("fixed", "4.17.21"))).
			with("aliases", []any{"CVE-2021-23337"}).with("summary", "Command Injection in lodash").
			with("severity", cvss("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H")),
		osv("GHSA-v4v4-v4v4-v4v4", "2024-05-03T00:00:00Z", affected("npm", "lodash", "SEMVER", ev("introduced", "4.17.0"), ev("last_affected", "4.17.20"))).
			with("severity", cvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N")).with("database_specific", map[string]any{"severity": "MODERATE"}),
		gitOnly,
	}, nil)
	return db
}

// TestVulnerabilities builds a Debian 12 image with docker import (a dpkg
// status, an apk database, a package-lock.json and node_modules) and a
// second layer with docker commit (a Python dist-info), and an Alpine 3.19
// image, writes an OSV database of records for their packages, and checks
// the findings of `analyze --vulns` exactly: in the JSON report (read
// with jq), the text, the HTML and the SBOM (validated against the
// CycloneDX 1.5 schema), with the layer of each package, the database
// identity against sha256sum, --fail-on, and a damaged database.
func TestVulnerabilities(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("jq is needed (Debian package jq): %v", err)
	}
	dir := t.TempDir()
	db := osvDatabase(t, filepath.Join(dir, "osv"))
	image, alpine, diffIDs := vulnImages(t, dir)

	sbomFile, htmlFile := filepath.Join(dir, "debian.cdx.json"), filepath.Join(dir, "debian.html")
	res := run(t, "docker", "forensic", "analyze", "-o", "json", "--vulns", db, "--sbom", sbomFile, "--html", htmlFile, image)
	if res.code != 0 {
		t.Fatalf("analyze --vulns: exit %d, want 0\n%s", res.code, res.stderr)
	}
	reportFile := filepath.Join(dir, "debian.json")
	os.WriteFile(reportFile, []byte(res.stdout), 0o644)
	jq := func(filter, file string) string {
		t.Helper()
		out, err := exec.Command("jq", "-r", filter, file).CombinedOutput()
		if err != nil {
			t.Fatalf("jq %s %s: %v: %s", filter, file, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	base, top := diffIDs[0], diffIDs[1]
	want := strings.Join([]string{
		"GHSA-8q59-q68h-6hv4 PyYAML 5.3.1 5.4 critical 9.8 CVE-2020-14343,PYSEC-2021-142 " + top,
		"GHSA-35jh-r3h4-6jhm lodash 4.17.20 4.17.21 high 7.2 CVE-2021-23337 " + base,
		"DEBIAN-CVE-2023-5678 libssl3 3.0.11-1~deb12u2 3.0.13-1~deb12u1 medium 5.3 CVE-2023-5678 " + base,
		"GHSA-v4v4-v4v4-v4v4 lodash 4.17.20 - medium - - " + base,
		"DEBIAN-CVE-2023-45853 zlib1g 1:1.2.13.dfsg-1 - unknown - - " + base,
	}, "\n")
	got := jq(`.vulnerabilities.findings[] | "\(.id) \(.package) \(.installed) \(.fixed // "-") \(.severity) \([.cvss[]?.score | select(.)] | first // "-") \(.aliases // ["-"] | join(",")) \(.layer)"`, reportFile)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if got := jq(`.vulnerabilities.not_judged[] | "\(.id) \(.package)"`, reportFile); got != "OSV-2021-GIT lodash" {
		t.Errorf("not judged: %q, want the GIT-only record", got)
	}
	if got := jq(`.vulnerabilities.findings[] | select(.id=="GHSA-v4v4-v4v4-v4v4") | .cvss[0] | "\(.version) \(.vector) \(.score // "no score")"`, reportFile); got != "4.0 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N no score" {
		t.Errorf("a CVSS v4 vector is shown as given: %q", got)
	}
	notes := jq(`.vulnerabilities.notes[]`, reportFile)
	for _, w := range []string{"PyPI/all.zip: PYSEC-BROKEN.json skipped: not an OSV record", "2 records name a distribution release"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	if got := jq(`[.findings[] | select(.rule=="known-vulnerability")] | length`, reportFile); got != "5" {
		t.Errorf("%s known-vulnerability findings, want 5", got)
	}

	// The database identity: each file's SHA-256 as sha256sum says, and
	// its newest modified time.
	var files []string
	filepath.Walk(db, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	out, err := exec.Command("sha256sum", files...).Output()
	if err != nil {
		t.Fatal(err)
	}
	newest := map[string]string{"Alpine": "2024-02-03T00:00:00Z", "Debian": "2025-05-05T05:05:05Z", "PyPI": "2024-04-03T00:00:00Z", "npm": "2024-05-03T00:00:00Z"}
	var wantIdentity []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		sum, p, _ := strings.Cut(line, "  ")
		wantIdentity = append(wantIdentity, p+" "+sum+" "+newest[filepath.Base(filepath.Dir(p))])
	}
	if d := cmp.Diff(strings.Join(wantIdentity, "\n"), jq(`.vulnerabilities.database.files[] | "\(.path) \(.sha256) \(.newest_modified)"`, reportFile)); d != "" {
		t.Errorf("database identity (-sha256sum +report):\n%s", d)
	}

	// The SBOM: valid CycloneDX 1.5, each vulnerability on its component.
	if got := jq(`[.components[]."bom-ref"] as $r | [.vulnerabilities[] | "\(.id) \(.affects[0].ref as $x | $r | index($x) != null) \(.ratings[0].severity)"] | join("\n")`, sbomFile); got != strings.Join([]string{
		"GHSA-8q59-q68h-6hv4 true critical", "GHSA-35jh-r3h4-6jhm true high", "DEBIAN-CVE-2023-5678 true medium",
		"GHSA-v4v4-v4v4-v4v4 true null", "DEBIAN-CVE-2023-45853 true unknown"}, "\n") {
		t.Errorf("SBOM vulnerabilities:\n%s", got)
	}
	validateCDX15(t, sbomFile)
	html, _ := os.ReadFile(htmlFile)
	for _, w := range []string{"Vulnerabilities (5)", "GHSA-8q59-q68h-6hv4", "3.0.13-1~deb12u1", short(top)} {
		if !strings.Contains(string(html), w) {
			t.Errorf("the HTML report lacks %q", w)
		}
	}

	// Text, and --fail-on: critical findings fail the run with status 3.
	res = run(t, "docker", "forensic", "analyze", "--vulns", filepath.Join(db, "Debian", "all.zip"), "--vulns", filepath.Join(db, "PyPI", "all.zip"), "--fail-on", "critical", image)
	if res.code != 3 || !strings.Contains(res.stdout, "VULNERABILITIES (3) from 9 OSV records") ||
		!strings.Contains(res.stdout, "CRITICAL 9.8  GHSA-8q59-q68h-6hv4    PyYAML 5.3.1 -> 5.4  [layer #1 "+short(top)+"]") {
		t.Errorf("analyze --fail-on critical: exit %d, want 3, and the text lists the three findings of two files", res.code)
	}

	// The Alpine image: the record of its release matches, the one of
	// another release does not; unrated findings count as medium.
	for _, c := range []struct {
		failOn string
		code   int
	}{{"high", 0}, {"medium", 3}} {
		r, res := analyzeJSON(t, alpine, "--vulns", db, "--fail-on", c.failOn)
		if res.code != c.code {
			t.Errorf("alpine --fail-on %s: exit %d, want %d", c.failOn, res.code, c.code)
		}
		var got []string
		for _, f := range r.Vulnerabilities.Findings {
			got = append(got, f.ID+" "+f.Name+" "+f.Version+" "+f.Fixed+" "+f.Severity)
		}
		if d := cmp.Diff([]string{"ALPINE-CVE-2024-0727 libcrypto3 3.1.4-r4 3.1.4-r5 unknown"}, got); d != "" {
			t.Errorf("alpine findings (-want +got):\n%s", d)
		}
	}

	// A damaged database: one line saying which file and what to do, no
	// report, no SBOM.
	data, err := os.ReadFile(filepath.Join(db, "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.zip")
	os.WriteFile(truncated, data[:len(data)-40], 0o644)
	for _, argv := range [][]string{{"docker", "forensic", "analyze"}, {kubectl, "analyze"}} {
		sb := filepath.Join(t.TempDir(), "x.cdx.json")
		res = run(t, argv[0], append(argv[1:], "--vulns", db, "--vulns", truncated, "--sbom", sb, image)...)
		wantErr := "--vulns: reading the OSV database " + truncated + ": zip: not a valid zip file: it is not a complete zip file, download it again"
		if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, wantErr) || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
			t.Errorf("%s with a truncated database: exit %d, stderr %q, want exit 1 and %q", argv[0], res.code, res.stderr, wantErr)
		}
		if _, err := os.Stat(sb); err == nil {
			t.Errorf("%s wrote an SBOM though the database was damaged", argv[0])
		}
	}
}

// vulnImages builds the test's images into dir: a Debian 12 image made
// with docker import (a dpkg status, an apk database, a package-lock.json
// and node_modules) and a second layer made with docker commit (a Python
// dist-info), and an Alpine 3.19 image; it returns their docker save
// tarballs and the Debian image's diff IDs.
func vulnImages(t *testing.T, dir string) (debian, alpine string, diffIDs []string) {
	t.Helper()
	rootfs := vulnsRootfs(t, filepath.Join(dir, "debian"), map[string]string{
		"etc/os-release":                       "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"var/lib/dpkg/status":                  dpkgStatus,
		"lib/apk/db/installed":                 apkInstalled,
		"app/package-lock.json":                packageLock,
		"app/node_modules/lodash/package.json": `{"name": "lodash", "version": "4.17.20", "license": "MIT"}`,
	})
	tarCmd := exec.Command("tar", "-C", rootfs, "-c", ".")
	imp := exec.Command("docker", "import", "-c", "CMD /bin/sh", "-", vulnsBase)
	imp.Stdin, _ = tarCmd.StdoutPipe()
	if err := tarCmd.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	tarCmd.Wait()
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", vulnsImage, vulnsBase).Run() })
	const distInfo = "/usr/lib/python3/dist-packages/PyYAML-5.3.1.dist-info"
	if err := commitStep(vulnsBase, vulnsImage, "Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3.1\nLicense: MIT\n\n", "pip install PyYAML==5.3.1",
		"/bin/sh", "-c", "mkdir -p "+distInfo+" && cat > "+distInfo+"/METADATA"); err != nil {
		t.Fatal(err)
	}
	debian = filepath.Join(dir, "debian.tar")
	mustDocker(t, "save", "-o", debian, vulnsImage)
	if err := json.Unmarshal([]byte(mustDocker(t, "image", "inspect", "--format", "{{json .RootFS.Layers}}", vulnsImage)), &diffIDs); err != nil || len(diffIDs) != 2 {
		t.Fatalf("the image's layers: %v %v", diffIDs, err)
	}

	alpine = saveRootfs(t, vulnsRootfs(t, filepath.Join(dir, "alpine"), map[string]string{
		"etc/os-release":       "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
		"lib/apk/db/installed": apkInstalled,
	}), vulnsAlpine, "/bin/sh", dir)
	return debian, alpine, diffIDs
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// validateCDX15 validates a CycloneDX document against the 1.5 schema
// files the sbom package's tests keep.
func validateCDX15(t *testing.T, file string) {
	t.Helper()
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
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("the SBOM is not JSON: %v", err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("the SBOM with vulnerabilities is not valid CycloneDX 1.5: %v", err)
	}
}
