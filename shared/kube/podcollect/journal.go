package podcollect

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// JournalSchema identifies the journal's layout.
const JournalSchema = "forensic-capture-journal/v1"

// The journal, capture-<UTC time>.index.jsonl, is the index written as
// the capture goes: one JSON object a line, appended and synced as each
// pod finishes, so that a capture that is killed leaves every finished
// pod listed. Its lines, by "kind":
//
//	run  one per run (a resumed run appends its own): when, tool, command
//	     line, case, cluster, selection, and how many pods it captures
//	pod  one per pod captured: an IndexEntry (outcome, bundle, SHA-256)
//	end  one per run that ended: the run's summary and unresolved targets
//
// A pod listed more than once (failed, then captured by --resume) counts
// by its last line. A last line cut short by a crash is ignored.

// JournalRun is the "run" line.
type JournalRun struct {
	Schema      string          `json:"schema"`
	Started     time.Time       `json:"started"`
	Tool        evidence.Tool   `json:"tool"`
	CommandLine []string        `json:"command_line"`
	Case        string          `json:"case,omitempty"`
	Examiner    string          `json:"examiner,omitempty"`
	Cluster     evidence.Engine `json:"cluster"`
	Selection   IndexSelection  `json:"selection"`
	// Pods is how many pods this run set out to capture.
	Pods int `json:"pods"`
	// Skipped counts the pods an earlier run of the journal captured
	// complete and intact, left alone by this one (--resume).
	Skipped int `json:"skipped,omitempty"`
}

// JournalEnd is the "end" line.
type JournalEnd struct {
	Ended      time.Time    `json:"ended"`
	Summary    IndexSummary `json:"summary"`
	Unresolved []string     `json:"unresolved,omitempty"`
	// APIRequests counts the requests the run sent to the API server,
	// retries included.
	APIRequests int64 `json:"api_requests,omitempty"`
}

// JournalRecord is one line read back: Kind and the one matching field.
type JournalRecord struct {
	Kind string
	Run  *JournalRun
	Pod  *IndexEntry
	End  *JournalEnd
}

type journalRunLine struct {
	Kind string `json:"kind"`
	JournalRun
}

type journalPodLine struct {
	Kind string `json:"kind"`
	IndexEntry
}

type journalEndLine struct {
	Kind string `json:"kind"`
	JournalEnd
}

// Journal appends lines to a journal file; it is safe for concurrent use.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// JournalName is the journal's default name for a capture started at t.
func JournalName(t time.Time) string {
	return "capture-" + t.UTC().Format("20060102T150405Z") + ".index.jsonl"
}

// CreateJournal creates the journal at path, never overwriting, mode 0600.
func CreateJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("index %s already exists: refusing to overwrite it", path)
		}
		return nil, fmt.Errorf("creating index %s: %w", path, err)
	}
	return &Journal{f: f, path: path}, nil
}

// AppendJournal opens an existing journal to append to it (--resume). A
// last line cut short by a crash is ended first, so that it stays one bad
// line and the next line is whole.
func AppendJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("opening index %s to resume: %w", path, err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte("\n")); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("appending to index %s: %w", path, err)
			}
		}
	}
	return &Journal{f: f, path: path}, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding an index line: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("writing index %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing index %s: %w", j.path, err)
	}
	return nil
}

// Run appends the "run" line.
func (j *Journal) Run(r JournalRun) error {
	r.Schema = JournalSchema
	return j.write(journalRunLine{Kind: "run", JournalRun: r})
}

// Pod appends a pod's line.
func (j *Journal) Pod(e IndexEntry) error {
	return j.write(journalPodLine{Kind: "pod", IndexEntry: e})
}

