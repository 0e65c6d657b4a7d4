package version

import (
	"strings"
	"testing"
)

// ordered checks that each list is in strictly increasing order under cmp,
// every pair of it, both ways round.
func ordered(t *testing.T, name string, cmp Compare, lists ...[]string) {
	t.Helper()
	for _, list := range lists {
		for i := range list {
			for j := range list {
				got, err := cmp(list[i], list[j])
				if err != nil {
					t.Errorf("%s(%q, %q): %v", name, list[i], list[j], err)
					continue
				}
				if want := sign(i - j); sign(got) != want {
					t.Errorf("%s(%q, %q) = %d, want %d", name, list[i], list[j], got, want)
				}
			}
		}
	}
}

// table checks single comparisons: op is "<", "=" or ">".
func table(t *testing.T, name string, cmp Compare, rows [][3]string) {
	t.Helper()
	for _, r := range rows {
		want := map[string]int{"<": -1, "=": 0, ">": 1}[r[1]]
		got, err := cmp(r[0], r[2])
		if err != nil {
			t.Errorf("%s(%q, %q): %v", name, r[0], r[2], err)
			continue
		}
		if sign(got) != want {
			t.Errorf("%s: %q %s %q, got %d", name, r[0], r[1], r[2], got)
		}
		back, _ := cmp(r[2], r[0])
		if sign(back) != -want {
			t.Errorf("%s: %q %s %q, but the other way round got %d", name, r[0], r[1], r[2], back)
		}
	}
}

func rejects(t *testing.T, name string, cmp Compare, bad []string, good string) {
	t.Helper()
	for _, b := range bad {
		if _, err := cmp(b, good); err == nil {
			t.Errorf("%s accepted %q", name, b)
		} else if !strings.Contains(err.Error(), "version") {
			t.Errorf("%s(%q): error %q does not say what is wrong", name, b, err)
		}
		if _, err := cmp(good, b); err == nil {
			t.Errorf("%s accepted %q as the second version", name, b)
		}
	}
}

// TestDpkg takes Debian Policy 5.6.12's "~" example and rows of dpkg's
// own lib/dpkg/t/t-version.c.
func TestDpkg(t *testing.T) {
	ordered(t, "Dpkg", Dpkg, []string{"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"})
	table(t, "Dpkg", Dpkg, [][3]string{
		{"1.0-1", "<", "2.0-2"},
		{"2.2~rc-4", "<", "2.2-1"},
		{"1.0000-1", "=", "1.0-1"},
		{"1:0.4", ">", "10.3"},
		{"1:1.25-4", "<", "1:1.25-8"},
		{"0:1.18.36", "=", "1.18.36"},
		{"1.18.36", "<", "1.18.37"},
		{"0:1.18.36", ">", "1.18.35"},
		{"9:1.18.36:5.4-20", "<", "10:0.5.1-22"},
		{"9:1.18.36:5.4-20", "<", "9:1.18.36:5.5-1"},
		{"9:1.18.36:5.4-20", "<", "9:1.18.37:4.3-22"},
		{"1.18.36-0.17.35-18", ">", "1.18.36-19"},
		{"1:1.2.13-3", "<", "1:1.2.13-3.1"},
		{"2.0.7pre1-4", "<", "2.0.7r-1"},
		{"0-pre", "=", "0-pre"},
		{"0-pre", "<", "0-pree"},
		{"1.1.6r2-2", ">", "1.1.6r-1"},
		{"2.6b2-1", ">", "2.6b-2"},
		{"98.1p5-1", "<", "98.1-pre2-b6-2"},
		{"0.4a6-2", ">", "0.4-1"},
		{"1:3.0.5-2", "<", "1:3.0.5.1"},
		{"3.0.11-1~deb12u2", "<", "3.0.11-1"},
		{"2.36-9+deb12u3", ">", "2.36-9"},
	})
	rejects(t, "Dpkg", Dpkg, []string{"", "a:1.0", "1.0-", "1.0 2", "1.0_1", "1.0-a_b"}, "1.0")
}

