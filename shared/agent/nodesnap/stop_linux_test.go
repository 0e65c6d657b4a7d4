//go:build linux

package nodesnap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// TestStopped: a session stopped while it reads a log still ends its
// stream properly, with the log artifact closed and the report last,
// marked stopped.
func TestStopped(t *testing.T) {
	root := t.TempDir()
	k := newFakeKubelet(t, root)
	k.write(5000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Request: testRequest(), HostRoot: root}
	cfg.logHook = func(event, _ string) {
		if event == "read" {
			cancel()
		}
	}
	var buf bytes.Buffer
	// The cut-short log makes the session fail; the stream still ends.
	if _, err := Run(ctx, &buf, cfg); err == nil {
		t.Error("Run: no error for a session stopped in the middle of a log")
	}
	dir := t.TempDir()
	sum, err := stream.Demux(&buf, stream.ExtractTo(dir), nil)
	if err != nil || !sum.Ended {
		t.Fatalf("stream: %v, ended %v", err, sum.Ended)
	}
	if last := sum.Artifacts[len(sum.Artifacts)-1].Name; last != ArtifactReport {
		t.Errorf("last artifact %s", last)
	}
	for _, a := range sum.Artifacts {
		if a.Name == "node/app/logs/0.log" && a.AgentError == "" {
			t.Errorf("%s cut short without an error: %+v", a.Name, a)
		}
	}
	rep, _ := os.ReadFile(filepath.Join(dir, ArtifactReport))
	if !bytes.Contains(rep, []byte(`"stopped": true`)) {
		t.Errorf("report not marked stopped:\n%s", rep)
	}
}