// End appends the "end" line.
func (j *Journal) End(e JournalEnd) error {
	return j.write(journalEndLine{Kind: "end", JournalEnd: e})
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// Entry is the index entry of one result; bundle paths are made relative
// to dir, the index's folder.
func Entry(dir string, r PodResult) IndexEntry {
	return NewIndex(dir, []PodResult{r}).Pods[0]
}

// ReadJournal calls fn for each line of the journal at path, in order.
// Lines that are not JSON (a crash cut the last one short) are counted in
// bad and skipped. Memory does not grow with the journal.
func ReadJournal(path string, fn func(JournalRecord) error) (bad int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading index %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 {
			var k struct {
				Kind string `json:"kind"`
			}
			rec := JournalRecord{}
			if json.Unmarshal(line, &k) != nil {
				bad++
			} else {
				rec.Kind = k.Kind
				var derr error
				switch k.Kind {
				case "run":
					rec.Run = &JournalRun{}
					derr = json.Unmarshal(line, rec.Run)
				case "pod":
					rec.Pod = &IndexEntry{}
					derr = json.Unmarshal(line, rec.Pod)
				case "end":
					rec.End = &JournalEnd{}
					derr = json.Unmarshal(line, rec.End)
				default:
					derr = errors.New("unknown kind")
				}
				if derr != nil {
					bad++
				} else if err := fn(rec); err != nil {
					return bad, err
				}
			}
		}
		if rerr == io.EOF {
			return bad, nil
		}
		if rerr != nil {
			return bad, fmt.Errorf("reading index %s: %w", path, rerr)
		}
	}
}

// Resume is what an earlier capture's journal says.
type Resume struct {
	// First is the journal's first run line.
	First JournalRun
	// Done holds namespace/name of every pod whose last line is complete
	// and whose bundle is still there, with that SHA-256, and verifies.
	Done map[string]bool
	// Redo lists, for the pods listed but not done, why (one line each).
	Redo []string
	// Bad counts unreadable lines.
	Bad int
}

