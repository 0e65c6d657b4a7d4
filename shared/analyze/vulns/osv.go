package vulns

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record is the part of an OSV record the matcher uses.
type Record struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Published *time.Time `json:"published,omitempty"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Aliases   []string   `json:"aliases,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Details   string     `json:"details,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected,omitempty"`
	// DatabaseSpecific is read for a severity word (GitHub's "HIGH",
	// "MODERATE"...) when the record has no CVSS vector.
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
	References       []Reference     `json:"references,omitempty"`
}

// Severity is one entry of an OSV severity list: a type such as CVSS_V3
// and a score, which for CVSS is the vector.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected is one affected package of a record.
type Affected struct {
	Package           AffectedPackage `json:"package"`
	Severity          []Severity      `json:"severity,omitempty"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// AffectedPackage names a package by ecosystem and name, or by purl.
type AffectedPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a version range: events ordered by the range's type.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one event of a range; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link of a record.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Range types.
const (
	RangeEcosystem = "ECOSYSTEM"
	RangeSemVer    = "SEMVER"
	RangeGit       = "GIT"
)

// ErrNotOSV is wrapped by ParseRecord's errors.
var ErrNotOSV = errors.New("not an OSV record")

// ParseRecord reads one OSV record and checks what matching relies on:
// an id, and per affected entry a package named by ecosystem and name or
// by purl, ranges with a known type and events with exactly one field.
func ParseRecord(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotOSV, err)
	}
	if strings.TrimSpace(r.ID) == "" {
		return nil, fmt.Errorf("%w: no id", ErrNotOSV)
	}
	for i, a := range r.Affected {
		if (a.Package.Ecosystem == "" || a.Package.Name == "") && a.Package.PURL == "" {
			return nil, fmt.Errorf("%w: %s: affected[%d] names no package (ecosystem and name, or purl)", ErrNotOSV, r.ID, i)
		}
		for j, rg := range a.Ranges {
			switch rg.Type {
			case RangeEcosystem, RangeSemVer, RangeGit:
			default:
				return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d] has unknown type %q", ErrNotOSV, r.ID, i, j, rg.Type)
			}
			for k, e := range rg.Events {
				n := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d].events[%d] must have exactly one of introduced, fixed, last_affected, limit", ErrNotOSV, r.ID, i, j, k)
				}
			}
		}
	}
	return &r, nil
}
