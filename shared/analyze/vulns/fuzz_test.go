package vulns

import (
	"testing"
)

// FuzzRecord feeds arbitrary bytes to the record parser and matches what
// it accepts against the test packages: nothing may panic, and every
// finding must name a package of the list with its installed version.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"id":"DEBIAN-CVE-2024-0001","modified":"2024-01-01T00:00:00Z","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`))
	f.Add([]byte(`{"id":"GHSA-x","affected":[{"package":{"purl":"pkg:npm/lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"4.0.0"},{"last_affected":"4.17.20"},{"limit":"5.0.0"}]}],"versions":["4.17.20"]}],"database_specific":{"severity":"HIGH"}}`))
	f.Add([]byte(`{"id":"GIT","affected":[{"package":{"ecosystem":"PyPI","name":"PyYAML"},"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"}]}]}],"withdrawn":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"A","affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.1.0-r0"},{"fixed":"3.1.4-r6"}]}],"severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			return
		}
		for _, rel := range []Release{{ID: "debian", VersionID: "12"}, {ID: "alpine", VersionID: "3.19.0"}} {
			m := &matcher{pkgs: testPackages, byKey: map[string][]int{}, byPURL: map[string][]int{}, res: &Result{},
				seen: map[string]int{}, targets: make([]target, len(testPackages)), valid: make([]bool, len(testPackages))}
			m.index(rel)
			m.record(&File{Path: "fuzz.zip"}, r)
			m.mergeAliases()
			for _, fd := range m.res.Findings {
				if fd.Package < 0 || fd.Package >= len(testPackages) || testPackages[fd.Package].Version != fd.Version || fd.ID != r.ID && fd.ID == "" {
					t.Fatalf("finding %+v does not name a package of the list", fd)
				}
				if SeverityRank(fd.Severity) == 0 && fd.Severity != SevUnknown {
					t.Fatalf("finding %+v has severity %q", fd, fd.Severity)
				}
			}
		}
	})
}
