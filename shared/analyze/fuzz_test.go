package analyze

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
)

// seedImages are small valid inputs for the fuzzers to mutate.
func seedImages() [][]byte {
	img := fixtureImage()
	return [][]byte{
		img.Legacy(),
		img.OCI(imagetest.OCIOptions{}),
		img.OCI(imagetest.OCIOptions{Gzip: true, LegacyManifest: true}),
		imagetest.Layer(imagetest.Reg("../x", "x"), imagetest.Symlink("a", "../../b"), imagetest.Whiteout("etc/x"), imagetest.Opaque("var")),
	}
}

// FuzzTarball runs the whole analysis of an image or filesystem tarball,
// held in memory, on arbitrary bytes: it must neither panic nor hang, and
// the reports must render.
func FuzzTarball(f *testing.F) {
	for _, s := range seedImages() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := &analysis{opts: testOpts}
		a.rep = &Report{Timeline: []Stage{}, Findings: []Finding{}, Packages: []Package{}}
		a.scan = newScanner(a)
		defer a.scan.close()
		a.budget = &tarscan.Budget{MaxEntries: 5000, MaxBytes: 16 << 20}
		tb := a.scanTarball(context.Background(), "fuzz.tar", bytes.NewReader(data))
		a.fromTarball(tb, "")
		a.finish()
		var out bytes.Buffer
		if err := a.rep.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		if err := a.rep.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzAnalyze runs Analyze on arbitrary files, compressed or not: the
// identification of formats and bundles is exercised too.
func FuzzAnalyze(f *testing.F) {
	for _, s := range seedImages() {
		f.Add(s)
	}
	f.Add(gz(f, seedImages()[0]))
	f.Add(zst(f, seedImages()[1]))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "input")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := testOpts
		opts.MaxEntries, opts.MaxBytes = 5000, 16<<20
		r, err := Analyze(context.Background(), p, opts)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := r.WriteHTML(&out); err != nil {
			t.Fatal(err)
		}
	})
}
