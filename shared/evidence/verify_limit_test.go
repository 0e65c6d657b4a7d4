package evidence

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"testing"
)

// pattern is an endless reader that repeats p, so that a test can stream a
// large file without holding it.
type pattern struct {
	p   []byte
	off int
}

func (r *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = r.p[r.off]
		r.off = (r.off + 1) % len(r.p)
	}
	return len(b), nil
}

// TestVerifyOversizedRootFile streams a crafted archive whose manifest.json
// or SHA256SUMS is larger than Verify keeps in memory. Verify must say so
// in one clear problem line and keep memory flat.
func TestVerifyOversizedRootFile(t *testing.T) {
	const size = rootFileLimit + 1<<20
	for _, name := range []string{ManifestName, SumsName} {
		t.Run(name, func(t *testing.T) {
			pr, pw := io.Pipe()
			go func() {
				tw := tar.NewWriter(pw)
				err := error(nil)
				if name != ManifestName {
					m := []byte(`{"schema":"forensic-bundle/v1","root":"r","complete":true,"artifacts":[]}`)
					if err = tw.WriteHeader(&tar.Header{Name: "r/" + ManifestName, Size: int64(len(m)), Mode: 0o644, Typeflag: tar.TypeReg}); err == nil {
						_, err = tw.Write(m)
					}
				}
				if err == nil {
					err = tw.WriteHeader(&tar.Header{Name: "r/" + name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg})
				}
				if err == nil {
					line := []byte("0000000000000000000000000000000000000000000000000000000000000000  some/file\n")
					_, err = io.Copy(tw, io.LimitReader(&pattern{p: line}, size))
				}
				if err == nil {
					err = tw.Close()
				}
				pw.CloseWithError(err)
			}()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := verifyStream(context.Background(), "crafted.tar", pr)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("verifying allocated %d MiB for a %d MiB %s", grew>>20, size>>20, name)
			}
			want := fmt.Sprintf("%s is %d bytes, more than the limit of %d: not a bundle this tool wrote, or tampered", name, size, 64<<20)
			if !slices.Contains(r.Problems, want) {
				t.Errorf("problems %q lack %q", r.Problems, want)
			}
			if r.Intact {
				t.Error("bundle with an oversized root file reported intact")
			}
		})
	}
}
