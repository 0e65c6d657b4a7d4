package podcollect

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// Capture captures pods, each into its own bundle, several at a time. A
// failure on one pod never stops the others.
type Capture struct {
	Cluster *kube.Cluster
	Options preflight.Options
	// Selection is how the pods were chosen; it goes into each preflight.
	Selection target.Selection
	// Concurrency is how many pods are captured at once; below 1 means 1.
	Concurrency int
	// Open creates the bundle for pod p, whose capture starts at started.
	Open func(p *target.Pod, started time.Time) (*evidence.Writer, error)
	// Custody starts a bundle's custody record: tool, case, examiner,
	// command line. Target and engine are filled in here.
	Custody func(started time.Time) evidence.Custody
	// Progress, when set, returns the progress display of p's bundle.
	Progress func(p *target.Pod) *collect.Progress
	// OnStart and OnDone, when set, hear when each pod's capture starts
	// and ends; they may be called from several goroutines at once. Once
	// OnDone has seen a result, Run keeps only its outcome, bundle and
	// error: memory does not grow with the pods' manifests.
	OnStart func(p *target.Pod)
	OnDone  func(r PodResult)
	// Pages, when set, serves the pods' start snapshots from pages of a
	// list (a label selection); pods it does not hold are read alone.
	Pages *Pages
	// NodeProblems, after Run, says what the node stage could not clean
	// up (a collector pod not deleted, a checkpoint archive left).
	NodeProblems []error

	stage *nodecollect.Stage
}

// PodResult is how one pod's capture ended.
type PodResult struct {
	Pod     *target.Pod
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
func (c *Capture) Run(ctx context.Context, pods []*target.Pod) []PodResult {
	perNS := map[string]int{}
	for _, p := range pods {
		perNS[p.Namespace]++
	}
	if c.Options.Node.Enabled() {
		objs := make([]*corev1.Pod, 0, len(pods))
		for _, p := range pods {
			if p.Object != nil {
				objs = append(objs, p.Object)
			}
		}
		c.stage = nodecollect.NewStage(c.Cluster, c.Options.Node, nodecollect.Preflight(ctx, c.Cluster, c.Options.Node), objs, c.Options.NowUTC)
		defer func() { c.NodeProblems = c.stage.Close(context.WithoutCancel(ctx)) }()
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
			results[i] = c.one(ctx, p, c.Options, perNS[p.Namespace] > 1)
			if c.OnDone != nil {
				c.OnDone(results[i])
				results[i] = results[i].slim()
			}
		})
	}
	wg.Wait()
	return results
}

// one captures pod p into its own bundle; namespaceEvents: see
// collectors.
func (c *Capture) one(ctx context.Context, p *target.Pod, opts preflight.Options, namespaceEvents bool) PodResult {
	r := PodResult{Pod: p, Started: opts.NowUTC()}
	if c.OnStart != nil {
		c.OnStart(p)
	}
	defer func() { r.Ended = opts.NowUTC() }()
	snap, err := c.snapshot(ctx, p)
	if err != nil {
		r.Err = fmt.Errorf("pod %s (selected by %s) could not be read at the start of its capture: %w", p.Key(), joinFrom(p.From), err)
		r.Ended = opts.NowUTC()
		return r
	}
	report := preflight.Preflight(ctx, c.Cluster, p.Namespace, []*corev1.Pod{snap.Pod}, &c.Selection, opts)
	bundle, err := c.Open(p, r.Started)
	if err != nil {
		r.Err = err
		r.Ended = opts.NowUTC()
		return r
	}
	custody := c.Custody(r.Started)
	custody.Target = PodTarget(snap.Pod, p.From)
	custody.Engine = c.Cluster.Engine(ctx)
	if id := c.Cluster.WhoAmI(ctx); id.Source != kube.FromSelfSubjectReview {
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
	r.Result = runner.Run(ctx, collectorsWith(c.Cluster, snap, report, opts, namespaceEvents, c.stage))
	r.Ended = opts.NowUTC()
	return r
}

// snapshot reads pod p at the start of its capture: from Pages when set.
func (c *Capture) snapshot(ctx context.Context, p *target.Pod) (*Snapshot, error) {
	if c.Pages != nil {
		return c.Pages.Snapshot(ctx, p.Namespace, p.Name)
	}
	return ReadPod(ctx, c.Cluster, p.Namespace, p.Name)
}

func joinFrom(from []string) string {
	if len(from) == 0 {
		return "(unknown)"
	}
	return strings.Join(from, ", ")
}
