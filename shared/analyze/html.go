package analyze

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/forensic-tools/forensic/shared/collect"
)

//go:embed report.html.tmpl
var htmlTemplate string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"time":    fmtTime,
	"short":   shortDigest,
	"line":    oneLine,
	"bytes":   collect.HumanBytes,
	"upper":   strings.ToUpper,
	"join":    strings.Join,
	"sevcol":  sevColor,
	"vulncol": htmlVulnSeverity,
	"deref":   func(p *int) int { return *p },
}).Parse(htmlTemplate))

// svgRow is one stage of the drawn timeline, with its geometry.
type svgRow struct {
	Stage
	Y          int
	Label      string
	Command    string
	Color      string
	BarWidth   int
	BarY       int
	AddW       int
	ChangeW    int
	DeleteW    int
	ChangeX    int
	DeleteX    int
	Worst      Severity
	WorstColor string
}

type htmlPage struct {
	*Report
	Rows      []svgRow
	Height    int
	Secrets   []Finding
	Others    []Finding
	Generated string
}

func sevColor(s Severity) string {
	switch s {
	case Critical:
		return "#7b1fa2"
	case High:
		return "#c62828"
	case Medium:
		return "#ef6c00"
	case Low:
		return "#f9a825"
	}
	return "#607d8b"
}

const rowHeight = 56

// WriteHTML writes the report as one self-contained HTML page: styles
// inline, the timeline drawn as inline SVG, no script and nothing fetched
// (a Content-Security-Policy forbids it), so the page can be opened on an
// isolated analysis machine and attached to a case file.
func (r *Report) WriteHTML(w io.Writer) error {
	pg := htmlPage{Report: r, Generated: fmtTime(&r.Analyzed)}
	worst := map[int]Severity{}
	for _, f := range r.Findings {
		switch f.Category {
		case CategoryVulnerability: // in the Vulnerabilities section
		case CategorySecret:
			pg.Secrets = append(pg.Secrets, f)
		default:
			pg.Others = append(pg.Others, f)
		}
		if f.Stage != nil && f.Severity.Rank() > worst[*f.Stage].Rank() {
			worst[*f.Stage] = f.Severity
		}
	}
	var maxBytes int64 = 1
	for _, s := range r.Timeline {
		maxBytes = max(maxBytes, s.Bytes)
	}
	for i, s := range r.Timeline {
		row := svgRow{Stage: s, Y: 52 + i*rowHeight, Worst: worst[s.Index]}
		row.WorstColor = sevColor(row.Worst)
		switch s.Kind {
		case StageLayer:
			row.Color, row.Label = "#1565c0", "layer"
		case StageStep:
			row.Color, row.Label = "#90a4ae", "step"
		case StageContainer:
			row.Color, row.Label = "#2e7d32", "container"
		default:
			row.Color, row.Label = "#6a1b9a", s.Kind
		}
		if s.Missing {
			row.Color = "#c62828"
		}
		row.Command = oneLine(nonEmpty(s.CreatedBy, s.Comment, s.Source), 110)
		if s.Bytes > 0 {
			// Sizes span orders of magnitude: a log scale keeps small
			// layers visible next to a base image.
			row.BarWidth = 20 + int(260*math.Log1p(float64(s.Bytes))/math.Log1p(float64(maxBytes)))
		}
		total := len(s.Added) + len(s.Changed) + len(s.Deleted)
		if total > 0 {
			row.AddW = 120 * len(s.Added) / total
			row.ChangeW = 120 * len(s.Changed) / total
			row.DeleteW = 120 - row.AddW - row.ChangeW
		}
		row.BarY = row.Y - 14
		row.ChangeX = 530 + row.AddW
		row.DeleteX = row.ChangeX + row.ChangeW
		pg.Rows = append(pg.Rows, row)
	}
	pg.Height = 60 + len(r.Timeline)*rowHeight
	if err := pageTmpl.Execute(w, pg); err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	return nil
}
