package agentio

import (
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// TestReceiveLargeArtifactBoundedMemory streams one large artifact of
// incompressible bytes (a process's core, 384 MiB) from an agent stream
// into a bundle, and checks that the memory the Go runtime obtained from
// the system grew by a bounded amount, whatever the artifact's size: the
// demux, the spool and the bundle writer each hold a few MiB at most.
func TestReceiveLargeArtifactBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 384 MiB")
	}
	const size = 384 << 20
	const bound = 100 << 20 // the plugin's whole RSS target

	pr, pw := io.Pipe()
	go func() {
		w, err := stream.NewWriter(pw)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		a, err := w.Open("memory/1-big.core", nil)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		rng := rand.NewChaCha8([32]byte{7})
		chunk := make([]byte, 1<<20) // memcore's chunk
		for n := 0; n < size; n += len(chunk) {
			rng.Read(chunk)
			if _, err := a.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		a.Finish(stream.Meta{"pid": 1}, nil)
		pw.CloseWithError(w.Close())
	}()

	dir := t.TempDir()
	bw, err := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var rerr error
	r := &collect.Runner{Bundle: bw}
	res := r.Run(context.Background(), []collect.Collector{collect.Func("test.agent", func(ctx context.Context, sink collect.Sink) error {
		_, rerr = Receive(ctx, sink, pr, "test.agent", dir)
		return nil
	})})
	runtime.ReadMemStats(&after)
	if res.Err != nil || rerr != nil {
		t.Fatalf("run: %v, receive: %v", res.Err, rerr)
	}
	var got int64
	for _, a := range res.Manifest.Artifacts {
		if a.Path == "memory/1-big.core" {
			got = a.Size
		}
	}
	if got != size {
		t.Fatalf("the core in the bundle has %d bytes, want %d", got, size)
	}
	grew := int64(after.Sys) - int64(before.Sys)
	t.Logf("runtime memory from the system: %d MiB before, %d MiB after (heap high-water %d MiB); %d GCs", before.Sys>>20, after.Sys>>20, after.HeapSys>>20, after.NumGC-before.NumGC)
	if grew > bound {
		t.Errorf("receiving a %d MiB artifact took %d MiB more memory from the system, want at most %d MiB", size>>20, grew>>20, bound>>20)
	}
}
