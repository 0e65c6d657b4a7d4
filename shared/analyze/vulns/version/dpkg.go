package version

import "strings"

// dpkgVersion is a Debian version split into epoch, upstream version and
// revision.
type dpkgVersion struct{ epoch, upstream, revision string }

func parseDpkg(v string) (dpkgVersion, error) {
	var d dpkgVersion
	s := strings.TrimSpace(v)
	if s == "" {
		return d, invalid("Debian", v, "empty")
	}
	if strings.ContainsAny(s, " \t\n") {
		return d, invalid("Debian", v, "it holds blanks")
	}
	if e, rest, ok := strings.Cut(s, ":"); ok {
		if !allDigits(e) {
			return d, invalid("Debian", v, "the epoch is not a number")
		}
		d.epoch, s = e, rest
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		d.upstream, d.revision = s[:i], s[i+1:]
		if d.revision == "" {
			return d, invalid("Debian", v, "empty revision")
		}
	} else {
		d.upstream = s
	}
	if d.upstream == "" {
		return d, invalid("Debian", v, "empty upstream version")
	}
	for i := 0; i < len(d.upstream); i++ {
		if c := d.upstream[i]; !isDigit(c) && !isAlpha(c) && !strings.ContainsRune(".+~-:", rune(c)) {
			return d, invalid("Debian", v, "invalid character in the upstream version")
		}
	}
	for i := 0; i < len(d.revision); i++ {
		if c := d.revision[i]; !isDigit(c) && !isAlpha(c) && !strings.ContainsRune(".+~", rune(c)) {
			return d, invalid("Debian", v, "invalid character in the revision")
		}
	}
	return d, nil
}

// Dpkg compares two Debian versions as dpkg --compare-versions does:
// epoch first, then the upstream version and the revision with dpkg's
// verrevcmp, where "~" sorts before everything, even the end.
func Dpkg(a, b string) (int, error) {
	x, err := parseDpkg(a)
	if err != nil {
		return 0, err
	}
	y, err := parseDpkg(b)
	if err != nil {
		return 0, err
	}
	if c := cmpDigits(x.epoch, y.epoch); c != 0 {
		return c, nil
	}
	if c := verrevcmp(x.upstream, y.upstream); c != 0 {
		return c, nil
	}
	return verrevcmp(x.revision, y.revision), nil
}

// dpkgOrder is dpkg's order of a character in a non-digit part: "~" first,
// then the end of the part, then letters, then everything else.
func dpkgOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// verrevcmp is dpkg's lib/dpkg/version.c verrevcmp.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) || j < len(b) && !isDigit(b[j]) {
			ac, bc := dpkgOrder(a, i), dpkgOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}
