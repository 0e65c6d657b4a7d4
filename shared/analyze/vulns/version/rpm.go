package version

import "strings"

// RPM compares two RPM versions "[epoch:]version[-release]" as rpm does:
// epoch numerically (none is 0), then version and release with
// rpmvercmp, where "~" sorts before the end and "^" after it.
func RPM(a, b string) (int, error) {
	ea, va, ra, err := splitEVR(a)
	if err != nil {
		return 0, err
	}
	eb, vb, rb, err := splitEVR(b)
	if err != nil {
		return 0, err
	}
	if c := cmpDigits(ea, eb); c != 0 {
		return c, nil
	}
	if c := rpmvercmp(va, vb); c != 0 {
		return c, nil
	}
	// rpm.vercmp compares a missing release as an empty one.
	return rpmvercmp(ra, rb), nil
}

func splitEVR(v string) (epoch, ver, rel string, err error) {
	s := v
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return "", "", "", invalid("RPM", v, "empty or with blanks")
	}
	if e, rest, ok := strings.Cut(s, ":"); ok {
		if e != "" && !allDigits(e) {
			return "", "", "", invalid("RPM", v, "the epoch is not a number")
		}
		epoch, s = e, rest
	}
	ver = s
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		ver, rel = s[:i], s[i+1:]
	}
	if ver == "" {
		return "", "", "", invalid("RPM", v, "empty version")
	}
	return epoch, ver, rel, nil
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// rpmvercmp is rpm's rpmio/rpmvercmp.c.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ai, bj := at(a, i), at(b, j)
		if ai == '~' || bj == '~' {
			if ai != '~' {
				return 1
			}
			if bj != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		if ai == '^' || bj == '^' {
			if i == len(a) {
				return -1
			}
			if j == len(b) {
				return 1
			}
			if ai != '^' {
				return 1
			}
			if bj != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		num := isDigit(a[i])
		if num {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if sj == j {
			// One segment is numeric, the other alphabetic: numbers are newer.
			if num {
				return 1
			}
			return -1
		}
		var c int
		if num {
			c = cmpDigits(a[si:i], b[sj:j])
		} else {
			c = strings.Compare(a[si:i], b[sj:j])
		}
		if c != 0 {
			return c
		}
	}
	if i >= len(a) && j >= len(b) {
		return 0
	}
	if i < len(a) {
		return 1
	}
	return -1
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}
