package version

import (
	"errors"
	"fmt"
	"strings"
)

// Compare is a comparator: negative when a is older than b, zero when they
// are the same version, positive when a is newer.
type Compare func(a, b string) (int, error)

// ErrUnknownEcosystem is returned by For for an ecosystem without an
// ordering.
var ErrUnknownEcosystem = errors.New("no version ordering for this ecosystem")

// For returns the comparator of an OSV ecosystem name ("Debian:12",
// "Alpine:v3.19", "PyPI", "npm", "Go", "RubyGems", "Red Hat", ...); the
// release after the colon does not change the ordering. SEMVER is the
// ordering of OSV's SEMVER ranges.
func For(ecosystem string) (Compare, error) {
	base, _, _ := strings.Cut(ecosystem, ":")
	switch base {
	case "Debian", "Ubuntu":
		return Dpkg, nil
	case "Alpine", "Wolfi", "Chainguard":
		return APK, nil
	case "Red Hat", "Rocky Linux", "AlmaLinux", "openSUSE", "SUSE", "Mageia", "openEuler", "Azure Linux":
		return RPM, nil
	case "PyPI":
		return PEP440, nil
	case "npm", "SEMVER", "crates.io", "NuGet", "Hex", "Pub":
		return SemVer, nil
	case "Go":
		return Go, nil
	case "RubyGems":
		return Gem, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownEcosystem, ecosystem)
}

// sign folds any integer into -1, 0 or 1.
func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// cmpDigits compares two strings of ASCII digits as numbers of any length.
func cmpDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// invalid is the error of a string an ordering does not accept.
func invalid(kind, v, why string) error {
	return fmt.Errorf("%q is not a %s version: %s", v, kind, why)
}
