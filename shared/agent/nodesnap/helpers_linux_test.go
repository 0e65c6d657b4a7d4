//go:build linux

package nodesnap

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// testPod is the pod of the fake host trees.
const (
	testNS   = "default"
	testPod  = "web-0"
	testUID  = "0f1e2d3c-0000-4000-8000-000000000001"
	testCID  = "3b9f0c5a7d1e2f4a6b8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a"
	testLogs = "/var/log/kubelet-pods"
)

// testRequest is a request for one container "app" of the test pod.
func testRequest() Request {
	return Request{
		Namespace: testNS, Pod: testPod, PodUID: testUID,
		Containers: []Container{{Name: "app", ContainerID: "containerd://" + testCID}},
		PodLogsDir: testLogs,
		Since:      time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC),
	}
}

// writeFile writes a file under root, creating its folder.
func writeFile(t testing.TB, root, p string, data []byte) string {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return full
}

// snapResult is a session as the client received it.
type snapResult struct {
	dir     string // artifacts extracted here
	sum     stream.Summary
	rep     Report
	res     Result
	err     error
	artByNm map[string]stream.ArtifactResult
}

// runSnap runs a session into a buffer, checks the stream verifies end to
// end, and extracts it.
func runSnap(t *testing.T, cfg Config) snapResult {
	t.Helper()
	var buf bytes.Buffer
	res, err := Run(context.Background(), &buf, cfg)
	out := snapResult{dir: t.TempDir(), res: res, err: err, artByNm: map[string]stream.ArtifactResult{}}
	sum, derr := stream.Demux(&buf, stream.ExtractTo(out.dir), &stream.Options{SpoolDir: out.dir})
	if derr != nil && err == nil {
		t.Fatalf("reading the stream: %v", derr)
	}
	out.sum = *sum
	if !sum.Ended {
		t.Fatal("the stream has no end record")
	}
	for _, a := range sum.Artifacts {
		out.artByNm[a.Name] = a
	}
	if n := len(sum.Artifacts); n < 2 || sum.Artifacts[0].Name != "agent/info.json" || sum.Artifacts[n-1].Name != ArtifactReport {
		t.Fatalf("artifacts %v: want agent/info.json first and %s last", names(*sum), ArtifactReport)
	}
	b, rerr := os.ReadFile(filepath.Join(out.dir, ArtifactReport))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err := json.Unmarshal(b, &out.rep); err != nil {
		t.Fatalf("decoding the report: %v\n%s", err, b)
	}
	return out
}

func names(sum stream.Summary) []string {
	var n []string
	for _, a := range sum.Artifacts {
		n = append(n, a.Name)
	}
	return n
}

// read returns an extracted artifact.
func (r snapResult) read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		t.Fatalf("artifact %s: %v (artifacts: %v)", name, err, names(r.sum))
	}
	return b
}
