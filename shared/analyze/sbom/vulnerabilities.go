package sbom

import "fmt"

// Vulnerability is a CycloneDX 1.5 vulnerability: one known
// vulnerability of the components it affects.
type Vulnerability struct {
	BOMRef         string     `json:"bom-ref,omitempty"`
	ID             string     `json:"id"`
	Source         *Source    `json:"source,omitempty"`
	References     []VulnRef  `json:"references,omitempty"`
	Ratings        []Rating   `json:"ratings,omitempty"`
	Description    string     `json:"description,omitempty"`
	Recommendation string     `json:"recommendation,omitempty"`
	Published      string     `json:"published,omitempty"`
	Updated        string     `json:"updated,omitempty"`
	Affects        []Affect   `json:"affects"`
	Properties     []Property `json:"properties,omitempty"`
	Advisories     []Advisory `json:"advisories,omitempty"`
}

// Source names where a vulnerability is described.
type Source struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// VulnRef is another identifier of the same vulnerability (an alias).
type VulnRef struct {
	ID     string `json:"id"`
	Source Source `json:"source"`
}

// Rating is a severity rating: a CVSS vector and score, or a word.
type Rating struct {
	Source   *Source  `json:"source,omitempty"`
	Score    *float64 `json:"score,omitempty"`
	Severity string   `json:"severity,omitempty"`
	// Method is CVSSv2, CVSSv3, CVSSv31, CVSSv4 or other.
	Method string `json:"method,omitempty"`
	Vector string `json:"vector,omitempty"`
}

// Affect names an affected component by bom-ref, with its version.
type Affect struct {
	Ref      string          `json:"ref"`
	Versions []AffectVersion `json:"versions,omitempty"`
}

// AffectVersion is a version of an affected component and its status.
type AffectVersion struct {
	Version string `json:"version"`
	Status  string `json:"status"`
}

// Advisory is a link to an advisory.
type Advisory struct {
	URL string `json:"url"`
}

// AddVulnerability adds v as affecting the package given to New at index
// pkg (its installed version affected).
func (b *BOM) AddVulnerability(pkg int, version string, v Vulnerability) error {
	if pkg < 0 || pkg >= len(b.refs) {
		return fmt.Errorf("vulnerability %s names package %d of %d", v.ID, pkg, len(b.refs))
	}
	v.Affects = []Affect{{Ref: b.refs[pkg], Versions: []AffectVersion{{Version: version, Status: "affected"}}}}
	if v.BOMRef == "" {
		v.BOMRef = fmt.Sprintf("vuln:%s:%d", v.ID, len(b.Vulnerabilities)+1)
	}
	b.Vulnerabilities = append(b.Vulnerabilities, v)
	return nil
}
