package version

import "strings"

// apk token kinds, in apk-tools' order: when two versions differ in the
// kind of their next token, the lower kind is the newer version, except
// that a pre-release suffix is always older.
const (
	apkDigit = iota
	apkLetter
	apkSuffix
	apkSuffixNo
	apkRevision
	apkEnd
)

// apkSuffixes in order; those before "" are pre-releases, older than the
// plain version, those after are newer.
var apkSuffixes = []string{"alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"}

type apkToken struct {
	kind int
	text string // digits, the letter, or the suffix name
	lead bool   // a dotted component, not the first number
}

// parseAPK splits an Alpine version such as "1.2.3_rc1-r4" into tokens,
// refusing what apk's version validator refuses.
func parseAPK(v string) ([]apkToken, error) {
	s := v
	if s == "" {
		return nil, invalid("Alpine", v, "empty")
	}
	var toks []apkToken
	i := 0
	num := func() string {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return s[j:i]
	}
	first := num()
	if first == "" {
		return nil, invalid("Alpine", v, "it does not start with a digit")
	}
	toks = append(toks, apkToken{kind: apkDigit, text: first})
	for i < len(s) && s[i] == '.' {
		i++
		d := num()
		if d == "" {
			return nil, invalid("Alpine", v, "a dot not followed by digits")
		}
		toks = append(toks, apkToken{kind: apkDigit, text: d, lead: true})
	}
	if i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		toks = append(toks, apkToken{kind: apkLetter, text: s[i : i+1]})
		i++
	}
	for i < len(s) && s[i] == '_' {
		i++
		j := i
		for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
			i++
		}
		name := s[j:i]
		if name == "" || indexOf(apkSuffixes, name) < 0 {
			return nil, invalid("Alpine", v, "unknown suffix _"+name)
		}
		toks = append(toks, apkToken{kind: apkSuffix, text: name})
		if d := num(); d != "" {
			toks = append(toks, apkToken{kind: apkSuffixNo, text: d})
		}
	}
	if i < len(s) && s[i] == '~' {
		// A commit hash, as in "1.0_git20240101~abc123": not ordered.
		i++
		j := i
		for i < len(s) && (isDigit(s[i]) || s[i] >= 'a' && s[i] <= 'f') {
			i++
		}
		if i == j {
			return nil, invalid("Alpine", v, "empty commit hash after ~")
		}
	}
	if strings.HasPrefix(s[i:], "-r") {
		i += 2
		d := num()
		if d == "" {
			return nil, invalid("Alpine", v, "-r not followed by digits")
		}
		toks = append(toks, apkToken{kind: apkRevision, text: d})
	}
	if i != len(s) {
		return nil, invalid("Alpine", v, "unexpected "+quoteRest(s[i:]))
	}
	return toks, nil
}

func quoteRest(s string) string {
	if len(s) > 16 {
		s = s[:16] + "..."
	}
	return "\"" + s + "\""
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// APK compares two Alpine versions as apk version -t does: numbers
// component by component (components with a leading zero compared as
// decimal fractions), then a letter, then suffixes (_alpha < _beta <
// _pre < _rc < none < _cvs < _svn < _git < _hg < _p), then -rN.
func APK(a, b string) (int, error) {
	x, err := parseAPK(a)
	if err != nil {
		return 0, err
	}
	y, err := parseAPK(b)
	if err != nil {
		return 0, err
	}
	end := apkToken{kind: apkEnd}
	for k := 0; ; k++ {
		tx, ty := end, end
		if k < len(x) {
			tx = x[k]
		}
		if k < len(y) {
			ty = y[k]
		}
		if tx.kind == apkEnd && ty.kind == apkEnd {
			return 0, nil
		}
		if tx.kind == ty.kind {
			var c int
			switch tx.kind {
			case apkDigit:
				if tx.lead && (tx.text[0] == '0' || ty.text[0] == '0') {
					c = strings.Compare(strings.TrimRight(tx.text, "0"), strings.TrimRight(ty.text, "0"))
				} else {
					c = cmpDigits(tx.text, ty.text)
				}
			case apkSuffix:
				c = sign(indexOf(apkSuffixes, tx.text) - indexOf(apkSuffixes, ty.text))
			case apkLetter:
				c = strings.Compare(tx.text, ty.text)
			default:
				c = cmpDigits(tx.text, ty.text)
			}
			if c != 0 {
				return c, nil
			}
			continue
		}
		if tx.kind == apkSuffix && indexOf(apkSuffixes, tx.text) < indexOf(apkSuffixes, "") {
			return -1, nil
		}
		if ty.kind == apkSuffix && indexOf(apkSuffixes, ty.text) < indexOf(apkSuffixes, "") {
			return 1, nil
		}
		if tx.kind > ty.kind {
			return -1, nil
		}
		return 1, nil
	}
}
