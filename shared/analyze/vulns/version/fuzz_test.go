package version

import (
	"strings"
	"testing"
)

// properties checks what every ordering must be: reflexive, antisymmetric,
// transitive, and with equal versions interchangeable. Versions the
// ordering refuses are skipped; it must refuse them without panicking.
func properties(t *testing.T, cmp Compare, a, b, c string) {
	ab, errAB := cmp(a, b)
	bc, errBC := cmp(b, c)
	ac, errAC := cmp(a, c)
	if errAB != nil || errBC != nil || errAC != nil {
		return
	}
	for _, v := range []string{a, b, c} {
		if n, err := cmp(v, v); err != nil || n != 0 {
			t.Fatalf("cmp(%q, %q) = %d, %v: not reflexive", v, v, n, err)
		}
	}
	if ba, _ := cmp(b, a); sign(ba) != -sign(ab) {
		t.Fatalf("cmp(%q, %q) = %d but cmp(%q, %q) = %d: not antisymmetric", a, b, ab, b, a, ba)
	}
	if sign(ab) >= 0 && sign(bc) >= 0 && sign(ac) < sign(ab)+sign(bc)-1 || sign(ab) <= 0 && sign(bc) <= 0 && sign(ac) > sign(ab)+sign(bc)+1 {
		t.Fatalf("%q vs %q: %d, %q vs %q: %d, but %q vs %q: %d: not transitive", a, b, ab, b, c, bc, a, c, ac)
	}
	if ab == 0 && sign(ac) != sign(bc) {
		t.Fatalf("%q = %q but they compare differently with %q (%d, %d)", a, b, c, ac, bc)
	}
}

// rule checks an ecosystem rule: cmp(x, y) must be want when both parse.
func rule(t *testing.T, cmp Compare, x, y string, want int, why string) {
	if got, err := cmp(x, y); err == nil && sign(got) != want {
		t.Fatalf("cmp(%q, %q) = %d, want %d: %s", x, y, got, want, why)
	}
}

func seeds(f *testing.F, vs ...string) {
	for i := range vs {
		f.Add(vs[i], vs[(i+1)%len(vs)], vs[(i+2)%len(vs)])
	}
}

func FuzzDpkg(f *testing.F) {
	seeds(f, "1.0~rc1-1", "1:2.36-9+deb12u3", "3.0.11-1~deb12u2", "0-pre", "2.2~rc-4", "1.18.36:5.4-20")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, Dpkg, a, b, c)
		if !strings.Contains(a, ":") {
			rule(t, Dpkg, "0:"+a, a, 0, "epoch 0 is no epoch")
			rule(t, Dpkg, "1:"+a, a, 1, "an epoch wins over the rest")
		}
		rule(t, Dpkg, a+"~", a, -1, "~ sorts before the end")
	})
}

func FuzzRPM(f *testing.F) {
	seeds(f, "1.0~rc1", "1:3.0.7-24.el9", "1.0^git1", "2_0", "10.0001", "xyz.4")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, RPM, a, b, c)
		if !strings.Contains(a, "-") && !strings.Contains(a, ":") {
			rule(t, RPM, a+"~rc1", a, -1, "~ sorts before the end")
			rule(t, RPM, a+"^git1", a, 1, "^ sorts after the end")
		}
	})
}

func FuzzAPK(f *testing.F) {
	seeds(f, "1.0_alpha2", "1.0-r1", "1.0_p1", "1.0a", "1.01", "0.1.0_alpha_pre2", "1.2.3_git20240101-r0")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, APK, a, b, c)
		if !strings.Contains(a, "-r") && !strings.Contains(a, "_") {
			rule(t, APK, a+"_rc1", a, -1, "_rc is a pre-release")
			rule(t, APK, a+"_p1", a, 1, "_p is a patch after the release")
			rule(t, APK, a+"-r1", a, 1, "a revision is newer")
		}
	})
}

func FuzzPEP440(f *testing.F) {
	seeds(f, "1.0a2.dev456", "1!2.0", "1.0.post456.dev34", "1.0+abc.5", "1.0rc1", "v1.0", "1.0-1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, PEP440, a, b, c)
		if allDigits(strings.ReplaceAll(a, ".", "")) {
			rule(t, PEP440, a+".dev1", a+"a1", -1, "a developmental release precedes pre-releases")
			rule(t, PEP440, a+"rc1", a, -1, "a release candidate precedes the release")
			rule(t, PEP440, a+".post1", a, 1, "a post-release follows the release")
			rule(t, PEP440, a+".0", a, 0, "trailing zeros do not count")
		}
	})
}

func FuzzSemVer(f *testing.F) {
	seeds(f, "1.0.0-alpha.1", "1.0.0-beta.11", "1.0.0+build", "2.1.1", "1.0.0-rc.1", "0.0.0-x-y")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, SemVer, a, b, c)
		if !strings.ContainsAny(a, "-+") {
			rule(t, SemVer, a+"-0", a, -1, "a pre-release precedes its release")
			rule(t, SemVer, a+"+meta", a, 0, "build metadata does not count")
		}
	})
}

func FuzzGo(f *testing.F) {
	seeds(f, "v0.0.0-20191109021931-daa7c04131f5", "v1.2.4-0.20191109021931-daa7c04131f5", "go1.21.3", "1.21rc2", "v2.0.0+incompatible")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, Go, a, b, c)
	})
}

func FuzzGem(f *testing.F) {
	seeds(f, "1.0.a.2", "1.0.b1", "1.0-1", "1.0.0", "0.beta.1", "5.0.0.rc2")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		properties(t, Gem, a, b, c)
		if allDigits(strings.ReplaceAll(a, ".", "")) {
			rule(t, Gem, a+".a", a, -1, "a letter segment makes a pre-release")
			rule(t, Gem, a+".0", a, 0, "trailing zeros do not count")
		}
	})
}
