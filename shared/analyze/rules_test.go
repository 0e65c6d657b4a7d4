package analyze

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCatalogue checks the rows themselves: one per ID, each with a known
// category and severity and a one-line reason.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		switch {
		case r.ID == "" || strings.ToLower(r.ID) != r.ID || strings.ContainsAny(r.ID, " \t"):
			t.Errorf("rule %q: an ID is lower case, without blanks", r.ID)
		case seen[r.ID]:
			t.Errorf("rule %q is in the catalogue twice", r.ID)
		}
		seen[r.ID] = true
		switch r.Category {
		case CategorySuspicious, CategorySecret, CategoryIntegrity, CategoryArchive, CategoryVulnerability:
		default:
			t.Errorf("rule %q: unknown category %q", r.ID, r.Category)
		}
		if r.Severity.Rank() < 0 || r.Severity == Info {
			t.Errorf("rule %q: severity %q is not one a finding starts from", r.ID, r.Severity)
		}
		if r.Reason == "" || strings.ContainsAny(r.Reason, "\n\r") || strings.HasSuffix(r.Reason, ".") {
			t.Errorf("rule %q: the reason is one line without a trailing period, got %q", r.ID, r.Reason)
		}
	}
}

// srcFiles positions the parsed sources, for messages.
var srcFiles = token.NewFileSet()

// goFiles parses the non-test Go files of dir.
func goFiles(t *testing.T, dir string) map[string]*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(srcFiles, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = f
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return files
}

// ruleConsts returns the string constants of files whose names start with
// prefix, by name.
func ruleConsts(files map[string]*ast.File, prefix string) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}

// TestEveryRuleCatalogued reads the sources: every Finding this package
// makes names its rule by a constant (never a string written on the
// spot) and takes its category and default severity from the catalogue
// through ruled(); every rule constant of this package, of secrets and of
// tarscan has its row, and every row its constant.
func TestEveryRuleCatalogued(t *testing.T) {
	own := goFiles(t, ".")
	for name, f := range own {
		ruled := map[*ast.CompositeLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ruled" {
					if lit, ok := sel.X.(*ast.CompositeLit); ok {
						ruled[lit] = true
					}
				}
			}
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Finding" {
				return true
			}
			pos := func(e ast.Node) string { return fmt.Sprintf("%s:%d", name, srcFiles.Position(e.Pos()).Line) }
			hasRule := false
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					t.Errorf("%s: a Finding literal names its fields", pos(el))
					continue
				}
				switch kv.Key.(*ast.Ident).Name {
				case "Rule":
					hasRule = true
					ast.Inspect(kv.Value, func(n ast.Node) bool {
						if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
							t.Errorf("%s: rule %s written on the spot: add it to the catalogue (rules.go) and use its constant", pos(b), b.Value)
						}
						return true
					})
				case "Category":
					t.Errorf("%s: the category of a finding comes from the catalogue, through ruled()", pos(kv))
				}
			}
			if hasRule && !ruled[lit] {
				t.Errorf("%s: a Finding with a rule is made with Finding{...}.ruled(), so that the catalogue gives its category", pos(lit))
			}
			return true
		})
	}

	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
	}
	used := map[string]bool{}
	for _, src := range []struct{ dir, prefix string }{{".", "rule"}, {"secrets", "Rule"}, {"tarscan", "Rule"}} {
		files := own
		if src.dir != "." {
			files = goFiles(t, src.dir)
		}
		consts := ruleConsts(files, src.prefix)
		if len(consts) == 0 {
			t.Errorf("no %s* constants in %s", src.prefix, src.dir)
		}
		for name, id := range consts {
			if !ids[id] {
				t.Errorf("%s.%s = %q is not in the catalogue (rules.go)", src.dir, name, id)
			}
			used[id] = true
		}
	}
	for id := range ids {
		if !used[id] {
			t.Errorf("catalogue row %q has no constant in analyze, secrets or tarscan", id)
		}
	}

	// Every constant of this package is emitted somewhere outside the
	// catalogue: a row nothing reports is a documented lie.
	refs := map[string]bool{}
	for name, f := range own {
		if filepath.Base(name) == "rules.go" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				refs[id.Name] = true
			}
			return true
		})
	}
	for name := range ruleConsts(own, "rule") {
		if !refs[name] {
			t.Errorf("rule constant %s is used by no check", name)
		}
	}
}