// TestRPM takes the rows of rpm's tests/rpmvercmp.at, then EVR rows.
func TestRPM(t *testing.T) {
	table(t, "RPM", RPM, [][3]string{
		{"1.0", "=", "1.0"}, {"1.0", "<", "2.0"}, {"2.0.1", ">", "2.0"}, {"2.0.1a", ">", "2.0.1"},
		{"5.5p1", "<", "5.5p2"}, {"5.5p10", ">", "5.5p1"}, {"10xyz", "<", "10.1xyz"},
		{"xyz10", "<", "xyz10.1"}, {"xyz.4", "<", "8"}, {"xyz.4", "<", "2"}, {"5.5p2", "<", "5.6p1"},
		{"5.6p1", "<", "6.5p1"}, {"6.0.rc1", ">", "6.0"}, {"10b2", ">", "10a1"}, {"1.0aa", ">", "1.0a"},
		{"10.0001", "=", "10.1"}, {"10.0001", "<", "10.0039"}, {"4.999.9", "<", "5.0"},
		{"20101121", "<", "20101122"}, {"2_0", "=", "2_0"}, {"2.0", "=", "2_0"}, {"a", "=", "a"},
		{"a+", "=", "a+"}, {"a+", "=", "a_"}, {"+a", "=", "+a"}, {"+a", "=", "_a"}, {"+_", "=", "_+"},
		{"1.0~rc1", "<", "1.0"}, {"1.0~rc1", "<", "1.0~rc2"}, {"1.0~rc1~git123", "<", "1.0~rc1"},
		{"1.0^", ">", "1.0"}, {"1.0^git1", ">", "1.0"}, {"1.0^git1", "<", "1.0^git2"},
		{"1.0^git1", "<", "1.01"}, {"1.0^20160101", "<", "1.0.1"}, {"1.0^20160101^git1", ">", "1.0^20160101"},
		{"1.0~rc1^git1", ">", "1.0~rc1"}, {"1.0^git1~pre", "<", "1.0^git1"}, {"1.0~rc1^git1", "<", "1.0"},
		// Epoch, version, release.
		{"1:1.0-1", ">", "2.0-1"}, {"0:2.0-1", "=", "2.0-1"}, {"3.0.7-24.el9", "<", "3.0.7-25.el9"},
		{"1:3.0.7-24.el9", "<", "1:3.0.7-24.el9_3"}, {"2.34-60.el9", ">", "2.34-8.el9"},
	})
	rejects(t, "RPM", RPM, []string{"", "x:1.0", "1.0 1", ":"}, "1.0")
}

// TestAPK takes apk's documented order (the Alpine wiki's APKBUILD
// reference: suffixes _alpha _beta _pre _rc before the release, _cvs _svn
// _git _hg _p after it, then -rN) and rows of apk-tools' test/version.data.
func TestAPK(t *testing.T) {
	ordered(t, "APK", APK, []string{
		"1.0_alpha", "1.0_alpha2", "1.0_beta", "1.0_beta3", "1.0_pre", "1.0_rc1", "1.0",
		"1.0-r1", "1.0-r2", "1.0_cvs", "1.0_svn", "1.0_git20240101", "1.0_hg", "1.0_p1", "1.0_p2",
		"1.0a", "1.0b", "1.0.1", "1.1", "1.10", "2.0",
	})
	table(t, "APK", APK, [][3]string{
		{"2.34", ">", "0.1.0_alpha"},
		{"0.1.0_alpha", "=", "0.1.0_alpha"},
		{"0.1.0_alpha", "<", "0.1.3_alpha"},
		{"0.1.3_alpha", ">", "0.1.0_alpha"},
		{"0.1.0_alpha2", ">", "0.1.0_alpha"},
		{"0.1.0_alpha_pre2", "<", "0.1.0_alpha"},
		{"0.1.0_alpha", "<", "0.1.0_beta"},
		{"1.2.3_beta3", "<", "1.2.3"},
		{"1.01", "<", "1.1"},
		{"3.1.4-r5", "<", "3.1.4-r10"},
		{"3.3.0-r0", ">", "3.3.0"},
		{"3.1.4-r0", "<", "3.1.4_p1-r0"},
		{"1.0.2n-r0", ">", "1.0.2m-r0"},
	})
	rejects(t, "APK", APK, []string{"", "a1.0", "1.0_foo", "1.0-r", "1.0.", "1..0", "1.0-1", "1.0 "}, "1.0")
}

