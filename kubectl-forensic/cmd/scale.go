package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/podcollect"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// softMemoryLimit is the Go runtime's soft memory limit during a capture
// of several pods, unless GOMEMLIMIT says otherwise.
const softMemoryLimit = 64 << 20

// apiRequests counts the requests this process sent to the API server,
// retries included (the journal's end line records it).
var apiRequests atomic.Int64

// scaleFlags are capture's flags for captures of many pods.
type scaleFlags struct {
	// resume is the journal (capture-<time>.index.jsonl) of a capture to finish.
	resume string
	// shardNamespace puts each pod's bundle in OUTPUT_DIR/NAMESPACE/.
	shardNamespace bool
}

func (s *scaleFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&s.resume, "resume", "", "finish an earlier capture: capture only the pods its index journal (capture-<time>.index.jsonl) does not list complete and intact (each such bundle is verified again), and append to that journal")
	f.BoolVar(&s.shardNamespace, "shard-by-namespace", false, "put each bundle in a folder per namespace under --output-dir (OUTPUT_DIR/NAMESPACE/); the index stays in --output-dir")
}

func (s *scaleFlags) validate(o *CaptureOptions) error {
	if s.resume == "" {
		return nil
	}
	if o.output.Path != "" {
		return fmt.Errorf("--resume and -o do not go together: a resumed capture writes its bundles beside its index")
	}
	if !strings.HasSuffix(s.resume, ".index.jsonl") {
		return fmt.Errorf("--resume %s: give the index journal of the capture, capture-<UTC time>.index.jsonl", s.resume)
	}
	st, err := os.Stat(s.resume)
	if err != nil || st.IsDir() {
		return fmt.Errorf("--resume %s: no such index journal", s.resume)
	}
	if o.output.Dir == "" {
		// The journal names the bundles relative to its own folder.
		o.output.Dir = filepath.Dir(s.resume)
	}
	return nil
}

// scaleRun is one capture run's journal, progress and tallies.
type scaleRun struct {
	o        *CaptureOptions
	journal  *podcollect.Journal
	dir      string // the journal's folder
	started  time.Time
	total    int
	skipped  int
	progress bool

	mu         sync.Mutex
	done, errs int
	summary    podcollect.IndexSummary
	lineShown  bool
	journalErr error
}

// startRun opens the journal (new, or the one given to --resume and then
// leaves out the pods it lists complete and intact) and writes the run's
// line. It returns the pods left to capture; run is nil for a single pod
// captured without --resume (no index).
func (o *CaptureOptions) startRun(ctx context.Context, cluster *kube.Cluster, started time.Time, pods []*target.Pod) (*scaleRun, []*target.Pod, error) {
	if len(pods) <= 1 && o.scale.resume == "" {
		return nil, pods, nil
	}
	run := &scaleRun{o: o, started: started}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Each pod's work leaves garbage (objects decoded, archives
		// compressed) that the collector would otherwise let grow with
		// the run; a soft limit makes it collect sooner instead. Live
		// memory stays far below it (one pod's work per worker).
		debug.SetMemoryLimit(softMemoryLimit)
	}
	if o.scale.resume != "" {
		res, err := podcollect.ReadResume(ctx, o.scale.resume)
		if err != nil {
			return nil, nil, err
		}
		left := pods[:0:0]
		for _, p := range pods {
			if !res.Done[p.Key()] {
				left = append(left, p)
			}
		}
		run.skipped = len(pods) - len(left)
		if !o.quiet {
			fmt.Fprintf(o.ErrOut, "kubectl forensic: resuming %s: %d pods complete and verified, %d to capture\n", o.scale.resume, run.skipped, len(left))
			if res.Bad > 0 {
				fmt.Fprintf(o.ErrOut, "kubectl forensic: resuming %s: %d unreadable lines skipped (a crash cuts the last one short)\n", o.scale.resume, res.Bad)
			}
		}
		pods = left
		if run.journal, err = podcollect.AppendJournal(o.scale.resume); err != nil {
			return nil, nil, err
		}
	} else {
		path := filepath.Join(o.output.Dir, podcollect.JournalName(started))
		var err error
		if run.journal, err = podcollect.CreateJournal(path); err != nil {
			return nil, nil, fmt.Errorf("%w; wait a second or use another --output-dir", err)
		}
	}
	run.dir = filepath.Dir(run.journal.Path())
	run.total = len(pods)
	run.progress = !o.quiet && o.stderrTerminal
	base := o.custody.Custody("kubectl-forensic", started)
	err := run.journal.Run(podcollect.JournalRun{Started: started, Tool: base.Tool, CommandLine: base.CommandLine,
		Case: base.Case, Examiner: base.Examiner, Cluster: cluster.Engine(ctx),
		Selection: podcollect.IndexSelection{Targets: o.args, Namespace: o.selection.Namespace,
			AllNamespaces: o.selection.AllNamespaces, Selector: o.selection.Selector},
		Pods: len(pods), Skipped: run.skipped})
	if err != nil {
		_ = run.journal.Close()
		return nil, nil, err
	}
	return run, pods, nil
}

