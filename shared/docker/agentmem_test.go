package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/docker/dockertest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// streamingLoad is an engine whose ImageLoad reads the tarball as it
// comes, as the real engine does, keeping only its small files.
type streamingLoad struct {
	*dockertest.Engine
	read int64
}

func (s *streamingLoad) ImageLoad(ctx context.Context, r io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	var small bytes.Buffer
	tw := tar.NewWriter(&small)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Size > 1<<20 {
			n, err := io.Copy(io.Discard, tr)
			if err != nil {
				return nil, err
			}
			s.read += n
			h.Size = 0
			tw.WriteHeader(h)
			continue
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.Close()
	return s.Engine.ImageLoad(ctx, &small, opts...)
}

// TestAgentImageLoadMemory: putting a large agent (a plugin's own
// executable is tens of MiB) into the agent image allocates about one
// copy of it (the image layer, whose digest the tarball's index needs
// first), not several: the tarball streams to the engine.
func TestAgentImageLoadMemory(t *testing.T) {
	const size = 64 << 20
	e := &streamingLoad{Engine: newAgentEngine(runtime.GOARCH)}
	live := &LiveOptions{Run: agent.RunOptions{Proc: true}, Agents: AgentSource{Embedded: map[string][]byte{runtime.GOARCH: make([]byte, size)}}}
	w, err := evidence.Create(filepath.Join(t.TempDir(), "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	r := &collect.Runner{Bundle: w}
	c := pick(t, "docker.agent", Collectors(e, running(), Options{Live: live, SpoolDir: t.TempDir()}))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := r.Run(context.Background(), []collect.Collector{c})
	runtime.ReadMemStats(&after)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if a, _ := artifact(res.Manifest, "agent/transfer.json"); !strings.Contains(a.Error, "the test stops at the sidecar") {
		t.Fatalf("agent step: %q, want the sidecar step reached", a.Error)
	}
	if e.read < size {
		t.Fatalf("the engine read %d bytes of large files, want the %d-byte agent", e.read, size)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("loading a %d MiB agent allocated %d MiB", size>>20, alloc>>20)
	if alloc > size+size/4 {
		t.Errorf("loading a %d MiB agent allocated %d MiB, want at most %d MiB (one copy and some)", size>>20, alloc>>20, (size+size/4)>>20)
	}
}
