package podcollect

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// runCapture captures one pod into a tar bundle in a temp folder and
// returns the result and the bundle's files.
func runCapture(t *testing.T, f *kubetest.FakeAPI, pod *corev1.Pod, opts preflight.Options) (collect.Result, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	c := &Capture{
		Cluster: f.Cluster(), Options: opts, Selection: target.Selection{Namespace: pod.Namespace, Targets: []target.Target{{Kind: target.KindPod, Name: pod.Name, Arg: pod.Name}}},
		Open: func(p *target.Pod, at time.Time) (*evidence.Writer, error) {
			return evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
		},
		Custody: func(at time.Time) evidence.Custody { return evidence.NewCustody(evidence.Tool{Name: "test"}, at) },
	}
	res := c.Run(context.Background(), []*target.Pod{{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, From: []string{pod.Name}, Object: pod}})
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("capture: %v", res[0].Err)
	}
	if res[0].Result.Err != nil {
		t.Fatalf("bundle: %v", res[0].Result.Err)
	}
	return res[0].Result, kubetest.ReadTar(t, res[0].Result.Path, "b/")
}