// hook makes c write each pod's line to the journal as it finishes, and
// draw the progress line.
func (r *scaleRun) hook(c *podcollect.Capture) {
	onDone, onStart := c.OnDone, c.OnStart
	if onStart != nil {
		c.OnStart = func(p *target.Pod) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.clear()
			onStart(p)
			r.draw()
		}
	}
	c.OnDone = func(pr podcollect.PodResult) {
		err := r.journal.Pod(podcollect.Entry(r.dir, pr))
		r.mu.Lock()
		defer r.mu.Unlock()
		r.done++
		r.summary.Pods++
		switch pr.Outcome() {
		case collect.Complete:
			r.summary.Complete++
		case collect.Incomplete:
			r.summary.Incomplete++
			r.errs++
		default:
			r.summary.Failed++
			r.errs++
		}
		if err != nil && r.journalErr == nil {
			r.journalErr = err
			fmt.Fprintf(r.o.ErrOut, "kubectl forensic: %v\n", err)
		}
		r.clear()
		if onDone != nil {
			onDone(pr)
		}
		r.draw()
	}
}

// clear removes the progress line before other lines are written.
func (r *scaleRun) clear() {
	if r.lineShown {
		fmt.Fprint(r.o.ErrOut, "\r\033[K")
		r.lineShown = false
	}
}

// draw writes the progress line: done of total, rate, errors, time left.
func (r *scaleRun) draw() {
	if !r.progress {
		return
	}
	fmt.Fprint(r.o.ErrOut, progressLine(r.done, r.total, r.errs, time.Since(r.started)))
	r.lineShown = true
}

// progressLine is the terminal's progress line.
func progressLine(done, total, errs int, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	left := "?"
	if rate > 0 && done < total {
		left = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	} else if done >= total {
		left = "0s"
	}
	return fmt.Sprintf("[%d/%d pods] %.1f pods/s, %d errors, %s left", done, total, rate, errs, left)
}

// finish ends the journal and writes the index file from it,
// capture-<start>.index.json, beside it. It returns the index's path.
func (r *scaleRun) finish(problems []error) (string, error) {
	r.mu.Lock()
	r.clear()
	r.mu.Unlock()
	end := podcollect.JournalEnd{Ended: time.Now().UTC(), APIRequests: apiRequests.Load()}
	for _, p := range problems {
		end.Unresolved = append(end.Unresolved, p.Error())
	}
	r.mu.Lock()
	end.Summary = r.summary
	r.mu.Unlock()
	end.Summary.Failed += len(problems)
	err := r.journal.End(end)
	if cerr := r.journal.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.journalErr
	}
	path := filepath.Join(r.dir, podcollect.IndexName(r.started))
	if ierr := podcollect.IndexFromJournal(r.journal.Path(), path, end.Ended); ierr != nil {
		return "", ierr
	}
	return path, err
}

// shardedOutput is the output for pod p: with --shard-by-namespace, a
// folder per namespace, made when first needed.
func (o *CaptureOptions) shardedOutput(p *target.Pod) (collect.Output, error) {
	out := o.output
	if !o.scale.shardNamespace || out.Path != "" {
		return out, nil
	}
	out.Dir = filepath.Join(out.Dir, p.Namespace)
	if err := os.MkdirAll(out.Dir, 0o700); err != nil {
		return out, fmt.Errorf("making the namespace folder %s: %w", out.Dir, err)
	}
	return out, nil
}

// openBundle creates pod p's bundle.
func (o *CaptureOptions) openBundle(p *target.Pod, started time.Time, stdout io.Writer) (*evidence.Writer, error) {
	out, err := o.shardedOutput(p)
	if err != nil {
		return nil, err
	}
	return out.Create(p.Namespace+"_"+p.Name, started, stdout)
}
