package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// Capture captures pods, each into its own bundle, several at a time. A
// failure on one pod never stops the others.
type Capture struct {
	Cluster *Cluster
	Options Options
	// Selection is how the pods were chosen; it goes into each preflight.
	Selection Selection
	// Concurrency is how many pods are captured at once; below 1 means 1.
	Concurrency int
	// Open creates the bundle for pod p, whose capture starts at started.
	Open func(p *Pod, started time.Time) (*evidence.Writer, error)
	// Custody starts a bundle's custody record: tool, case, examiner,
	// command line. Target and engine are filled in here.
	Custody func(started time.Time) evidence.Custody
	// Progress, when set, returns the progress display of p's bundle.
	Progress func(p *Pod) *collect.Progress
	// OnStart and OnDone, when set, hear when each pod's capture starts
	// and ends; they may be called from several goroutines at once.
	OnStart func(p *Pod)
	OnDone  func(r PodResult)
}

// PodResult is how one pod's capture ended.
type PodResult struct {
	Pod     *Pod
	Started time.Time
	Ended   time.Time
	// Result is the bundle's; its Path is empty when none was written.
	Result collect.Result
	// Err is set when no bundle was started: the pod was gone, the bundle
	// could not be created, or the run was interrupted first.
	Err error
}

// Outcome folds the result for the exit code.
func (r PodResult) Outcome() collect.Outcome {
	if r.Err != nil {
		return collect.Failed
	}
	return r.Result.Outcome()
}

// Run captures pods with at most Concurrency at once and returns their
// results in the order of pods. When ctx ends, captures under way close
// their bundles marked incomplete and the pods not started fail.
func (c *Capture) Run(ctx context.Context, pods []*Pod) []PodResult {
	perNS := map[string]int{}
	for _, p := range pods {
		perNS[p.Namespace]++
	}
	n := max(c.Concurrency, 1)
	results := make([]PodResult, len(pods))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, p := range pods {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-sem
			}
			now := time.Now().UTC()
			results[i] = PodResult{Pod: p, Started: now, Ended: now, Err: fmt.Errorf("not captured: %w", context.Cause(ctx))}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			opts := c.Options
			opts.namespaceEvents = perNS[p.Namespace] > 1
			results[i] = c.one(ctx, p, opts)
			if c.OnDone != nil {
				c.OnDone(results[i])
			}
		})
	}
	wg.Wait()
	return results
}

// one captures pod p into its own bundle.
func (c *Capture) one(ctx context.Context, p *Pod, opts Options) PodResult {
	r := PodResult{Pod: p, Started: opts.now()}
	if c.OnStart != nil {
		c.OnStart(p)
	}
	defer func() { r.Ended = opts.now() }()
	snap, err := ReadPod(ctx, c.Cluster, p.Namespace, p.Name)
	if err != nil {
		r.Err = fmt.Errorf("pod %s (selected by %s) could not be read at the start of its capture: %w", p.Key(), joinFrom(p.From), err)
		r.Ended = opts.now()
		return r
	}
	report := Preflight(ctx, c.Cluster, p.Namespace, []*corev1.Pod{snap.Pod}, &c.Selection, opts)
	bundle, err := c.Open(p, r.Started)
	if err != nil {
		r.Err = err
		r.Ended = opts.now()
		return r
	}
	custody := c.Custody(r.Started)
	custody.Target = PodTarget(snap.Pod, p.From)
	custody.Engine = c.Cluster.Engine(ctx)
	if id := c.Cluster.WhoAmI(ctx); id.Source != FromSelfSubjectReview {
		custody.Notes = append(custody.Notes, "identity: "+id.String())
	}
	if p.UID != "" && snap.Pod.UID != p.UID {
		custody.Notes = append(custody.Notes, fmt.Sprintf("pod %s was replaced between selection (uid %s) and capture (uid %s): this is the new pod", p.Key(), p.UID, snap.Pod.UID))
	}
	if opts.InsecureSkipTLSVerifyBackend {
		custody.Notes = append(custody.Notes, "logs were read with --insecure-skip-tls-verify-backend: the API server did not verify the kubelet's certificate")
	}
	bundle.Logf("target pod %s/%s uid %s on node %s, selected by %s; API server %s, as %s",
		p.Namespace, p.Name, snap.Pod.UID, snap.Pod.Spec.NodeName, joinFrom(p.From), c.Cluster.Host, custody.Engine.Identity)
	runner := &collect.Runner{Bundle: bundle, Custody: custody}
	if c.Progress != nil {
		runner.Progress = c.Progress(p)
	}
	r.Result = runner.Run(ctx, Collectors(c.Cluster, snap, report, opts))
	r.Ended = opts.now()
	return r
}

func joinFrom(from []string) string {
	if len(from) == 0 {
		return "(unknown)"
	}
	return strings.Join(from, ", ")
}

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
			Outcome: OutcomeName(r.Outcome()), Started: r.Started.UTC(), Ended: r.Ended.UTC()}
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