// TestFindingsFollowCatalogue runs analyses that raise many rules and
// checks every finding against its row: known rule, same category, and
// the row's severity unless the rule judges each finding.
func TestFindingsFollowCatalogue(t *testing.T) {
	reports := map[string]*Report{
		"test image":    analyzeBytes(t, "image.tar", testImage(true).Legacy(), testOpts),
		"fixture image": analyzeBytes(t, "fixture.tar", fixtureImage().Legacy(), testOpts),
	}
	hit := map[string]bool{}
	for name, r := range reports {
		for _, f := range r.Findings {
			row, ok := ruleIndex[f.Rule]
			switch {
			case !ok:
				t.Errorf("%s: finding of rule %q, which is not in the catalogue", name, f.Rule)
			case f.Category != row.Category:
				t.Errorf("%s: %s finding of category %q, the catalogue says %q", name, f.Rule, f.Category, row.Category)
			case !row.Varies && f.Severity != row.Severity:
				t.Errorf("%s: %s finding of severity %q, the catalogue says %q", name, f.Rule, f.Severity, row.Severity)
			}
			hit[f.Rule] = true
		}
	}
	if len(hit) < 10 {
		t.Errorf("the analyses raised only %d rules: %v", len(hit), hit)
	}
}

const rulesDoc = "../../docs/analyze-rules.md"

// rulesMarkdown renders the catalogue as docs/analyze-rules.md.
func rulesMarkdown() string {
	var b strings.Builder
	b.WriteString(`# analyze: finding rules

<!-- Generated from the catalogue in shared/analyze/rules.go by
     go test ./shared/analyze -run TestRuleDocs -update
     Do not edit by hand. -->

Every finding of ` + "`docker forensic analyze`" + ` and ` + "`kubectl forensic analyze`" + `
names one of these rules (` + "`rule`" + ` in the JSON report). The ID never
changes. A severity marked * is judged finding by finding; the one shown is
the usual one, and the reason says when it differs. When one layer raises
more than 200 findings of one rule, the rest are counted in one extra
finding of that rule, category ` + "`archive`" + `, severity ` + "`info`" + `.

A new rule is a row of ` + "`catalogue`" + ` in ` + "`shared/analyze/rules.go`" + ` and a
constant beside it (or in ` + "`shared/analyze/secrets`" + ` for a secret pattern,
` + "`shared/analyze/tarscan`" + ` for a hostile archive entry); the check that
raises it makes its finding with ` + "`Finding{Rule: ...}.ruled()`" + `.
`)
	cat := ""
	titles := map[string]string{
		CategorySuspicious: "Suspicious files", CategorySecret: "Secrets",
		CategoryIntegrity: "Integrity", CategoryArchive: "Archive entries", CategoryVulnerability: "Known vulnerabilities",
	}
	for _, r := range Rules() {
		if r.Category != cat {
			cat = r.Category
			fmt.Fprintf(&b, "\n## %s (`%s`)\n\n| Rule | Severity | Reason |\n|---|---|---|\n", titles[cat], cat)
		}
		sev := string(r.Severity)
		if r.Varies {
			sev += "*"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.ID, sev, strings.ReplaceAll(r.Reason, "|", `\|`))
	}
	return b.String()
}

// TestRuleDocs keeps docs/analyze-rules.md equal to the catalogue.
func TestRuleDocs(t *testing.T) {
	got := rulesMarkdown()
	if *update {
		if err := os.WriteFile(rulesDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(rulesDoc)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/analyze -run TestRuleDocs -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is not the catalogue; run go test ./shared/analyze -run TestRuleDocs -update (-want +got):\n%s", rulesDoc, diff)
	}
}
