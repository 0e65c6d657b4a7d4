package evidence

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestShortKnownSize gives the writer a source that ends before the size
// it announced, as a source whose length was known but which failed. That
// is a failure of the artifact, not of the bundle: the manifest says so,
// the bundle stays writable and verifiable, and every stored byte is
// covered by the recorded hash (the zero fill that tar needs included).
func TestShortKnownSize(t *testing.T) {
	data := []byte("only part of what was announced\n")
	const announced = 5000
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		for _, srcErr := range []error{nil, errors.New("connection reset")} {
			name := f.String() + "/early end"
			if srcErr != nil {
				name = f.String() + "/source error"
			}
			t.Run(name, func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "b"+f.Extension())
				w, err := Create(file, Options{Root: "r", Format: f, Now: fixedNow})
				if err != nil {
					t.Fatal(err)
				}
				var src io.Reader = bytes.NewReader(data)
				if srcErr != nil {
					src = failing(data, srcErr)
				}
				a, err := w.add(Meta{Path: "short.bin"}, announced, src)
				if !IsSourceError(err) {
					t.Fatalf("short source: add = %v, want a SourceError", err)
				}
				if srcErr != nil && !strings.Contains(err.Error(), srcErr.Error()) {
					t.Errorf("error %q does not carry the source's %q", err, srcErr)
				}
				if a.Error == "" || !a.Partial {
					t.Errorf("artifact recorded as partial %v, error %q; want a failed artifact", a.Partial, a.Error)
				}
				if _, err := w.AddBytes(Meta{Path: "after.txt"}, []byte("later")); err != nil {
					t.Fatalf("bundle unusable after a short source: %v", err)
				}
				m, err := w.Finish(Custody{})
				if err != nil {
					t.Fatal(err)
				}
				if m.Complete {
					t.Error("bundle with a short artifact marked complete")
				}
				rep, err := Verify(context.Background(), file)
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Intact {
					var b strings.Builder
					rep.WriteText(&b)
					t.Fatalf("bundle not intact:\n%s", b.String())
				}
				// What is stored is what the manifest hashed: the real bytes,
				// then, where the format needs the announced size, zeros.
				want := data
				if f != Zip {
					want = append(append([]byte(nil), data...), make([]byte, announced-len(data))...)
				}
				if a.Size != int64(len(want)) || a.SHA256 != sum(want) {
					t.Errorf("recorded size %d sha256 %s; want %d %s", a.Size, a.SHA256, len(want), sum(want))
				}
			})
		}
	}
}
