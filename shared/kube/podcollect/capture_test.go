package podcollect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

func TestCaptureManyPods(t *testing.T) {
	objs := []runtime.Object{kubetest.Namespace("shop", nil)}
	var pods []*target.Pod
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		p := kubetest.NewPod("shop", name).Container("c-"+name, 0).P()
		objs = append(objs, p)
		pods = append(pods, &target.Pod{Namespace: "shop", Name: name, UID: p.UID, From: []string{"-l app=x"}, Object: p})
	}
	// A pod that was selected but is gone by the time its turn comes.
	pods = append(pods, &target.Pod{Namespace: "shop", Name: "gone", From: []string{"-l app=x"}, Object: kubetest.NewPod("shop", "gone").P()})
	f := kubetest.NewFakeAPI(objs...)
	dir := t.TempDir()
	// running counts the captures under way, peak is its largest value.
	// The first two captures wait for each other: with Concurrency 2 both
	// start at once, so peak must be exactly 2; a runner that captured one
	// pod at a time would keep the first waiting until the timeout.
	var running, peak, started atomic.Int32
	bothStarted := make(chan struct{})
	var mu sync.Mutex
	var done []string
	c := &Capture{
		Cluster: f.Cluster(), Selection: target.Selection{Namespace: "shop", Selector: "app=x"}, Concurrency: 2,
		Open: func(p *target.Pod, at time.Time) (*evidence.Writer, error) {
			return collect.Output{Dir: dir}.Create(p.Namespace+"_"+p.Name, at, nil)
		},
		Custody: func(at time.Time) evidence.Custody { return evidence.NewCustody(evidence.Tool{Name: "test"}, at) },
		OnStart: func(p *target.Pod) {
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			switch started.Add(1) {
			case 1:
				select {
				case <-bothStarted:
				case <-time.After(10 * time.Second):
				}
			case 2:
				close(bothStarted)
			}
			time.Sleep(20 * time.Millisecond)
		},
		OnDone: func(r PodResult) {
			running.Add(-1)
			mu.Lock()
			done = append(done, r.Pod.Name)
			mu.Unlock()
		},
	}
	results := c.Run(context.Background(), pods)
	if p := peak.Load(); p != 2 {
		t.Errorf("at most %d pods captured at once, want 2 (Concurrency)", p)
	}
	if running.Load() != 0 {
		t.Errorf("%d captures still counted as running after Run", running.Load())
	}
	if len(done) != len(pods) {
		t.Errorf("OnDone called for %v", done)
	}
	var outcomes []string
	for _, r := range results {
		outcomes = append(outcomes, r.Pod.Name+" "+OutcomeName(r.Outcome()))
	}
	if diff := cmp.Diff([]string{"a complete", "b complete", "c complete", "d complete", "e complete", "gone failed"}, outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if results[5].Err == nil || results[5].Result.Path != "" {
		t.Errorf("gone: err %v, bundle %q; want an error and no bundle", results[5].Err, results[5].Result.Path)
	}

	idx := NewIndex(dir, results)
	if diff := cmp.Diff(IndexSummary{Pods: 6, Complete: 5, Failed: 1}, idx.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	e := idx.Pods[0]
	if e.Bundle != filepath.Base(results[0].Result.Path) || e.SHA256 != results[0].Result.SHA256 || e.Outcome != "complete" {
		t.Errorf("index entry = %+v", e)
	}
	path := filepath.Join(dir, IndexName(time.Now()))
	if err := WriteIndex(path, idx); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(path, idx); err == nil {
		t.Error("WriteIndex overwrote an existing index")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("index mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var back Index
	if err := json.Unmarshal(b, &back); err != nil || back.Schema != IndexSchema || len(back.Pods) != 6 {
		t.Errorf("index read back: %v, schema %q, %d pods", err, back.Schema, len(back.Pods))
	}
	// Five bundles of five pods, nothing else.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		t.Errorf("%d files in the output folder, want 5 bundles and the index", len(entries))
	}
}

func TestCaptureInterruptedBeforeStart(t *testing.T) {
	f := kubetest.NewFakeAPI(kubetest.Namespace("shop", nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Capture{Cluster: f.Cluster(), Concurrency: 1,
		Open: func(*target.Pod, time.Time) (*evidence.Writer, error) {
			t.Fatal("a bundle was opened")
			return nil, nil
		}}
	res := c.Run(ctx, []*target.Pod{{Namespace: "shop", Name: "x"}})
	if res[0].Outcome() != collect.Failed || res[0].Err == nil {
		t.Errorf("result = %+v, want failed", res[0])
	}
}
