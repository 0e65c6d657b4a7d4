package analyze

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
	"github.com/forensic-tools/forensic/shared/collect"
)

// textListed is how many files of each kind a stage lists in the text
// report; -o json has them all.
const textListed = 10

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// WriteText writes the report for people on a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("input:     %s (%s %s, %s)\n", r.Input.Path, r.Input.Kind, r.Input.Format, collect.HumanBytes(r.Input.Size))
	if bu := r.Bundle; bu != nil {
		p("bundle:    %s\n", bu.Verdict)
		if bu.Collected != nil {
			p("collected: %s", fmtTime(bu.Collected))
			if bu.Examiner != "" {
				p(" by %s", bu.Examiner)
			}
			if bu.Case != "" {
				p(", case %s", bu.Case)
			}
			if bu.Target != "" {
				p(", target %s", bu.Target)
			}
			p("\n")
		}
	}
	if im := r.Image; im != nil {
		name := strings.Join(im.Tags, ", ")
		if name == "" {
			name = "(untagged)"
		}
		p("image:     %s %s, created %s, %s/%s, %d layers", name, shortDigest(im.ID), fmtTime(im.Created), im.OS, im.Architecture, im.Layers)
		if r.Input.Layout != "" {
			p(", %s layout", r.Input.Layout)
		}
		p("\n")
		if len(im.Entrypoint)+len(im.Cmd) > 0 {
			p("runs:      %s\n", oneLine(strings.Join(append(append([]string{}, im.Entrypoint...), im.Cmd...), " "), 100))
		}
		if im.User != "" {
			p("user:      %s\n", im.User)
		}
	}
	if r.OS != nil {
		p("os:        %s\n", nonEmpty(r.OS.PrettyName, r.OS.ID+" "+r.OS.VersionID))
	}
	if c := r.Container; c != nil && (c.ID != "" || c.Started != nil) {
		p("container: %s %.12s, created %s, started %s; diff: %d added, %d changed, %d deleted\n", c.Name, c.ID, fmtTime(c.Created), fmtTime(c.Started), c.Added, c.Changed, c.Deleted)
	}
	if c := r.Container; c != nil {
		for _, l := range c.Logs {
			p("log:       %s: %d lines, %s .. %s\n", l.Path, l.Lines, fmtTime(l.First), fmtTime(l.Last))
		}
	}
	for _, n := range r.Notes {
		p("NOTE       %s\n", n)
	}
	for _, pr := range r.Problems {
		p("PROBLEM    %s\n", pr)
	}

	writeMemory(&b, r)
	p("\nTIMELINE\n")
	flagged := map[int]map[string]bool{}
	for _, f := range r.Findings {
		if f.Stage != nil {
			if flagged[*f.Stage] == nil {
				flagged[*f.Stage] = map[string]bool{}
			}
			flagged[*f.Stage][f.Path] = true
		}
	}
	for _, s := range r.Timeline {
		writeStage(&b, s, flagged[s.Index])
	}
	if len(r.Timeline) == 0 {
		p("  (nothing)\n")
	}

	var sec, other []Finding
	for _, f := range r.Findings {
		if f.Category == CategoryVulnerability {
			continue // listed under VULNERABILITIES
		}
		if f.Category == CategorySecret {
			sec = append(sec, f)
		} else {
			other = append(other, f)
		}
	}
	p("\nFINDINGS (%d)\n", len(other))
	for _, f := range other {
		writeFinding(&b, f)
	}
	p("\nSECRETS (%d)", len(sec))
	if len(sec) > 0 && sec[0].Secret != nil && sec[0].Secret.Masked {
		p(", values masked (--show-secrets shows them)")
	}
	p("\n")
	for _, f := range sec {
		writeFinding(&b, f)
	}
	p("\nPACKAGES (%d)", len(r.Packages))
	if len(r.Packages) > 0 {
		byType := map[string]int{}
		for _, pk := range r.Packages {
			byType[pk.Type]++
		}
		var types []string
		for t, n := range byType {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
		sort.Strings(types)
		p(": %s; --sbom FILE writes them as CycloneDX, -o json lists them", strings.Join(types, ", "))
	}
	p("\n")
	writeGoPrograms(&b, r.Packages)
	writeVulns(&b, r)
	var counts []string
	for _, s := range Severities {
		if n := r.Summary.Findings[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(counts) == 0 {
		counts = []string{"none"}
	}
	verdict := "complete"
	if !r.Complete {
		verdict = "INCOMPLETE (see PROBLEM lines)"
	}
	p("\nSUMMARY: %d stages, %d entries, %s read; findings: %s; analysis %s\n", r.Summary.Stages, r.Summary.Entries, collect.HumanBytes(r.Summary.Bytes), strings.Join(counts, ", "), verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

func nonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func writeStage(b *strings.Builder, s Stage, flagged map[string]bool) {
	label := s.Kind
	digest := s.DiffID
	if digest == "" {
		digest = s.Digest
	}
	fmt.Fprintf(b, "#%-3d %-20s %-10s", s.Index, fmtTime(s.Created), label)
	if s.Kind == StageContainer {
		fmt.Fprintf(b, " started %s", fmtTime(s.Started))
	}
	if digest != "" {
		fmt.Fprintf(b, " %s", shortDigest(digest))
	}
	if s.DigestCheck != "" && s.DigestCheck != "unchecked" {
		fmt.Fprintf(b, " (%s)", s.DigestCheck)
	}
	if cmd := nonEmpty(s.CreatedBy, s.Comment); cmd != "" {
		fmt.Fprintf(b, "  %s", oneLine(cmd, 90))
	}
	b.WriteString("\n")
	if s.Missing || s.Error != "" {
		fmt.Fprintf(b, "       ! %s\n", nonEmpty(s.Error, "missing"))
	}
	if s.Kind == StageStep {
		return
	}
	if s.Entries > 0 || s.Source != "" {
		fmt.Fprintf(b, "       %s: %d entries, %s", s.Source, s.Entries, collect.HumanBytes(s.Bytes))
		if s.Compression != "" {
			fmt.Fprintf(b, " (%s)", s.Compression)
		}
		if s.FilesFrom != nil {
			fmt.Fprintf(b, "; file times %s .. %s", fmtTime(s.FilesFrom), fmtTime(s.FilesTo))
		}
		fmt.Fprintf(b, "; %d added, %d changed, %d deleted", len(s.Added), len(s.Changed), len(s.Deleted))
		if s.Findings > 0 {
			fmt.Fprintf(b, "; %d findings", s.Findings)
		}
		b.WriteString("\n")
	}
	list := func(mark string, files []File) {
		files = append([]File(nil), files...)
		sort.SliceStable(files, func(i, j int) bool { return flagged[files[i].Path] && !flagged[files[j].Path] })
		for i, f := range files {
			if i == textListed {
				fmt.Fprintf(b, "       %s ... and %d more (-o json lists all)\n", mark, len(files)-textListed)
				break
			}
			fmt.Fprintf(b, "       %s %-40s %s %9s  %s", mark, f.Path, f.Mode, collect.HumanBytes(f.Size), f.MTime.Format("2006-01-02T15:04:05Z"))
			if f.Link != "" {
				fmt.Fprintf(b, "  -> %s", f.Link)
			}
			b.WriteString("\n")
		}
	}
	list("+", s.Added)
	list("~", s.Changed)
	for i, d := range s.Deleted {
		if i == textListed {
			fmt.Fprintf(b, "       - ... and %d more\n", len(s.Deleted)-textListed)
			break
		}
		fmt.Fprintf(b, "       - %-40s (%s", d.Path, d.Via)
		if d.Hidden > 0 {
			fmt.Fprintf(b, ", %d paths below", d.Hidden)
		}
		if !d.Existed {
			b.WriteString(", nothing below to delete")
		}
		if d.MTime != nil {
			fmt.Fprintf(b, ", %s", fmtTime(d.MTime))
		}
		b.WriteString(")\n")
	}
	if len(s.Newest) > 0 {
		b.WriteString("       newest files:\n")
		for i, f := range s.Newest {
			if i == textListed {
				break
			}
			fmt.Fprintf(b, "         %s  %-40s %s %9s\n", f.MTime.Format("2006-01-02T15:04:05Z"), f.Path, f.Mode, collect.HumanBytes(f.Size))
		}
	}
}

func writeFinding(b *strings.Builder, f Finding) {
	where := f.Where
	if f.Stage != nil {
		where = fmt.Sprintf("#%d %s", *f.Stage, f.Where)
	}
	fmt.Fprintf(b, "  %-8s %-22s %s\n", strings.ToUpper(string(f.Severity)), f.Rule, nonEmpty(f.Path, where))
	if f.Path != "" {
		fmt.Fprintf(b, "           in %s", where)
		if f.Status != "" {
			fmt.Fprintf(b, " (%s)", f.Status)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "           %s\n", f.Reason)
	if s := f.Secret; s != nil {
		fmt.Fprintf(b, "           value: %s", oneLine(s.Value, 100))
		if s.Fingerprint != "" {
			fmt.Fprintf(b, "  (%s)", s.Fingerprint)
		}
		b.WriteString("\n")
	}
}

// writeGoPrograms sums up the Go programs among the packages, one line
// each (at most textListed): their main package and module, Go version
// and the number of modules they were built with.
func writeGoPrograms(b *strings.Builder, pkgs []Package) {
	type program struct {
		main, version, goVersion, pkg string
		modules                       int
	}
	progs := map[string]*program{}
	var paths []string
	for _, pk := range pkgs {
		if pk.Type != "golang" {
			continue
		}
		pr := progs[pk.Path]
		if pr == nil {
			pr = &program{}
			progs[pk.Path] = pr
			paths = append(paths, pk.Path)
		}
		switch {
		case pk.Go != nil && pk.Go.Main:
			pr.main, pr.version = pk.Name, pk.Version
		case pk.Name == pkgdb.GoStdlib:
			pr.goVersion = pk.Version
			if pk.Go != nil {
				pr.pkg = pk.Go.Program
			}
		default:
			pr.modules++
		}
	}
	sort.Strings(paths)
	for i, p := range paths {
		if i == textListed {
			more := "programs"
			if len(paths)-i == 1 {
				more = "program"
			}
			fmt.Fprintf(b, "  ... and %d more Go %s (-o json lists them)\n", len(paths)-i, more)
			break
		}
		pr := progs[p]
		main := strings.TrimSpace(pr.pkg + " (no main module)")
		switch {
		case pr.main != "" && (pr.pkg == "" || pr.pkg == pr.main):
			main = pr.main + " " + pr.version
		case pr.main != "":
			main = pr.pkg + " of " + pr.main + " " + pr.version
		}
		modules := fmt.Sprintf("%d modules", pr.modules)
		if pr.modules == 1 {
			modules = "1 module"
		}
		fmt.Fprintf(b, "  Go program %s: %s, %s, %s\n", p, main, nonEmpty(pr.goVersion, "Go version unknown"), modules)
	}
}
