package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// Collector produces artifacts for a bundle.
type Collector interface {
	// Name identifies the step in logs and in the manifest, e.g. "docker.logs".
	Name() string
	// Collect writes its artifacts to sink. Failures of single artifacts are
	// recorded through the sink and need not be returned; a returned error
	// is recorded as a reason the bundle is incomplete.
	Collect(ctx context.Context, sink Sink) error
}

// Func adapts a function to a Collector.
func Func(name string, fn func(ctx context.Context, sink Sink) error) Collector {
	return funcCollector{name, fn}
}

type funcCollector struct {
	name string
	fn   func(ctx context.Context, sink Sink) error
}

func (f funcCollector) Name() string                                 { return f.name }
func (f funcCollector) Collect(ctx context.Context, sink Sink) error { return f.fn(ctx, sink) }

// Sink receives artifacts. Its methods return nil when the artifact was
// stored in full. An error for which evidence.IsSourceError is true has
// been recorded in the manifest already (the artifact is partial); the
// collector may go on with its next artifact. Any other error means the
// bundle can no longer be written.
type Sink interface {
	// Stream stores what r yields as one artifact, hashing it on the way.
	Stream(ctx context.Context, m evidence.Meta, r io.Reader) error
	// Bytes stores b as one artifact.
	Bytes(m evidence.Meta, b []byte) error
	// JSON stores v as an indented JSON artifact.
	JSON(m evidence.Meta, v any) error
	// Fail records that the artifact could not be produced, and why.
	Fail(m evidence.Meta, cause error) error
	// Logf adds a line to collection.log.
	Logf(format string, args ...any)
	// Action records a change made to the target, for custody.json.
	Action(a evidence.Action)
	// Note adds a remark to custody.json.
	Note(format string, args ...any)
}

// Runner runs collectors into one bundle.
type Runner struct {
	Bundle  *evidence.Writer
	Custody evidence.Custody
	// Progress, when set, shows each artifact as it streams.
	Progress *Progress

	mu sync.Mutex
}

// Result is what a run produced.
type Result struct {
	// Path is the bundle file, or "" when nothing usable was written.
	Path     string
	Manifest evidence.Manifest
	// SHA256 and Size are those of the bundle file itself.
	SHA256 string
	Size   int64
	// Err is set when the bundle could not be finished (e.g. a full disk);
	// Path then names the kept partial file, if any.
	Err error
}

// Outcome summarises a Result for exit codes.
func (r Result) Outcome() Outcome {
	switch {
	case r.Err != nil:
		return Failed
	case r.Manifest.Complete:
		return Complete
	}
	return Incomplete
}

// Run runs the collectors in order and finishes the bundle. It always
// finishes or aborts the bundle, also when ctx is cancelled: the remaining
// collectors are then skipped and the bundle is marked incomplete.
func (r *Runner) Run(ctx context.Context, collectors []Collector) Result {
	for i, c := range collectors {
		if ctx.Err() != nil {
			var names []string
			for _, rest := range collectors[i:] {
				names = append(names, rest.Name())
			}
			r.Bundle.MarkIncomplete(fmt.Sprintf("%v: not collected: %s", context.Cause(ctx), strings.Join(names, ", ")))
			break
		}
		err := c.Collect(ctx, r.sink(c.Name()))
		if fatal := r.Bundle.Err(); fatal != nil {
			return r.abort(fatal)
		}
		if err != nil && !evidence.IsSourceError(err) {
			r.Bundle.MarkIncomplete(fmt.Sprintf("%s: %v", c.Name(), err))
		}
	}
	r.mu.Lock()
	custody := r.Custody
	r.mu.Unlock()
	m, err := r.Bundle.Finish(custody)
	if err != nil {
		return r.abort(err)
	}
	return Result{Path: r.Bundle.Path(), Manifest: m, SHA256: r.Bundle.ArchiveSHA256(), Size: r.Bundle.BytesWritten()}
}

func (r *Runner) abort(err error) Result {
	partial, aerr := r.Bundle.Abort()
	if aerr != nil {
		err = errors.Join(err, aerr)
	}
	return Result{Path: partial, Err: err}
}

func (r *Runner) sink(producer string) Sink { return &runSink{r: r, producer: producer} }

type runSink struct {
	r        *Runner
	producer string
}

func (s *runSink) meta(m evidence.Meta) evidence.Meta {
	if m.Producer == "" {
		m.Producer = s.producer
	}
	return m
}

func (s *runSink) Stream(ctx context.Context, m evidence.Meta, r io.Reader) error {
	m = s.meta(m)
	if p := s.r.Progress; p != nil {
		done := p.Start(m.Path)
		r = &progressReader{r: r, p: p}
		defer done()
	}
	_, err := s.r.Bundle.Add(m, contextReader{ctx: ctx, r: r})
	return err
}

func (s *runSink) Bytes(m evidence.Meta, b []byte) error {
	_, err := s.r.Bundle.AddBytes(s.meta(m), b)
	return err
}

func (s *runSink) JSON(m evidence.Meta, v any) error {
	_, err := s.r.Bundle.AddJSON(s.meta(m), v)
	return err
}

func (s *runSink) Fail(m evidence.Meta, cause error) error {
	_, err := s.r.Bundle.Fail(s.meta(m), cause)
	if p := s.r.Progress; p != nil {
		p.Failed(m.Path, cause)
	}
	return err
}

func (s *runSink) Logf(format string, args ...any) {
	s.r.Bundle.Logf("%s: %s", s.producer, fmt.Sprintf(format, args...))
}

func (s *runSink) Action(a evidence.Action) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.Custody.Actions = append(s.r.Custody.Actions, a)
	s.r.Bundle.Logf("%s: changed the target: %s %s", s.producer, a.What, a.Detail)
}

func (s *runSink) Note(format string, args ...any) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	note := fmt.Sprintf(format, args...)
	s.r.Custody.Notes = append(s.r.Custody.Notes, note)
	s.r.Bundle.Logf("%s: note: %s", s.producer, note)
}

// contextReader stops a stream when ctx is done, even a source that does
// not watch the context itself; what was read so far is kept as partial.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// Outcome is how a target's collection ended.
type Outcome int

// Outcomes, from best to worst.
const (
	Complete   Outcome = iota // a bundle with everything
	Incomplete                // a bundle, marked incomplete
	Failed                    // no usable bundle
)

// Exit codes shared by both plugins.
const (
	ExitComplete   = 0 // every bundle complete (verify: intact and complete)
	ExitNothing    = 1 // nothing collected, or a usage error (verify: altered or unreadable)
	ExitIncomplete = 2 // bundles written, but at least one incomplete or one target failed (verify: intact but incomplete)
)

// ExitCode folds the outcomes of several targets into one exit code.
func ExitCode(outcomes []Outcome) int {
	if len(outcomes) == 0 {
		return ExitNothing
	}
	all := map[Outcome]int{}
	for _, o := range outcomes {
		all[o]++
	}
	switch {
	case all[Complete] == len(outcomes):
		return ExitComplete
	case all[Failed] == len(outcomes):
		return ExitNothing
	}
	return ExitIncomplete
}
