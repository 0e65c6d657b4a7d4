package version

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// genVersion makes a version from pieces that exercise the orderings'
// corners: epochs, "~" and "^", leading zeros, letters, several
// separators, revisions.
func genVersion(r *rand.Rand, rpm bool) string {
	var b strings.Builder
	if r.IntN(4) == 0 {
		fmt.Fprintf(&b, "%d:", r.IntN(3))
	}
	fmt.Fprintf(&b, "%d", r.IntN(3))
	pieces := []string{".", "0", "1", "01", "10", "a", "b", "rc", "~", "~rc1", "+", "pre", "p1", ".0", "9", "z"}
	if rpm {
		pieces = append(pieces, "^", "^git1", "_", "el9")
	}
	for n := r.IntN(5); n > 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	if r.IntN(2) == 0 {
		b.WriteString("-")
		fmt.Fprintf(&b, "%d", r.IntN(3))
		for n := r.IntN(3); n > 0; n-- {
			b.WriteString([]string{".", "1", "~", "a", "+deb12u1", "0"}[r.IntN(6)])
		}
	}
	return b.String()
}

// TestDpkgAgreesWithDpkg compares generated pairs with the machine's own
// dpkg --compare-versions.
func TestDpkgAgreesWithDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Fatalf("dpkg is needed to check the Debian ordering (apt-get install dpkg): %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		a, b := genVersion(r, false), genVersion(r, false)
		if i%10 == 0 {
			b = a
		}
		got, err := Dpkg(a, b)
		if err != nil {
			t.Errorf("Dpkg(%q, %q): %v", a, b, err)
			continue
		}
		want := 0
		for _, op := range []struct {
			name string
			v    int
		}{{"lt", -1}, {"gt", 1}} {
			if exec.Command(dpkg, "--compare-versions", a, op.name, b).Run() == nil {
				want = op.v
			}
		}
		if sign(got) != want {
			t.Errorf("Dpkg(%q, %q) = %d, dpkg --compare-versions says %d", a, b, got, want)
		}
	}
}

// TestRPMAgreesWithRPM compares generated pairs with rpm's own
// rpm.vercmp, one rpm run for every pair.
func TestRPMAgreesWithRPM(t *testing.T) {
	rpm, err := exec.LookPath("rpm")
	if err != nil {
		t.Fatalf("rpm is needed to check the RPM ordering (apt-get install rpm): %v", err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var pairs [][2]string
	var lua strings.Builder
	lua.WriteString("%{lua:")
	for i := 0; i < 500; i++ {
		a, b := genVersion(r, true), genVersion(r, true)
		if i%10 == 0 {
			b = a
		}
		pairs = append(pairs, [2]string{a, b})
		fmt.Fprintf(&lua, "print(rpm.vercmp(%q, %q)) print('\\n') ", a, b)
	}
	lua.WriteString("}")
	out, err := exec.Command(rpm, "--eval", lua.String()).Output()
	if err != nil {
		t.Fatalf("rpm --eval: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(pairs) {
		t.Fatalf("rpm gave %d answers for %d pairs: %q", len(lines), len(pairs), out)
	}
	for i, p := range pairs {
		got, err := RPM(p[0], p[1])
		if err != nil {
			t.Errorf("RPM(%q, %q): %v", p[0], p[1], err)
			continue
		}
		if want := lines[i]; fmt.Sprint(sign(got)) != want {
			t.Errorf("RPM(%q, %q) = %d, rpm.vercmp says %s", p[0], p[1], got, want)
		}
	}
}
