package docker

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent/agentio"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// TestCorruptAgentArtifactIsMarked flips one byte of an artifact on its way
// from the agent: the bytes are kept, hashed as received, and the artifact
// is marked with the failed check.
func TestCorruptAgentArtifactIsMarked(t *testing.T) {
	var wire bytes.Buffer
	w, err := stream.NewWriter(&wire)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := w.Open("proc/snapshot.json", nil)
	a.Write([]byte(`{"processes":[{"pid":1,"cmdline":["/webserver"]}]}`))
	a.Finish(nil, nil)
	w.Close()
	b := wire.Bytes()
	i := bytes.Index(b, []byte("webserver"))
	b[i] = 'W'

	dir := t.TempDir()
	bw, _ := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	r := &collect.Runner{Bundle: bw}
	res := r.Run(context.Background(), []collect.Collector{collect.Func("docker.agent", func(ctx context.Context, sink collect.Sink) error {
		_, derr := stream.Demux(bytes.NewReader(b), func(art *stream.Artifact) error {
			if err := sink.Stream(ctx, evidence.Meta{Path: art.Name}, agentio.Checked(art)); isFatal(err) {
				return err
			}
			return nil
		}, nil)
		return derr
	})})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got, ok := artifact(res.Manifest, "proc/snapshot.json")
	if !ok || !got.Partial || !strings.Contains(got.Error, "transfer check failed") || got.Size == 0 {
		t.Errorf("corrupt artifact recorded as %+v", got)
	}
	if res.Manifest.Complete {
		t.Error("bundle with a corrupt agent artifact marked complete")
	}
}

func TestLoadError(t *testing.T) {
	ok := `{"stream":"Loaded image: forensic/agent:dev\n"}`
	bad := `{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}`
	if err := loadError(strings.NewReader(ok)); err != nil {
		t.Errorf("good load: %v", err)
	}
	if err := loadError(strings.NewReader(ok + bad)); err == nil || !strings.Contains(err.Error(), "invalid tar header") {
		t.Errorf("failed load: %v", err)
	}
}
