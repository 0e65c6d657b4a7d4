package analyze

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/sbom"
	"github.com/forensic-tools/forensic/shared/analyze/vulns"
)

// CategoryVulnerability is the category of known vulnerabilities of
// installed packages (analyze --vulns).
const CategoryVulnerability = "vulnerability"

// ruleKnownVulnerability is the rule of every vulnerability finding.
const ruleKnownVulnerability = "known-vulnerability"

// Vulnerabilities is what matching the packages against an OSV database
// found, and which database it was.
type Vulnerabilities struct {
	// Database is the identity of the database: each file's SHA-256 and
	// newest modified time, so that a later reader knows what the answer
	// was based on.
	Database VulnDatabase `json:"database"`
	// Findings are sorted by severity, then CVSS score.
	Findings  []Vulnerability  `json:"findings"`
	NotJudged []vulns.Unjudged `json:"not_judged,omitempty"`
	// Notes say what was skipped: bad records, versions no ordering
	// accepts.
	Notes []string `json:"notes,omitempty"`
}

// VulnDatabase identifies the OSV database files.
type VulnDatabase struct {
	Files   []vulns.File `json:"files"`
	Records int          `json:"records"`
}

// Vulnerability is a known vulnerability of an installed package, with
// where the package was found.
type Vulnerability struct {
	vulns.Finding
	PURL string `json:"purl,omitempty"`
	// Path is the package database or manifest that lists the package.
	Path string `json:"path,omitempty"`
	// Layer and Stage are the layer holding the package's database.
	Layer string `json:"layer,omitempty"`
	Stage *int   `json:"stage,omitempty"`
}

// MatchVulnerabilities matches the report's packages against db and adds
// the known vulnerabilities to the report: in Vulnerabilities, and each as
// a finding of rule known-vulnerability, so that --fail-on, the summary
// and the timeline count them.
func (r *Report) MatchVulnerabilities(ctx context.Context, db *vulns.DB) error {
	pkgs := make([]vulns.Package, len(r.Packages))
	for i, p := range r.Packages {
		pkgs[i] = vulns.Package{Type: p.Type, Name: p.Name, Version: p.Version, Source: p.Source, PURL: p.PURL}
	}
	var rel vulns.Release
	if r.OS != nil {
		rel = vulns.Release{ID: r.OS.ID, VersionID: r.OS.VersionID}
	}
	res, err := vulns.Match(ctx, db, pkgs, rel)
	if err != nil {
		return fmt.Errorf("matching the packages against the OSV database: %w", err)
	}
	v := &Vulnerabilities{Database: VulnDatabase{Files: res.Files, Records: res.Records},
		Findings: make([]Vulnerability, 0, len(res.Findings)), NotJudged: res.Unjudged, Notes: res.Notes}
	for _, f := range res.Findings {
		p := r.Packages[f.Package]
		vf := Vulnerability{Finding: f, PURL: p.PURL, Path: p.Path, Layer: p.Layer, Stage: p.Stage}
		v.Findings = append(v.Findings, vf)
		r.Findings = append(r.Findings, Finding{Rule: ruleKnownVulnerability, Severity: findingSeverity(f.Severity),
			Path: p.Path, Stage: p.Stage, Where: vulnWhere(p), Reason: vulnReason(&vf)}.ruled())
	}
	r.Vulnerabilities = v
	(&analysis{rep: r}).finish()
	return nil
}

// findingSeverity maps a vulnerability's rating onto the finding scale:
// a record without any rating counts as medium, so that --fail-on medium
// catches it and --fail-on high does not.
func findingSeverity(s string) Severity {
	switch s {
	case vulns.SevCritical:
		return Critical
	case vulns.SevHigh:
		return High
	case vulns.SevLow:
		return Low
	case vulns.SevNone:
		return Info
	}
	return Medium
}

func vulnWhere(p Package) string {
	if p.Layer != "" {
		return "package " + p.Name + " " + p.Version + " of layer " + shortDigest(p.Layer)
	}
	return "package " + p.Name + " " + p.Version
}

func vulnReason(v *Vulnerability) string {
	var b strings.Builder
	b.WriteString(v.ID)
	if len(v.Aliases) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(v.Aliases, ", "))
	}
	fmt.Fprintf(&b, " in %s %s", v.Name, v.Version)
	if s := v.Score(); s >= 0 {
		fmt.Fprintf(&b, ", CVSS %.1f", s)
	} else if v.Severity == vulns.SevUnknown {
		b.WriteString(", severity not rated by the record")
	}
	if v.Fixed != "" {
		fmt.Fprintf(&b, ", fixed in %s", v.Fixed)
	} else {
		b.WriteString(", no fixed version known")
	}
	if v.Summary != "" {
		b.WriteString(": " + oneLine(v.Summary, 120))
	}
	return b.String()
}

