package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/criu"
	"github.com/forensic-tools/forensic/shared/analyze/elfcore"
	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

// Schema identifies the JSON report layout.
const Schema = "forensic-analyze/v1"

// Severity ranks findings.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Severities lists every severity, most urgent first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// Rank orders severities: Critical is 4, Info 0, unknown values -1.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	case Info:
		return 0
	}
	return -1
}

// ParseSeverity parses a severity name.
func ParseSeverity(s string) (Severity, error) {
	if v := Severity(s); v.Rank() >= 0 {
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q (use critical, high, medium, low or info)", s)
}

// Finding categories.
const (
	CategorySuspicious = "suspicious"
	CategorySecret     = "secret"
	CategoryIntegrity  = "integrity"
	CategoryArchive    = "archive"
)

// Report is the outcome of Analyze, and the JSON document of `-o json`.
type Report struct {
	Schema string `json:"schema"`
	Tool   Tool   `json:"tool"`
	// Analyzed is when the analysis ran, UTC.
	Analyzed time.Time `json:"analyzed"`
	Input    Input     `json:"input"`
	// Complete is true when the input was read to its end, nothing it
	// names is missing, and (for a bundle) it verified intact and complete.
	Complete bool `json:"complete"`
	// Problems say why the report is not complete.
	Problems []string `json:"problems,omitempty"`
	// Notes help reading the report, such as which times are evidence.
	Notes     []string   `json:"notes,omitempty"`
	Bundle    *Bundle    `json:"bundle,omitempty"`
	Image     *Image     `json:"image,omitempty"`
	Container *Container `json:"container,omitempty"`
	OS        *pkgdb.OS  `json:"os,omitempty"`
	// Timeline lists the build steps and layers bottom first, then the
	// container, when there is one.
	Timeline []Stage `json:"timeline"`
	// Findings are sorted by severity, then stage, then path.
	Findings []Finding `json:"findings"`
	Packages []Package `json:"packages"`
	// Vulnerabilities are the packages' known vulnerabilities, when an
	// OSV database was given (MatchVulnerabilities).
	Vulnerabilities *Vulnerabilities `json:"vulnerabilities,omitempty"`
	// Checkpoint, Core and Search are the reports of a CRIU checkpoint,
	// an ELF core and a memory search (memory.go).
	Checkpoint *criu.Checkpoint `json:"checkpoint,omitempty"`
	Core       *elfcore.Core    `json:"core,omitempty"`
	Search     *Search          `json:"search,omitempty"`
	// Cores are the core files --core-dir wrote.
	Cores   []string `json:"cores_written,omitempty"`
	Summary Summary  `json:"summary"`
}

// Tool identifies the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Input kinds.
const (
	KindImage      = "image"
	KindFilesystem = "filesystem"
	KindBundle     = "bundle"
)

// Input describes the analysed file.
type Input struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Format is the archive format found by content, e.g. ".tar.gz".
	Format string `json:"format"`
	// Kind is KindImage, KindFilesystem or KindBundle.
	Kind string `json:"kind"`
	// Layout is "docker-save" or "oci" for images.
	Layout string `json:"layout,omitempty"`
}

// Bundle is what verification said about an evidence bundle.
type Bundle struct {
	Root     string `json:"root"`
	Intact   bool   `json:"intact"`
	Complete bool   `json:"complete"`
	// Verdict is the verification's one-line summary.
	Verdict    string     `json:"verdict"`
	Missing    []string   `json:"missing,omitempty"`
	Altered    []string   `json:"altered,omitempty"`
	Extra      []string   `json:"extra,omitempty"`
	Problems   []string   `json:"problems,omitempty"`
	Incomplete []string   `json:"incomplete_reasons,omitempty"`
	Collected  *time.Time `json:"collected,omitempty"`
	Examiner   string     `json:"examiner,omitempty"`
	Case       string     `json:"case,omitempty"`
	Target     string     `json:"target,omitempty"`
}

