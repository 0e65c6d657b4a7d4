package version

import (
	"regexp"
	"strings"
)

// pep440Re is PEP 440's appendix regular expression for any valid version,
// normalised forms and the accepted spellings alike.
var pep440Re = regexp.MustCompile(`(?i)^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

var pep440Group = func() map[string]int {
	m := map[string]int{}
	for i, n := range pep440Re.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

type pep440Version struct {
	epoch   string
	release []string
	// pre: phase 0 a, 1 b, 2 rc; hasPre false when none.
	hasPre  bool
	prePh   int
	preN    string
	hasPost bool
	postN   string
	hasDev  bool
	devN    string
	local   []string
}

func parsePEP440(v string) (pep440Version, error) {
	var p pep440Version
	if len(v) > 256 {
		return p, invalid("PEP 440", v[:32]+"...", "too long")
	}
	m := pep440Re.FindStringSubmatch(v)
	if m == nil {
		return p, invalid("PEP 440", v, "it does not follow PEP 440")
	}
	g := func(n string) string { return m[pep440Group[n]] }
	p.epoch = g("epoch")
	p.release = strings.Split(g("release"), ".")
	for len(p.release) > 1 && strings.TrimLeft(p.release[len(p.release)-1], "0") == "" {
		p.release = p.release[:len(p.release)-1]
	}
	if g("pre") != "" {
		p.hasPre = true
		switch strings.ToLower(g("pre_l")) {
		case "a", "alpha":
			p.prePh = 0
		case "b", "beta":
			p.prePh = 1
		default:
			p.prePh = 2
		}
		p.preN = g("pre_n")
	}
	if g("post") != "" {
		p.hasPost = true
		p.postN = g("post_n1") + g("post_n2")
	}
	if g("dev") != "" {
		p.hasDev = true
		p.devN = g("dev_n")
	}
	if l := g("local"); l != "" {
		p.local = strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	return p, nil
}

// PEP440 compares two Python versions by PEP 440: epoch, release (trailing
// zeros ignored), then dev < pre < final < post, then the local version.
func PEP440(a, b string) (int, error) {
	x, err := parsePEP440(a)
	if err != nil {
		return 0, err
	}
	y, err := parsePEP440(b)
	if err != nil {
		return 0, err
	}
	if c := cmpDigits(x.epoch, y.epoch); c != 0 {
		return c, nil
	}
	for i := 0; i < len(x.release) || i < len(y.release); i++ {
		xa, ya := "0", "0"
		if i < len(x.release) {
			xa = x.release[i]
		}
		if i < len(y.release) {
			ya = y.release[i]
		}
		if c := cmpDigits(xa, ya); c != 0 {
			return c, nil
		}
	}
	if c := cmpPre(x, y); c != 0 {
		return c, nil
	}
	// Post: none is older than any post release.
	if c := cmpOptional(x.hasPost, x.postN, y.hasPost, y.postN, -1); c != 0 {
		return c, nil
	}
	// Dev: none is newer than any dev release.
	if c := cmpOptional(x.hasDev, x.devN, y.hasDev, y.devN, 1); c != 0 {
		return c, nil
	}
	return cmpLocal(x.local, y.local), nil
}

// preKey ranks the pre-release part: a version with only a dev part
// (1.0.dev1) sorts before every pre-release, a final one after them.
func preKey(p pep440Version) (rank int, phase int, n string) {
	switch {
	case p.hasPre:
		return 1, p.prePh, p.preN
	case p.hasDev && !p.hasPost:
		return 0, 0, ""
	}
	return 2, 0, ""
}

func cmpPre(x, y pep440Version) int {
	rx, px, nx := preKey(x)
	ry, py, ny := preKey(y)
	if rx != ry {
		return sign(rx - ry)
	}
	if px != py {
		return sign(px - py)
	}
	return cmpDigits(nx, ny)
}

// cmpOptional compares two optional numbers; absent sorts as missing
// (-1: older than any, 1: newer than any).
func cmpOptional(hx bool, nx string, hy bool, ny string, missing int) int {
	switch {
	case hx && hy:
		return cmpDigits(nx, ny)
	case hx:
		return -missing
	case hy:
		return missing
	}
	return 0
}

// cmpLocal compares local version labels: none is older than any,
// numeric segments are newer than alphanumeric ones and compare as
// numbers, and a longer label is newer when the shorter is its prefix.
func cmpLocal(x, y []string) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		dx, dy := allDigits(x[i]), allDigits(y[i])
		var c int
		switch {
		case dx && dy:
			c = cmpDigits(x[i], y[i])
		case dx:
			c = 1
		case dy:
			c = -1
		default:
			c = strings.Compare(x[i], y[i])
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(x) - len(y))
}