// writeVulns writes the VULNERABILITIES section of the text report.
func writeVulns(b *strings.Builder, r *Report) {
	v := r.Vulnerabilities
	if v == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\nVULNERABILITIES (%d) from %d OSV records\n", len(v.Findings), v.Database.Records)
	for _, f := range v.Database.Files {
		p("  database %s sha256:%s, %d records, newest modified %s\n", f.Path, f.SHA256, f.Records, fmtTime(f.Newest))
	}
	for _, f := range v.Findings {
		sev := strings.ToUpper(f.Severity)
		if s := f.Score(); s >= 0 {
			sev += fmt.Sprintf(" %.1f", s)
		}
		fixed := f.Fixed
		if fixed == "" {
			fixed = "(no fix known)"
		}
		p("  %-13s %-22s %s %s -> %s", sev, f.ID, f.Name, f.Version, fixed)
		if f.Stage != nil {
			p("  [layer #%d %s]", *f.Stage, shortDigest(f.Layer))
		}
		p("\n")
		if len(f.Aliases) > 0 {
			p("      aliases: %s\n", strings.Join(f.Aliases, ", "))
		}
		if f.Summary != "" {
			p("      %s\n", oneLine(f.Summary, 100))
		}
		for _, c := range f.CVSS {
			p("      CVSS %s %s", c.Version, c.Vector)
			if c.Score != nil {
				p(" (%.1f)", *c.Score)
			}
			p("\n")
		}
	}
	for _, u := range v.NotJudged {
		p("  NOT JUDGED    %-22s %s %s: %s\n", u.ID, u.Name, u.Version, u.Reason)
	}
	for _, n := range v.Notes {
		p("  NOTE %s\n", n)
	}
}

// SBOMVulnerabilities are the report's vulnerabilities in CycloneDX form,
// each with the index of its package among the report's packages.
func (r *Report) sbomVulnerabilities(b *sbom.BOM) error {
	if r.Vulnerabilities == nil {
		return nil
	}
	for _, f := range r.Vulnerabilities.Findings {
		v := sbom.Vulnerability{ID: f.ID, Source: &sbom.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + f.ID},
			Description: f.Summary}
		for _, a := range f.Aliases {
			v.References = append(v.References, sbom.VulnRef{ID: a, Source: sbom.Source{Name: aliasSource(a)}})
		}
		for _, c := range f.CVSS {
			method := map[string]string{"2.0": "CVSSv2", "3.0": "CVSSv3", "3.1": "CVSSv31", "4.0": "CVSSv4"}[c.Version]
			if method == "" {
				method = "other"
			}
			rt := sbom.Rating{Score: c.Score, Method: method, Vector: c.Vector}
			if c.Score != nil {
				rt.Severity = vulns.RatingOf(*c.Score)
			}
			v.Ratings = append(v.Ratings, rt)
		}
		if len(f.CVSS) == 0 || f.Score() < 0 {
			v.Ratings = append(v.Ratings, sbom.Rating{Severity: f.Severity, Method: "other"})
		}
		if f.Fixed != "" {
			v.Recommendation = "upgrade " + f.Name + " to " + f.Fixed + " or later"
		}
		if f.Published != nil {
			v.Published = f.Published.UTC().Format(time.RFC3339)
		}
		if f.Modified != nil {
			v.Updated = f.Modified.UTC().Format(time.RFC3339)
		}
		if f.Advisory != "" {
			v.Advisories = []sbom.Advisory{{URL: f.Advisory}}
		}
		v.Properties = []sbom.Property{{Name: "forensic:osv-database", Value: f.Database}}
		if err := b.AddVulnerability(f.Package, f.Version, v); err != nil {
			return err
		}
	}
	return nil
}

func aliasSource(id string) string {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return "NVD"
	case strings.HasPrefix(id, "GHSA-"):
		return "GitHub"
	}
	return "OSV"
}

// htmlVulns is the Vulnerabilities section's data for the HTML template.
func htmlVulnSeverity(s string) template.CSS {
	return template.CSS(sevColor(findingSeverity(s)))
}
