package version

import (
	"strings"
)

type gemSeg struct {
	num bool
	s   string
}

// parseGem splits a RubyGems version into Gem::Version's canonical
// segments: numbers and letter runs, "-" read as ".pre.", trailing zeros
// of the release and of the pre-release part dropped.
func parseGem(v string) ([]gemSeg, error) {
	t := strings.TrimSpace(v)
	if t == "" {
		t = "0"
	}
	if !isDigit(t[0]) {
		return nil, invalid("RubyGems", v, "it does not start with a digit")
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !isAlnum(c) && c != '.' && c != '-' {
			return nil, invalid("RubyGems", v, "invalid character")
		}
	}
	if strings.Contains(t, "..") || strings.HasSuffix(t, ".") || strings.HasSuffix(t, "-") {
		return nil, invalid("RubyGems", v, "empty segment")
	}
	t = strings.ReplaceAll(t, "-", ".pre.")
	var segs []gemSeg
	for i := 0; i < len(t); {
		switch {
		case isDigit(t[i]):
			j := i
			for i < len(t) && isDigit(t[i]) {
				i++
			}
			segs = append(segs, gemSeg{num: true, s: strings.TrimLeft(t[j:i], "0")})
		case isAlpha(t[i]):
			j := i
			for i < len(t) && isAlpha(t[i]) {
				i++
			}
			segs = append(segs, gemSeg{s: t[j:i]})
		default:
			i++
		}
	}
	// Drop trailing zeros of the release part and of the pre-release part.
	split := len(segs)
	for k, s := range segs {
		if !s.num {
			split = k
			break
		}
	}
	trim := func(p []gemSeg) []gemSeg {
		for len(p) > 0 && p[len(p)-1].num && p[len(p)-1].s == "" {
			p = p[:len(p)-1]
		}
		return p
	}
	rel := trim(append([]gemSeg(nil), segs[:split]...))
	pre := trim(append([]gemSeg(nil), segs[split:]...))
	return append(rel, pre...), nil
}

// Gem compares two RubyGems versions as Gem::Version#<=> does: segment by
// segment, a missing segment read as 0, numbers newer than letters (a
// letter segment makes a pre-release).
func Gem(a, b string) (int, error) {
	x, err := parseGem(a)
	if err != nil {
		return 0, err
	}
	y, err := parseGem(b)
	if err != nil {
		return 0, err
	}
	zero := gemSeg{num: true}
	for i := 0; i < len(x) || i < len(y); i++ {
		l, r := zero, zero
		if i < len(x) {
			l = x[i]
		}
		if i < len(y) {
			r = y[i]
		}
		switch {
		case l == r:
			continue
		case !l.num && r.num:
			return -1, nil
		case l.num && !r.num:
			return 1, nil
		case l.num:
			return cmpDigits(l.s, r.s), nil
		}
		return strings.Compare(l.s, r.s), nil
	}
	return 0, nil
}
