package vulns

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/vulns/version"
)

// Finding is one known vulnerability of one installed package.
type Finding struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Severity is critical, high, medium, low, none or unknown: from the
	// CVSS v3 score when the record has a vector, else from the record's
	// severity word.
	Severity string `json:"severity"`
	CVSS     []CVSS `json:"cvss,omitempty"`
	// Package is the index of the package in the list given to Match.
	Package   int    `json:"-"`
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"package"`
	Version   string `json:"installed"`
	// Fixed is the first fixed version above the installed one; empty
	// when the record knows no fix.
	Fixed     string     `json:"fixed,omitempty"`
	Modified  *time.Time `json:"modified,omitempty"`
	Published *time.Time `json:"published,omitempty"`
	// Advisory is the record's first advisory link, or its first link.
	Advisory string `json:"advisory,omitempty"`
	// Database is the file the record was read from.
	Database string `json:"database"`
}

// Score is the finding's highest base score, -1 when it has none.
func (f *Finding) Score() float64 {
	best := -1.0
	for _, c := range f.CVSS {
		if c.Score != nil && *c.Score > best {
			best = *c.Score
		}
	}
	return best
}

// Unjudged is a record that names an installed package but whose affected
// versions could not be judged: GIT ranges name commits, not versions.
type Unjudged struct {
	ID      string `json:"id"`
	Package int    `json:"-"`
	Name    string `json:"package"`
	Version string `json:"installed"`
	Reason  string `json:"reason"`
}

// Result is the outcome of Match.
type Result struct {
	Files    []File     `json:"files"`
	Records  int        `json:"records"`
	Findings []Finding  `json:"findings"`
	Unjudged []Unjudged `json:"not_judged,omitempty"`
	// Notes say what was skipped: bad records, versions no ordering
	// accepts, records for a release the image does not name.
	Notes []string `json:"notes,omitempty"`
}

// maxNotes bounds the notes of one kind.
const maxNotes = 20

type matcher struct {
	pkgs    []Package
	targets []target
	valid   []bool
	byKey   map[string][]int
	byPURL  map[string][]int
	res     *Result
	seen    map[string]int // package index + ID -> finding index
	bad     int
	badOrd  int
	noRel   int
	skipped map[string]int
}

// Match matches the packages against every record of the database. The
// release is the image's distribution, for the records of Debian, Alpine
// and the other distributions that name one. Findings are sorted by
// severity, then score, then package, then ID.
func Match(ctx context.Context, db *DB, pkgs []Package, rel Release) (*Result, error) {
	m := &matcher{pkgs: pkgs, byKey: map[string][]int{}, byPURL: map[string][]int{}, res: &Result{Findings: []Finding{}},
		seen: map[string]int{}, targets: make([]target, len(pkgs)), valid: make([]bool, len(pkgs))}
	m.index(rel)
	err := db.each(ctx, m.relevant, m.record, func(fi *File, entry string, err error) {
		m.note(&m.bad, "OSV database %s: %s skipped: %v", fi.Path, entry, err)
	})
	if err != nil {
		return nil, err
	}
	m.res.Files = db.Files()
	for _, f := range m.res.Files {
		m.res.Records += f.Records
	}
	m.mergeAliases()
	r := m.res
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := &r.Findings[i], &r.Findings[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if sa, sb := a.Score(), b.Score(); sa != sb {
			return sa > sb
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	sort.SliceStable(r.Unjudged, func(i, j int) bool {
		if r.Unjudged[i].Name != r.Unjudged[j].Name {
			return r.Unjudged[i].Name < r.Unjudged[j].Name
		}
		return r.Unjudged[i].ID < r.Unjudged[j].ID
	})
	for _, c := range []struct {
		n    int
		what string
	}{{m.bad, "bad records skipped"}, {m.badOrd, "packages or record versions no ordering accepts"}} {
		if c.n > maxNotes {
			r.Notes = append(r.Notes, fmt.Sprintf("%d more %s", c.n-maxNotes, c.what))
		}
	}
	if m.noRel > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d records name a distribution release, but the image's os-release names no release of their distribution: they were not matched", m.noRel))
	}
	return r, nil
}

func (m *matcher) note(count *int, format string, args ...any) {
	*count++
	if *count <= maxNotes {
		m.res.Notes = append(m.res.Notes, fmt.Sprintf(format, args...))
	}
}

// index looks up each package's ecosystem and name, and checks its
// version is one its ecosystem's ordering accepts.
func (m *matcher) index(rel Release) {
	for i, p := range m.pkgs {
		t, ok := targetOf(p, rel)
		if !ok {
			continue
		}
		m.targets[i] = t
		k := keyOf(t.ecosystem, t.name)
		m.byKey[k] = append(m.byKey[k], i)
		if p.PURL != "" {
			b := purlBase(p.PURL)
			m.byPURL[b] = append(m.byPURL[b], i)
		}
		cmp, err := version.For(t.ecosystem)
		if err == nil {
			_, err = cmp(p.Version, p.Version)
		}
		if err != nil {
			m.note(&m.badOrd, "%s %s: %v: matched by versions lists only", p.Name, p.Version, err)
			continue
		}
		m.valid[i] = true
	}
}

// relevant tells whether a record names a package of the image, by
// ecosystem and name or by purl. It only reads the matcher's indexes, so
// that the workers reading records can call it at the same time.
func (m *matcher) relevant(h *header) bool {
	for _, a := range h.Affected {
		if a.Package.Ecosystem != "" && a.Package.Name != "" {
			base, _, _ := strings.Cut(a.Package.Ecosystem, ":")
			if len(m.byKey[keyOf(base, a.Package.Name)]) > 0 {
				return true
			}
		} else if len(m.byPURL[purlBase(a.Package.PURL)]) > 0 {
			return true
		}
	}
	return false
}

// record matches one record against the packages.
func (m *matcher) record(fi *File, r *Record) {
	if r.Withdrawn != nil {
		return
	}
	for ai := range r.Affected {
		a := &r.Affected[ai]
		var cands []int
		if a.Package.Ecosystem != "" && a.Package.Name != "" {
			base, _, _ := strings.Cut(a.Package.Ecosystem, ":")
			cands = m.byKey[keyOf(base, a.Package.Name)]
		} else {
			cands = m.byPURL[purlBase(a.Package.PURL)]
		}
		for _, i := range cands {
			t := m.targets[i]
			if a.Package.Ecosystem != "" {
				ok, noRel := ecosystemMatches(a.Package.Ecosystem, t)
				if noRel {
					m.noRel++
				}
				if !ok {
					continue
				}
			}
			m.judge(fi, r, a, i, t)
		}
	}
}

func (m *matcher) judge(fi *File, r *Record, a *Affected, i int, t target) {
	p := m.pkgs[i]
	cmp, _ := version.For(t.ecosystem)
	affected, judged := false, false
	fixed := ""
	if len(a.Versions) > 0 {
		judged = true
		if listed(a.Versions, p.Version, cmp, m.valid[i]) {
			affected = true
		}
	}
	git := false
	for _, rg := range a.Ranges {
		if rg.Type == RangeGit {
			git = true
			continue
		}
		if !m.valid[i] {
			continue
		}
		c := cmp
		if rg.Type == RangeSemVer {
			c = version.SemVer
			if t.ecosystem == "Go" {
				c = version.Go
			}
		}
		in, fix, err := inRange(c, rg.Events, p.Version)
		if err != nil {
			m.note(&m.badOrd, "%s: range of %s skipped: %v", r.ID, a.Package.Name, err)
			continue
		}
		judged = true
		if in {
			affected = true
			if fixed == "" {
				fixed = fix
			}
		}
	}
	if len(a.Ranges) == 0 && len(a.Versions) == 0 {
		// The schema's reading of an entry with neither: every version.
		judged, affected = true, true
	}
	if !judged {
		if git {
			m.res.Unjudged = append(m.res.Unjudged, Unjudged{ID: r.ID, Package: i, Name: p.Name, Version: p.Version,
				Reason: "the record gives only GIT ranges (commits), no versions to compare the installed one with"})
		}
		return
	}
	if !affected {
		return
	}
	key := fmt.Sprintf("%d\x00%s", i, r.ID)
	if _, dup := m.seen[key]; dup {
		return
	}
	m.seen[key] = len(m.res.Findings)
	f := Finding{ID: r.ID, Aliases: slices.Clone(r.Aliases), Summary: summaryOf(r), Package: i, Ecosystem: a.Package.Ecosystem,
		Name: p.Name, Version: p.Version, Fixed: fixed, Published: r.Published, Database: fi.Path}
	if f.Ecosystem == "" {
		f.Ecosystem = t.ecosystem
	}
	if !r.Modified.IsZero() {
		mod := r.Modified.UTC()
		f.Modified = &mod
	}
	f.CVSS, f.Severity = severityOf(r, a)
	f.Advisory = advisoryOf(r)
	m.res.Findings = append(m.res.Findings, f)
}

// listed tells whether v is in an OSV versions list: the same string, or
// a version its ecosystem's ordering says is equal.
func listed(list []string, v string, cmp version.Compare, ordered bool) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	if !ordered {
		return false
	}
	for _, x := range list {
		if c, err := cmp(x, v); err == nil && c == 0 {
			return true
		}
	}
	return false
}

// inRange evaluates an ECOSYSTEM or SEMVER range as the OSV schema's
// evaluation algorithm does: events sorted by version ("0" first), the
// version affected after an introduced event at or below it, and no more
// after a fixed event at or below it, a last_affected one below it, or a
// limit at or below it. fixed is the first fixed version above v.
func inRange(cmp version.Compare, events []Event, v string) (in bool, fixed string, err error) {
	type ev struct {
		Event
		v string
	}
	evs := make([]ev, 0, len(events))
	for _, e := range events {
		s := e.Introduced + e.Fixed + e.LastAffected + e.Limit
		if !(e.Introduced == "0") {
			if _, err := cmp(s, s); err != nil {
				return false, "", err
			}
		}
		evs = append(evs, ev{e, s})
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].Introduced == "0" {
			return evs[j].Introduced != "0"
		}
		if evs[j].Introduced == "0" {
			return false
		}
		c, _ := cmp(evs[i].v, evs[j].v)
		return c < 0
	})
	for _, e := range evs {
		switch {
		case e.Introduced != "":
			if e.Introduced == "0" {
				in = true
			} else if c, _ := cmp(v, e.v); c >= 0 {
				in = true
			}
		case e.Fixed != "":
			if c, _ := cmp(v, e.v); c >= 0 {
				in = false
			}
		case e.LastAffected != "":
			if c, _ := cmp(v, e.v); c > 0 {
				in = false
			}
		case e.Limit != "":
			if c, _ := cmp(v, e.v); c >= 0 {
				in = false
			}
		}
	}
	if in {
		for _, e := range evs {
			if e.Fixed != "" {
				if c, _ := cmp(e.v, v); c > 0 {
					return true, e.v, nil
				}
			}
		}
	}
	return in, "", nil
}

// summaryOf is the record's summary, or the first line of its details.
func summaryOf(r *Record) string {
	s := r.Summary
	if s == "" {
		s, _, _ = strings.Cut(strings.TrimSpace(r.Details), "\n")
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func advisoryOf(r *Record) string {
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" {
			return ref.URL
		}
	}
	if len(r.References) > 0 {
		return r.References[0].URL
	}
	return ""
}

// severityOf reads the CVSS vectors of the record and of the affected
// entry, and rates the finding: by the highest CVSS v3 score, else by a
// severity word of the record or the entry, else unknown.
func severityOf(r *Record, a *Affected) ([]CVSS, string) {
	var out []CVSS
	sev, best := SevUnknown, -1.0
	for _, s := range append(slices.Clone(r.Severity), a.Severity...) {
		c, err := parseCVSS(s)
		if err != nil || c == nil {
			if s.Type == "Ubuntu" {
				if w := wordSeverity(s.Score); w != "" && sev == SevUnknown {
					sev = w
				}
			}
			if err != nil && s.Score != "" {
				out = append(out, CVSS{Version: strings.TrimPrefix(s.Type, "CVSS_V"), Vector: s.Score})
			}
			continue
		}
		if slices.ContainsFunc(out, func(x CVSS) bool { return x.Vector == c.Vector }) {
			continue
		}
		out = append(out, *c)
		if c.Score != nil && *c.Score > best {
			best = *c.Score
		}
	}
	if best >= 0 {
		return out, RatingOf(best)
	}
	if sev != SevUnknown {
		return out, sev
	}
	for _, raw := range []json.RawMessage{r.DatabaseSpecific, a.DatabaseSpecific, a.EcosystemSpecific} {
		var ds struct {
			Severity any `json:"severity"`
		}
		if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil {
			continue
		}
		if w, ok := ds.Severity.(string); ok {
			if s := wordSeverity(w); s != "" {
				return out, s
			}
		}
	}
	return out, SevUnknown
}

// mergeAliases folds findings of one package that are the same
// vulnerability under several IDs (a GHSA and a PYSEC record sharing a
// CVE alias) into the first, keeping the others as aliases.
func (m *matcher) mergeAliases() {
	fs := m.res.Findings
	names := func(f *Finding) []string { return append([]string{f.ID}, f.Aliases...) }
	var out []Finding
	for _, f := range fs {
		merged := false
		for k := range out {
			o := &out[k]
			if o.Package != f.Package {
				continue
			}
			if !slices.ContainsFunc(names(&f), func(n string) bool { return slices.Contains(names(o), n) }) {
				continue
			}
			for _, n := range names(&f) {
				if n != o.ID && !slices.Contains(o.Aliases, n) {
					o.Aliases = append(o.Aliases, n)
				}
			}
			if SeverityRank(f.Severity) > SeverityRank(o.Severity) {
				o.Severity, o.CVSS = f.Severity, f.CVSS
			}
			if o.Fixed == "" {
				o.Fixed = f.Fixed
			}
			merged = true
			break
		}
		if !merged {
			out = append(out, f)
		}
	}
	m.res.Findings = out
}