// ReadResume reads the journal at path and re-verifies each bundle it
// lists complete: the file's SHA-256 against the line's, then the bundle
// itself (every artifact against its manifest). The bundles are found
// relative to the journal's folder.
func ReadResume(ctx context.Context, path string) (*Resume, error) {
	res := &Resume{Done: map[string]bool{}}
	last := map[string]IndexEntry{}
	runs := 0
	bad, err := ReadJournal(path, func(r JournalRecord) error {
		switch {
		case r.Run != nil:
			if runs == 0 {
				res.First = *r.Run
			}
			runs++
		case r.Pod != nil:
			// Only what decides: the outcome and the bundle.
			e := *r.Pod
			last[e.Namespace+"/"+e.Pod] = IndexEntry{Namespace: e.Namespace, Pod: e.Pod, Outcome: e.Outcome, Bundle: e.Bundle, SHA256: e.SHA256, Error: e.Error}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Bad = bad
	if runs == 0 {
		return nil, fmt.Errorf("%s is not a capture journal (no run line): give the capture-<time>.index.jsonl file", path)
	}
	dir := filepath.Dir(path)
	for key, e := range last {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if why := verifyEntry(ctx, dir, e); why != "" {
			res.Redo = append(res.Redo, key+": "+why)
			continue
		}
		res.Done[key] = true
	}
	return res, nil
}

// verifyEntry says why entry e is not complete and intact, or "".
func verifyEntry(ctx context.Context, dir string, e IndexEntry) string {
	if e.Outcome != "complete" {
		if e.Error != "" {
			return e.Outcome + ": " + e.Error
		}
		return e.Outcome
	}
	file := e.Bundle
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, filepath.FromSlash(file))
	}
	sum, err := fileSHA256(file)
	if err != nil {
		return "bundle unreadable: " + err.Error()
	}
	if sum != e.SHA256 {
		return fmt.Sprintf("bundle %s has sha256 %s, the index says %s", e.Bundle, sum, e.SHA256)
	}
	rep, err := evidence.Verify(ctx, file)
	if err != nil {
		return "bundle does not verify: " + err.Error()
	}
	if !rep.Intact || !rep.Complete {
		return fmt.Sprintf("bundle %s does not verify (intact %t, complete %t)", e.Bundle, rep.Intact, rep.Complete)
	}
	return ""
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// IndexFromJournal writes the index file (forensic-capture-index/v1, as
// WriteIndex does) at path from the journal: the first run's header, each
// pod by its last line, the summary of those, and the last run's end and
// unresolved targets. The pods are streamed from the journal twice (first
// to find each pod's last line), so memory holds one key per pod, not the
// entries.
func IndexFromJournal(journal, path string, ended time.Time) error {
	lastLine := map[string]int{}
	var first, latest *JournalRun
	var unresolved []string
	n := 0
	if _, err := ReadJournal(journal, func(r JournalRecord) error {
		n++
		switch {
		case r.Run != nil:
			if first == nil {
				first = r.Run
			}
			latest = r.Run
			unresolved = nil
		case r.Pod != nil:
			lastLine[r.Pod.Namespace+"/"+r.Pod.Pod] = n
		case r.End != nil:
			unresolved = r.End.Unresolved
		}
		return nil
	}); err != nil {
		return err
	}
	if first == nil {
		return fmt.Errorf("%s has no run line", journal)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("index %s already exists: refusing to overwrite it", path)
		}
		return fmt.Errorf("creating index %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	idx := Index{Schema: IndexSchema, Started: first.Started, Ended: ended, Tool: latest.Tool, CommandLine: latest.CommandLine,
		Case: first.Case, Examiner: first.Examiner, Cluster: latest.Cluster, Selection: first.Selection}
	// The pods go between the header and the summary: write the head by
	// hand, each entry as the indented encoder would, then the tail.
	head, err := evidenceJSON(struct {
		Schema      string          `json:"schema"`
		Started     time.Time       `json:"started"`
		Ended       time.Time       `json:"ended"`
		Tool        evidence.Tool   `json:"tool"`
		CommandLine []string        `json:"command_line"`
		Case        string          `json:"case,omitempty"`
		Examiner    string          `json:"examiner,omitempty"`
		Cluster     evidence.Engine `json:"cluster"`
		Selection   IndexSelection  `json:"selection"`
	}{idx.Schema, idx.Started, idx.Ended, idx.Tool, idx.CommandLine, idx.Case, idx.Examiner, idx.Cluster, idx.Selection})
	if err != nil {
		_ = f.Close()
		return err
	}
	// head ends with "}\n": open it up for the pods.
	_, _ = w.Write(head[:len(head)-2])
	_, _ = w.WriteString(",\n  \"pods\": [")
	var sum IndexSummary
	n = 0
	count := 0
	_, rerr := ReadJournal(journal, func(r JournalRecord) error {
		n++
		if r.Pod == nil || lastLine[r.Pod.Namespace+"/"+r.Pod.Pod] != n {
			return nil
		}
		switch r.Pod.Outcome {
		case "complete":
			sum.Complete++
		case "incomplete":
			sum.Incomplete++
		default:
			sum.Failed++
		}
		b, err := evidenceJSON(r.Pod)
		if err != nil {
			return err
		}
		if count > 0 {
			_, _ = w.WriteString(",")
		}
		count++
		_, _ = w.WriteString("\n    ")
		_, err = w.Write(indentMore(b[:len(b)-1]))
		return err
	})
	sum.Pods = count
	sum.Failed += len(unresolved)
	tail, err := evidenceJSON(struct {
		Summary    IndexSummary `json:"summary"`
		Unresolved []string     `json:"unresolved,omitempty"`
	}{sum, unresolved})
	if err == nil {
		err = rerr
	}
	if count > 0 {
		_, _ = w.WriteString("\n  ")
	}
	_, _ = w.WriteString("],\n")
	_, _ = w.Write(tail[2:])
	ferr := w.Flush()
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(err, ferr, serr, cerr); err != nil {
		return fmt.Errorf("writing index %s: %w", path, err)
	}
	return nil
}

// indentMore indents every line after the first by four spaces.
func indentMore(b []byte) []byte {
	out := make([]byte, 0, len(b)+64)
	for _, c := range b {
		out = append(out, c)
		if c == '\n' {
			out = append(out, "    "...)
		}
	}
	return out
}

// slim keeps what a result is still asked for once OnDone has seen it
// (outcome, bundle, error), so that memory does not grow with the pods
// of a run: the manifest of every artifact and the pod object go.
func (r PodResult) slim() PodResult {
	m := r.Result.Manifest
	r.Result.Manifest = evidence.Manifest{Complete: m.Complete, Incomplete: m.Incomplete}
	if r.Pod != nil {
		p := *r.Pod
		p.Object = nil
		r.Pod = &p
	}
	return r
}