// Image describes the analysed image.
type Image struct {
	// ID is the configuration's digest.
	ID             string     `json:"id,omitempty"`
	Tags           []string   `json:"tags,omitempty"`
	ManifestDigest string     `json:"manifest_digest,omitempty"`
	Created        *time.Time `json:"created,omitempty"`
	Architecture   string     `json:"architecture,omitempty"`
	OS             string     `json:"os,omitempty"`
	User           string     `json:"user,omitempty"`
	Entrypoint     []string   `json:"entrypoint,omitempty"`
	Cmd            []string   `json:"cmd,omitempty"`
	WorkingDir     string     `json:"working_dir,omitempty"`
	// Env is the configured environment; values holding secrets are
	// masked unless secrets are shown.
	Env          []string          `json:"env,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	ExposedPorts []string          `json:"exposed_ports,omitempty"`
	Layers       int               `json:"layers"`
	// Others names further images of the same tarball, not analysed.
	Others []string `json:"others,omitempty"`
}

// Container describes the container of a bundle.
type Container struct {
	ID      string     `json:"id,omitempty"`
	Name    string     `json:"name,omitempty"`
	Image   string     `json:"image,omitempty"`
	Created *time.Time `json:"created,omitempty"`
	Started *time.Time `json:"started,omitempty"`
	// Command is the container's path and arguments; secrets masked.
	Command []string `json:"command,omitempty"`
	Added   int      `json:"added"`
	Changed int      `json:"changed"`
	Deleted int      `json:"deleted"`
	// Logs summarises each log file of the bundle.
	Logs []Log `json:"logs,omitempty"`
}

// Log summarises one log file of a bundle.
type Log struct {
	Path  string     `json:"path"`
	Lines int        `json:"lines"`
	First *time.Time `json:"first,omitempty"`
	Last  *time.Time `json:"last,omitempty"`
}

// Stage kinds.
const (
	StageLayer      = "layer"      // an image layer with files
	StageStep       = "step"       // a build step that made no layer (ENV, CMD, ...)
	StageFilesystem = "filesystem" // a plain filesystem tarball
	StageContainer  = "container"  // a container's changes against its image
)

// Stage is one step of the timeline.
type Stage struct {
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	// Created and CreatedBy come from the image configuration's history.
	Created   *time.Time `json:"created,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	// Started is a container's start time.
	Started *time.Time `json:"started,omitempty"`
	// Source is where the stage's files lie in the input.
	Source      string `json:"source,omitempty"`
	Digest      string `json:"digest,omitempty"`
	DiffID      string `json:"diff_id,omitempty"`
	Compression string `json:"compression,omitempty"`
	// DigestCheck is "verified", "mismatch" or "unchecked".
	DigestCheck string `json:"digest_check,omitempty"`
	// Missing is true when the image names the layer but the input lacks it.
	Missing bool `json:"missing,omitempty"`
	// Error says why the layer could not be read in full.
	Error   string `json:"error,omitempty"`
	Entries int64  `json:"entries"`
	Bytes   int64  `json:"bytes"`
	// FilesFrom and FilesTo span the modification times of the stage's
	// own tar headers.
	FilesFrom *time.Time `json:"files_from,omitempty"`
	FilesTo   *time.Time `json:"files_to,omitempty"`
	// Findings counts the findings attributed to this stage.
	Findings int       `json:"findings"`
	Added    []File    `json:"added,omitempty"`
	Changed  []File    `json:"changed,omitempty"`
	Deleted  []Deleted `json:"deleted,omitempty"`
	// Newest are the most recently modified files of a filesystem stage.
	Newest []File `json:"newest,omitempty"`
}

// File is one file as a tar header describes it.
type File struct {
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Mode  string    `json:"mode"`
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
	UID   int       `json:"uid"`
	GID   int       `json:"gid"`
	Link  string    `json:"link,omitempty"`
}

// Deleted is a path a stage removes.
type Deleted struct {
	Path string `json:"path"`
	// Via is "whiteout", "opaque" (the folder's lower contents are hidden)
	// or "container" (docker diff).
	Via string `json:"via"`
	// Hidden counts the paths removed below Path.
	Hidden int `json:"hidden,omitempty"`
	// Existed is false when a lower layer had nothing at Path.
	Existed bool `json:"existed"`
	// MTime is the whiteout entry's own time: when the deletion was made.
	MTime *time.Time `json:"mtime,omitempty"`
}

// Finding statuses for files of image layers.
const (
	StatusPresent  = "present"
	StatusDeleted  = "deleted later"
	StatusReplaced = "replaced later"
)

