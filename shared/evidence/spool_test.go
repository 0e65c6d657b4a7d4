package evidence

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestSpoolFileRemoved streams artifacts too large to be held in memory,
// so that they are spooled beside the bundle, and checks that no spool
// file is left behind: after Finish, after Abort and after an output
// failure, both where an open file can be unlinked (Linux) and where it
// cannot (Windows, acted out by making the unlink fail).
func TestSpoolFileRemoved(t *testing.T) {
	data := make([]byte, 2*smallStream) // incompressible, so that a small output fills up
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	for _, unlink := range []string{"unlink works", "unlink fails"} {
		for _, f := range []Format{TarGz, TarZst, Tar} {
			for _, end := range []string{"finish", "abort", "output failure"} {
				t.Run(unlink+"/"+f.String()+"/"+end, func(t *testing.T) {
					if unlink == "unlink fails" {
						old := removeOpenFile
						removeOpenFile = func(string) error {
							return errors.New("the process cannot access the file because it is being used by another process")
						}
						t.Cleanup(func() { removeOpenFile = old })
					}
					spool := t.TempDir()
					var out io.Writer = io.Discard
					if end == "output failure" {
						out = &fullWriter{limit: 64 << 10}
					}
					w, err := New(out, Options{Root: "r", Format: f, SpoolDir: spool})
					if err != nil {
						t.Fatal(err)
					}
					_, err = w.Add(Meta{Path: "big.bin"}, bytes.NewReader(data))
					if (end == "output failure") != (err != nil) {
						t.Fatalf("Add = %v", err)
					}
					if end == "finish" {
						if _, err := w.Finish(Custody{}); err != nil {
							t.Fatal(err)
						}
					} else {
						if _, err := w.Abort(); err != nil {
							t.Fatal(err)
						}
					}
					left, err := os.ReadDir(spool)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range left {
						t.Errorf("spool file %s left behind", e.Name())
					}
				})
			}
		}
	}
}
