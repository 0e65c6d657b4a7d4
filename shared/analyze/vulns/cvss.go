package vulns

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CVSS is a record's CVSS vector and the base score: computed from the
// vector for CVSS v3.0 and v3.1, as the record gives it otherwise.
type CVSS struct {
	// Version is "2.0", "3.0", "3.1" or "4.0".
	Version string `json:"version"`
	Vector  string `json:"vector"`
	// Score is the base score; nil when it is neither computed nor given.
	Score *float64 `json:"score,omitempty"`
	// Computed is true when Score was computed here from the vector.
	Computed bool `json:"computed,omitempty"`
}

// Severities of vulnerabilities, most urgent first; Unknown when the
// record gives neither a CVSS v3 vector nor a severity word.
const (
	SevCritical = "critical"
	SevHigh     = "high"
	SevMedium   = "medium"
	SevLow      = "low"
	SevNone     = "none"
	SevUnknown  = "unknown"
)

// SeverityRank orders the severities: critical 5 down to unknown 0.
func SeverityRank(s string) int {
	switch s {
	case SevCritical:
		return 5
	case SevHigh:
		return 4
	case SevMedium:
		return 3
	case SevLow:
		return 2
	case SevNone:
		return 1
	}
	return 0
}

// RatingOf is CVSS v3's qualitative rating of a score.
func RatingOf(score float64) string {
	switch {
	case score >= 9:
		return SevCritical
	case score >= 7:
		return SevHigh
	case score >= 4:
		return SevMedium
	case score > 0:
		return SevLow
	}
	return SevNone
}

var cvss3Weights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"PR": {"N": 0.85, "L": 0.62, "H": 0.27},
	"UI": {"N": 0.85, "R": 0.62},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

// CVSS3Score computes the base score of a CVSS v3.0 or v3.1 vector, as
// the specification's section 7.1 formulas say (with v3.1's Roundup for
// v3.1 vectors, v3.0's for v3.0 ones).
func CVSS3Score(vector string) (float64, string, error) {
	parts := strings.Split(vector, "/")
	if len(parts) == 0 || (parts[0] != "CVSS:3.0" && parts[0] != "CVSS:3.1") {
		return 0, "", fmt.Errorf("%q is not a CVSS v3 vector", vector)
	}
	ver := strings.TrimPrefix(parts[0], "CVSS:")
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, "", fmt.Errorf("CVSS vector %q: %q is not METRIC:VALUE", vector, p)
		}
		if _, dup := m[k]; dup {
			return 0, "", fmt.Errorf("CVSS vector %q: %s given twice", vector, k)
		}
		m[k] = v
	}
	w := map[string]float64{}
	for k, vals := range cvss3Weights {
		x, ok := vals[m[k]]
		if !ok {
			return 0, "", fmt.Errorf("CVSS vector %q: base metric %s missing or invalid", vector, k)
		}
		w[k] = x
	}
	changed := false
	switch m["S"] {
	case "U":
	case "C":
		changed = true
		w["PR"] = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}[m["PR"]]
	default:
		return 0, "", fmt.Errorf("CVSS vector %q: base metric S missing or invalid", vector)
	}
	iss := 1 - (1-w["C"])*(1-w["I"])*(1-w["A"])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploit := 8.22 * w["AV"] * w["AC"] * w["PR"] * w["UI"]
	if impact <= 0 {
		return 0, ver, nil
	}
	roundup := roundup31
	if ver == "3.0" {
		roundup = func(x float64) float64 { return math.Ceil(x*10) / 10 }
	}
	if changed {
		return roundup(math.Min(1.08*(impact+exploit), 10)), ver, nil
	}
	return roundup(math.Min(impact+exploit, 10)), ver, nil
}

// roundup31 is CVSS v3.1's Roundup (Appendix A), free of floating-point
// surprises such as 4.000000001 rounding up to 4.1.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// parseCVSS reads one OSV severity entry.
func parseCVSS(s Severity) (*CVSS, error) {
	c := &CVSS{Vector: s.Score}
	switch s.Type {
	case "CVSS_V3":
		score, ver, err := CVSS3Score(s.Score)
		if err != nil {
			return nil, err
		}
		c.Version, c.Score, c.Computed = ver, &score, true
	case "CVSS_V4":
		c.Version = "4.0"
	case "CVSS_V2":
		c.Version = "2.0"
	default:
		return nil, nil
	}
	return c, nil
}

// wordSeverity reads a severity word ("HIGH", "Moderate", "important")
// into a rating; "" when it is none.
func wordSeverity(w string) string {
	switch strings.ToLower(strings.TrimSpace(w)) {
	case "critical":
		return SevCritical
	case "high", "important":
		return SevHigh
	case "medium", "moderate":
		return SevMedium
	case "low", "negligible", "unimportant":
		return SevLow
	}
	return ""
}

// ScoreText is the score with one decimal, "" when there is none.
func (c CVSS) ScoreText() string {
	if c.Score == nil {
		return ""
	}
	return strconv.FormatFloat(*c.Score, 'f', 1, 64)
}
