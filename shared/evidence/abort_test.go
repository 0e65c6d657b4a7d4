package evidence

import (
	"bytes"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAbortWhileCompressing aborts right after a large compressible
// artifact, while pgzip (and zstd) still have blocks in flight that their
// own goroutines write to the output after Add returned. Abort must wait
// for them or cut them off: a late write must neither reach a stopped
// hash (a send on a closed channel) nor the output after Abort returned.
func TestAbortWhileCompressing(t *testing.T) {
	text := bytes.Repeat([]byte("2026-11-29T12:00:00Z GET /healthz 200 OK\n"), 200000) // 8 MiB, many blocks
	for _, f := range []Format{TarGz, TarZst} {
		t.Run(f.String(), func(t *testing.T) {
			base := runtime.NumGoroutine()
			dir := t.TempDir()
			for i := range 20 {
				file := filepath.Join(dir, "b"+strconv.Itoa(i)+f.Extension())
				w, err := Create(file, Options{Root: "r", Format: f})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.AddBytes(Meta{Path: "big.log"}, text); err != nil {
					t.Fatal(err)
				}
				partial, err := w.Abort()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(partial, ".partial") {
					t.Fatalf("Abort kept %q, want a .partial name", partial)
				}
			}
			settleGoroutines(t, base)
		})
	}
}

// TestAbortReleasesGoroutines aborts bundles of every format, with and
// without a failed output, and checks that nothing the writer started is
// left running: the zip writer, the compressors, the archive hashing.
func TestAbortReleasesGoroutines(t *testing.T) {
	data := make([]byte, 3<<20) // incompressible, so the output fills up
	rand.NewChaCha8([32]byte{1}).Read(data)
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		for _, broken := range []bool{false, true} {
			t.Run(f.String()+map[bool]string{false: "/healthy output", true: "/failed output"}[broken], func(t *testing.T) {
				base := runtime.NumGoroutine()
				var out io.Writer = io.Discard
				if broken {
					out = &fullWriter{limit: 1 << 20}
				}
				w, err := New(out, Options{Root: "r", Format: f, SpoolDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = w.AddBytes(Meta{Path: "known"}, data)
				if err == nil {
					_, err = w.Add(Meta{Path: "streamed"}, bytes.NewReader(data))
				}
				if broken != (err != nil) {
					t.Fatalf("Add = %v, want an error only with the failed output", err)
				}
				if _, err := w.Abort(); err != nil {
					t.Fatal(err)
				}
				settleGoroutines(t, base)
			})
		}
	}
}

// settleGoroutines waits for the goroutine count to fall back to base and
// fails the test, with every goroutine's stack, when it does not.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines left running, %d before:\n%s", n, base, buf)
	}
}
