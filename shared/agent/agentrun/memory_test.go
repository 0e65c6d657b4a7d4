package agentrun

import (
	"strings"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// TestMemoryActions: a core's CLOSE metadata becomes a custody action
// with when the process was stopped and for how long; a core cut off
// before its CLOSE still gives one, saying the times are unknown.
func TestMemoryActions(t *testing.T) {
	stopped := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	resumed := stopped.Add(1500 * time.Millisecond)
	sum := &stream.Summary{Artifacts: []stream.ArtifactResult{
		{Name: "proc/snapshot.json"},
		{Name: "memory/1-app.json"},
		{Name: "memory/1-app.core", Meta: stream.Meta{"pid": 1}, CloseMeta: stream.Meta{
			"stopped": stopped.Format(time.RFC3339Nano), "resumed": resumed.Format(time.RFC3339Nano),
			"stopped_for": "1.5s", "comm": "app", "threads": 4, "memory_bytes": 1024}},
		{Name: "memory/7-sh.core", Meta: stream.Meta{"pid": 7}, AgentError: "stream cut"},
	}}
	acts := MemoryActions(sum)
	if len(acts) != 2 {
		t.Fatalf("%d actions, want 2: %+v", len(acts), acts)
	}
	a := acts[0]
	if !a.At.Equal(stopped) || !a.Until.Equal(resumed) || !strings.Contains(a.Detail, "process 1 (app), 4 threads stopped with ptrace") || !strings.Contains(a.Detail, "for 1.5s") {
		t.Errorf("action %+v", a)
	}
	b := acts[1]
	if b.Error != "stream cut" || !strings.Contains(b.Detail, "unknown") || !b.Until.IsZero() {
		t.Errorf("cut-off action %+v", b)
	}
	if MemoryActions(nil) != nil {
		t.Error("actions from no stream")
	}
}
