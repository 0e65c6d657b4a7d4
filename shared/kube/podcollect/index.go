package podcollect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// IndexSchema identifies the index file's layout.
const IndexSchema = "forensic-capture-index/v1"

// Index is the file written beside the bundles of a capture of several
// pods: which pods, which bundle each went to, its SHA-256, and how each
// ended.
type Index struct {
	Schema      string        `json:"schema"`
	Started     time.Time     `json:"started"`
	Ended       time.Time     `json:"ended"`
	Tool        evidence.Tool `json:"tool"`
	CommandLine []string      `json:"command_line"`
	Case        string        `json:"case,omitempty"`
	Examiner    string        `json:"examiner,omitempty"`
	// Cluster is the API server, context, version and identity.
	Cluster evidence.Engine `json:"cluster"`
	// Selection is what was asked for.
	Selection IndexSelection `json:"selection"`
	Summary   IndexSummary   `json:"summary"`
	Pods      []IndexEntry   `json:"pods"`
	// Unresolved lists the targets that selected no pod, and why.
	Unresolved []string `json:"unresolved,omitempty"`
}

// IndexSelection is the selection as given on the command line.
type IndexSelection struct {
	Targets       []string `json:"targets,omitempty"`
	Namespace     string   `json:"namespace,omitempty"`
	AllNamespaces bool     `json:"all_namespaces,omitempty"`
	Selector      string   `json:"selector,omitempty"`
}

// IndexSummary counts the pods by outcome.
type IndexSummary struct {
	Pods       int `json:"pods"`
	Complete   int `json:"complete"`
	Incomplete int `json:"incomplete"`
	Failed     int `json:"failed"`
}

// IndexEntry is one pod of the index.
type IndexEntry struct {
	Namespace  string   `json:"namespace"`
	Pod        string   `json:"pod"`
	UID        string   `json:"uid,omitempty"`
	Node       string   `json:"node,omitempty"`
	SelectedBy []string `json:"selected_by"`
	// Bundle is the bundle file, relative to the index file's folder.
	Bundle string `json:"bundle,omitempty"`
	// SHA256 and Size are those of the bundle file, as sha256sum prints.
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// Outcome is "complete", "incomplete" or "failed".
	Outcome           string    `json:"outcome"`
	IncompleteReasons []string  `json:"incomplete_reasons,omitempty"`
	Error             string    `json:"error,omitempty"`
	Started           time.Time `json:"started"`
	Ended             time.Time `json:"ended"`
}

// OutcomeName is the index's word for an outcome.
func OutcomeName(o collect.Outcome) string {
	switch o {
	case collect.Complete:
		return "complete"
	case collect.Incomplete:
		return "incomplete"
	}
	return "failed"
}

// NewIndex builds the index of results; bundle paths are made relative to
// dir, the index file's folder.
func NewIndex(dir string, results []PodResult) Index {
	idx := Index{Schema: IndexSchema, Pods: []IndexEntry{}}
	for _, r := range results {
		e := IndexEntry{Namespace: r.Pod.Namespace, Pod: r.Pod.Name, UID: string(r.Pod.UID), SelectedBy: r.Pod.From,
			Outcome: OutcomeName(r.Outcome()), Started: r.Started.UTC(), Ended: r.Ended.UTC(), Node: r.Pod.NodeName}
		if r.Pod.Object != nil {
			e.Node = r.Pod.Object.Spec.NodeName
		}
		switch {
		case r.Err != nil:
			e.Error = r.Err.Error()
		case r.Result.Err != nil:
			e.Error = r.Result.Err.Error()
		default:
			e.Bundle = relTo(dir, r.Result.Path)
			e.SHA256, e.Size = r.Result.SHA256, r.Result.Size
			e.IncompleteReasons = r.Result.Manifest.Incomplete
		}
		switch r.Outcome() {
		case collect.Complete:
			idx.Summary.Complete++
		case collect.Incomplete:
			idx.Summary.Incomplete++
		default:
			idx.Summary.Failed++
		}
		idx.Pods = append(idx.Pods, e)
	}
	idx.Summary.Pods = len(results)
	return idx
}

func relTo(dir, path string) string {
	if path == "" {
		return ""
	}
	if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// IndexName is the index file's default name for a capture started at t.
func IndexName(t time.Time) string {
	return "capture-" + t.UTC().Format("20060102T150405Z") + ".index.json"
}

// evidenceJSON indents v and keeps <, > and & as they are, as the
// bundle's own JSON files do.
func evidenceJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return b.Bytes(), err
}

// WriteIndex writes idx to path, never overwriting, with mode 0600, and
// syncs it.
func WriteIndex(path string, idx Index) error {
	b, err := evidenceJSON(idx)
	if err != nil {
		return fmt.Errorf("encoding the index: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("index %s already exists: refusing to overwrite it", path)
		}
		return fmt.Errorf("creating index %s: %w", path, err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing index %s: %w", path, err)
	}
	return nil
}