// Finding is one thing worth a responder's attention.
type Finding struct {
	Category string   `json:"category"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Path     string   `json:"path,omitempty"`
	// Stage is the timeline index the finding belongs to.
	Stage *int `json:"stage,omitempty"`
	// Where says in words where it was found.
	Where  string `json:"where"`
	Reason string `json:"reason"`
	// Status tells whether a layer's file is still in the final image
	// (a deleted secret is still recoverable from the tarball).
	Status string  `json:"status,omitempty"`
	Secret *Secret `json:"secret,omitempty"`
}

// Secret is the secret part of a finding.
type Secret struct {
	Kind string `json:"kind"`
	Key  string `json:"key,omitempty"`
	// Value is masked unless secrets are shown; Masked says which.
	Value  string `json:"value"`
	Masked bool   `json:"masked"`
	// Fingerprint is a short SHA-256 of the value, to match it elsewhere.
	Fingerprint string `json:"fingerprint,omitempty"`
	Line        int    `json:"line,omitempty"`
}

// Package is an installed package and where it was found.
type Package struct {
	pkgdb.Package
	PURL  string `json:"purl"`
	Stage *int   `json:"stage,omitempty"`
	// Layer is the digest (or source) of the layer holding the database.
	Layer string `json:"layer,omitempty"`
}

// Summary counts what the report holds.
type Summary struct {
	Stages  int   `json:"stages"`
	Layers  int   `json:"layers"`
	Entries int64 `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Findings counts findings by severity.
	Findings   map[Severity]int `json:"findings"`
	Secrets    int              `json:"secrets"`
	Suspicious int              `json:"suspicious"`
	Integrity  int              `json:"integrity"`
	Archive    int              `json:"archive"`
	Packages   int              `json:"packages"`
}

// WriteJSON writes the report as indented JSON. The timeline can list
// hundreds of thousands of files, so it is written one file at a time:
// memory holds the JSON of one entry, never of the whole report.
func (r *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	head := *r
	head.Timeline = nil
	b, err := marshalIndent(head, "")
	if err != nil {
		return err
	}
	const marker = `"timeline": null`
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		return fmt.Errorf("encoding the report: no timeline field")
	}
	bw.Write(b[:i])
	bw.WriteString(`"timeline": [`)
	for si, s := range r.Timeline {
		if si > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		if err := writeStageJSON(bw, s); err != nil {
			return err
		}
	}
	if len(r.Timeline) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]")
	bw.Write(b[i+len(marker):])
	bw.WriteString("\n")
	return bw.Flush()
}

// writeStageJSON writes one stage at an indent of four spaces, its file
// lists element by element.
func writeStageJSON(w *bufio.Writer, s Stage) error {
	lists := []struct {
		name string
		n    int
		at   func(int) any
	}{
		{"added", len(s.Added), func(i int) any { return s.Added[i] }},
		{"changed", len(s.Changed), func(i int) any { return s.Changed[i] }},
		{"deleted", len(s.Deleted), func(i int) any { return s.Deleted[i] }},
		{"newest", len(s.Newest), func(i int) any { return s.Newest[i] }},
	}
	bare := s
	bare.Added, bare.Changed, bare.Deleted, bare.Newest = nil, nil, nil, nil
	b, err := marshalIndent(bare, "    ")
	if err != nil {
		return err
	}
	b = bytes.TrimSuffix(b, []byte("\n    }"))
	w.Write(b)
	for _, l := range lists {
		if l.n == 0 {
			continue
		}
		fmt.Fprintf(w, ",\n      %q: [", l.name)
		for i := 0; i < l.n; i++ {
			e, err := marshalIndent(l.at(i), "        ")
			if err != nil {
				return err
			}
			if i > 0 {
				w.WriteString(",")
			}
			w.WriteString("\n        ")
			w.Write(e)
		}
		w.WriteString("\n      ]")
	}
	_, err = w.WriteString("\n    }")
	return err
}

// marshalIndent is json.MarshalIndent without HTML escaping, so that
// commands such as "a && b" stay readable.
func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Worst is the highest severity among the findings, and "" when there are none.
func (r *Report) Worst() Severity {
	var worst Severity
	for _, f := range r.Findings {
		if f.Severity.Rank() > worst.Rank() {
			worst = f.Severity
		}
	}
	return worst
}
