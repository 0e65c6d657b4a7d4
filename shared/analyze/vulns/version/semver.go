package version

import "strings"

type semver struct {
	major, minor, patch string
	pre                 []string
}

// parseSemVer parses a SemVer 2.0.0 version, with an optional "v".
// Build metadata is ignored for ordering, as the specification says.
func parseSemVer(kind, v string) (semver, error) {
	var s semver
	t := strings.TrimPrefix(v, "v")
	if b, _, ok := strings.Cut(t, "+"); ok {
		t = b
	}
	core, pre, hasPre := strings.Cut(t, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return s, invalid(kind, v, "not MAJOR.MINOR.PATCH")
	}
	for _, p := range parts {
		if !allDigits(p) || len(p) > 1 && p[0] == '0' {
			return s, invalid(kind, v, "not MAJOR.MINOR.PATCH")
		}
	}
	s.major, s.minor, s.patch = parts[0], parts[1], parts[2]
	if hasPre {
		s.pre = strings.Split(pre, ".")
		for _, id := range s.pre {
			if id == "" {
				return s, invalid(kind, v, "empty pre-release identifier")
			}
			for i := 0; i < len(id); i++ {
				if c := id[i]; !isAlnum(c) && c != '-' {
					return s, invalid(kind, v, "invalid character in the pre-release")
				}
			}
		}
	}
	return s, nil
}

func cmpSemVer(x, y semver) int {
	for _, c := range []int{cmpDigits(x.major, y.major), cmpDigits(x.minor, y.minor), cmpDigits(x.patch, y.patch)} {
		if c != 0 {
			return c
		}
	}
	switch {
	case len(x.pre) == 0 && len(y.pre) == 0:
		return 0
	case len(x.pre) == 0:
		return 1
	case len(y.pre) == 0:
		return -1
	}
	for i := 0; i < len(x.pre) && i < len(y.pre); i++ {
		a, b := x.pre[i], y.pre[i]
		da, db := allDigits(a), allDigits(b)
		var c int
		switch {
		case da && db:
			c = cmpDigits(a, b)
		case da:
			c = -1
		case db:
			c = 1
		default:
			c = strings.Compare(a, b)
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(x.pre) - len(y.pre))
}

// SemVer compares two versions by semantic versioning 2.0.0 (npm, and
// OSV's SEMVER ranges); a leading "v" is allowed.
func SemVer(a, b string) (int, error) {
	x, err := parseSemVer("semantic", a)
	if err != nil {
		return 0, err
	}
	y, err := parseSemVer("semantic", b)
	if err != nil {
		return 0, err
	}
	return cmpSemVer(x, y), nil
}

// Go compares two Go module versions: semantic versions with or without
// the "v" (OSV writes them without), pseudo-versions such as
// v0.0.0-20191109021931-daa7c04131f5 ordered as the pre-releases they are,
// "+incompatible" ignored, and Go toolchain versions of the standard
// library ("go1.21.3", "1.21", "1.21rc2").
func Go(a, b string) (int, error) {
	x, err := parseGo(a)
	if err != nil {
		return 0, err
	}
	y, err := parseGo(b)
	if err != nil {
		return 0, err
	}
	return cmpSemVer(x, y), nil
}

func parseGo(v string) (semver, error) {
	t := strings.TrimPrefix(v, "go")
	if s, err := parseSemVer("Go", t); err == nil {
		return s, nil
	}
	// A toolchain version: 1.21, 1.21.3, 1.21rc2, 1.21.0-rc.2 is not one.
	core, pre := t, ""
	if i := strings.IndexAny(t, "abcdefghijklmnopqrstuvwxyz"); i > 0 {
		core, pre = t[:i], t[i:]
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return semver{}, invalid("Go", v, "not a module or Go release version")
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	s := strings.Join(parts, ".")
	if pre != "" {
		if !strings.HasPrefix(pre, "rc") && !strings.HasPrefix(pre, "beta") {
			return semver{}, invalid("Go", v, "not a module or Go release version")
		}
		s += "-" + pre
	}
	sv, err := parseSemVer("Go", s)
	if err != nil {
		return semver{}, invalid("Go", v, "not a module or Go release version")
	}
	return sv, nil
}
