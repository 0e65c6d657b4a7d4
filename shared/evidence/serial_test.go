package evidence

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
)

// TestSerialCompressorMemory: a tar.gz bundle of a pod's size (a few
// small artifacts and one log streamed) written with Serial allocates a
// fraction of what the parallel compressor does; this is what keeps a
// capture of many pods at once from growing with them. (zstd's encoder is
// as small either way: its format has no serial variant.)
func TestSerialCompressorMemory(t *testing.T) {
	f := TarGz
	alloc := func(serial bool) uint64 {
		dir := t.TempDir()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range 4 {
			w, err := Create(filepath.Join(dir, fmt.Sprintf("b%d%s", i, f.Extension())), Options{Format: f, Root: "b", Serial: serial})
			if err != nil {
				t.Fatal(err)
			}
			for j := range 5 {
				if _, err := w.AddBytes(Meta{Path: fmt.Sprintf("obj%d.json", j)}, bytes.Repeat([]byte(`{"a":1}`), 300)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Add(Meta{Path: "logs/app.log"}, bytes.NewReader(bytes.Repeat([]byte("log line\n"), 2000))); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Finish(NewCustody(Tool{Name: "test"}, fixedNow())); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	alloc(true) // the shared buffers made once, for both
	parallel, serial := alloc(false), alloc(true)
	t.Logf("%s: 4 bundles allocate %d KiB parallel, %d KiB serial", f, parallel>>10, serial>>10)
	if serial*2 > parallel {
		t.Errorf("%s: serial compression allocates %d KiB, more than half the parallel compressor's %d KiB", f, serial>>10, parallel>>10)
	}
}
