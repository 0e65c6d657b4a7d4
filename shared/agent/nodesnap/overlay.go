package nodesnap

import (
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/fsnap"
)

// overlayOpts are the paths of an overlay mount's super options.
type overlayOpts struct {
	upper, work string
	lowers      []string
}

// overlayOptions parses the super options of an overlay mount as
// mountinfo shows them: comma-separated, with \NNN escapes for special
// characters; lowerdir=a:b:c (":" in a path escaped as "\:") or, from
// the new mount API, one lowerdir+= (and datadir+=) per layer.
func overlayOptions(s string) overlayOpts {
	var o overlayOpts
	for _, opt := range splitEscaped(s, ',') {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "upperdir":
			o.upper = unescape(v)
		case "workdir":
			o.work = unescape(v)
		case "lowerdir":
			for _, l := range splitEscaped(fsnap.UnescapeOctal(v), ':') {
				o.lowers = append(o.lowers, strings.ReplaceAll(l, `\:`, ":"))
			}
		case "lowerdir+", "datadir+":
			o.lowers = append(o.lowers, unescape(v))
		}
	}
	return o
}

func unescape(s string) string { return strings.ReplaceAll(fsnap.UnescapeOctal(s), `\:`, ":") }

// splitEscaped splits s at sep when sep is not preceded by a backslash.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
