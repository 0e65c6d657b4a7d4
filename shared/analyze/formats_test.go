package analyze

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mholt/archives"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// TestEveryFormatRead goes through the format table: every tar format is
// read from its content, as a filesystem tarball and as an image layer,
// and named as the table names it; every bundle format is read as a
// bundle. The compressor comes from the archive library, found by the
// table's extension, so that a table row the library does not know fails.
func TestEveryFormatRead(t *testing.T) {
	fs := imagetest.Layer(imagetest.Reg("etc/motd", "hello\n"), imagetest.Exe("tmp/dropper", elf("dropper")))
	for _, f := range evidence.Formats() {
		t.Run(f.String(), func(t *testing.T) {
			if f.Bundle() {
				r, err := Analyze(context.Background(), writeBundle(t, bundleSpec{format: f}), testOpts)
				if err != nil {
					t.Fatal(err)
				}
				if r.Input.Kind != KindBundle || r.Input.Format != f.Extension() {
					t.Errorf("bundle read as %s %q, want %s %q", r.Input.Kind, r.Input.Format, KindBundle, f.Extension())
				}
			}
			if f.Backend() != evidence.BackendTar {
				return
			}
			data := fs
			if f.Compression() != "" {
				found, _, err := archives.Identify(context.Background(), "x"+f.Extension(), nil)
				if err != nil {
					t.Fatalf("the archive library does not know %s: %v", f.Extension(), err)
				}
				ca, ok := found.(archives.CompressedArchive)
				if !ok || ca.Compression == nil || strings.TrimPrefix(ca.Compression.Extension(), ".") != f.Compression() {
					t.Fatalf("the archive library reads %s as %T", f.Extension(), found)
				}
				var b bytes.Buffer
				w, err := ca.Compression.OpenWriter(&b)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(fs)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				data = b.Bytes()
			}
			r := analyzeBytes(t, "fs", data, testOpts)
			if r.Input.Kind != KindFilesystem || r.Input.Format != f.Extension() || !r.Complete {
				t.Errorf("filesystem read as %s %q (complete %v, %q), want %s %q", r.Input.Kind, r.Input.Format, r.Complete, r.Problems, KindFilesystem, f.Extension())
			}
			if got := keys(r); len(got) != 1 || got[0] != "exec-in-tmp /tmp/dropper" {
				t.Errorf("findings %q, want the dropper", got)
			}
			img := imagetest.Image{Layers: [][]byte{data}}
			r = analyzeBytes(t, "image", img.Legacy(), testOpts)
			if len(r.Timeline) != 1 || r.Timeline[0].Compression != f.Compression() || r.Timeline[0].Error != "" {
				t.Errorf("layer read as %+v, want compression %q", r.Timeline, f.Compression())
			}
		})
	}
}