// TestPEP440 takes the version ordering example of PEP 440 ("Summary of
// permitted suffixes and relative ordering") and its normalisation rules.
func TestPEP440(t *testing.T) {
	ordered(t, "PEP440", PEP440, []string{
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456",
		"1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456",
		"1.0.15", "1.1.dev1",
	})
	table(t, "PEP440", PEP440, [][3]string{
		{"1.0", "=", "1.0.0"}, {"1.0RC1", "=", "1.0rc1"}, {"1.0c1", "=", "1.0rc1"},
		{"1.0alpha1", "=", "1.0a1"}, {"1.0-1", "=", "1.0.post1"}, {"1.0.rev1", "=", "1.0.post1"},
		{"v1.0", "=", "1.0"}, {"1!1.0", ">", "2.0"}, {"1.0a", "=", "1.0a0"}, {"1.0.post", "=", "1.0.post0"},
		{"2.31.0", ">", "2.4.0"}, {"1.0+ubuntu-1", "=", "1.0+ubuntu.1"},
	})
	rejects(t, "PEP440", PEP440, []string{"", "french toast", "1.0.", "1.0+", "1.0-dev-x", "1_0"}, "1.0")
}

// TestSemVer takes semver.org's precedence examples (section 11).
func TestSemVer(t *testing.T) {
	ordered(t, "SemVer", SemVer,
		[]string{"1.0.0", "2.0.0", "2.1.0", "2.1.1"},
		[]string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
			"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"})
	table(t, "SemVer", SemVer, [][3]string{
		{"1.0.0+20130313144700", "=", "1.0.0"}, {"1.0.0-beta+exp.sha.5114f85", "=", "1.0.0-beta"},
		{"v1.2.3", "=", "1.2.3"}, {"1.10.0", ">", "1.9.0"}, {"4.17.20", "<", "4.17.21"},
	})
	rejects(t, "SemVer", SemVer, []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-a..b", "1.2.3-a_b"}, "1.0.0")
}

// TestGo takes the module reference's pseudo-version forms and Go
// toolchain version names (go.dev/doc/toolchain).
func TestGo(t *testing.T) {
	ordered(t, "Go", Go, []string{
		"v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-aaaaaaaaaaaa", "v0.1.0",
		"v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", "v2.0.0-pre", "v2.0.0-pre.0.20200101000000-aaaaaaaaaaaa", "v2.0.0+incompatible",
	})
	table(t, "Go", Go, [][3]string{
		{"1.2.3", "=", "v1.2.3"}, {"go1.21.3", "=", "1.21.3"}, {"1.21rc2", "<", "1.21.0"},
		{"go1.21", "=", "1.21.0"}, {"1.22.0", ">", "1.21.9"}, {"v2.0.0+incompatible", "=", "2.0.0"},
	})
	rejects(t, "Go", Go, []string{"", "latest", "v1", "go1", "1.2.3.4.5"}, "v1.0.0")
}

// TestGem takes Gem::Version's documented examples (RubyGems' Gem::Version
// class documentation and its test_version.rb).
func TestGem(t *testing.T) {
	ordered(t, "Gem", Gem, []string{"0.9", "1.0.a.2", "1.0.a10", "1.0.b1", "1.0.b2", "1.0.rc1", "1.0", "1.0.1", "1.1", "1.10"})
	table(t, "Gem", Gem, [][3]string{
		{"1.0", "=", "1.0.0"}, {"1.8.2.a", "<", "1.8.2"}, {"1.0-1", "<", "1.0"}, {"1.0-1", "=", "1.0.pre.1"},
		{"0.beta.1", "<", "0.0.beta.2"}, {"1.0.0.a10", ">", "1.0.0.a9"}, {"5.a", "<", "5.0.0.rc2"},
		{"1.0.a", "<", "1.0"}, {"1.2.b1", "=", "1.2.b.1"}, {"1.2.pre.1", "<", "1.2"},
	})
	rejects(t, "Gem", Gem, []string{"junk", "1.0\n2.0", "1..2", "1.2 3", "a.1"}, "1.0")
}

func TestFor(t *testing.T) {
	for eco, want := range map[string]string{"Debian:12": "1", "Alpine:v3.19": "1", "PyPI": "1", "npm": "1", "Go": "1", "RubyGems": "1", "Red Hat": "1", "Ubuntu:22.04:LTS": "1", "SEMVER": "1"} {
		if _, err := For(eco); (err == nil) != (want == "1") {
			t.Errorf("For(%q): %v", eco, err)
		}
	}
	if _, err := For("Maven"); err == nil {
		t.Error("For(Maven) gave an ordering")
	}
}
