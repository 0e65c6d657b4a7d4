package analyze

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/imagecfg"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
	"github.com/forensic-tools/forensic/shared/collect"
)

// tarball is one tar stream that is either an image tarball or a plain
// filesystem tarball: which one is only known at its end, because
// `docker save` writes manifest.json last. While it is read, entries that
// can only belong to an image (layer.tar files, blobs) are read as layers,
// small JSON files at its top are kept, and every other entry is recorded
// as a file of a filesystem, so that either reading is possible at the end
// without reading anything twice.
type tarball struct {
	name string
	// fs holds the entries read as a filesystem.
	fs *layerData
	// layers are the nested tar streams, by their path in the tarball.
	layers map[string]*layerData
	order  []string
	// aliases are layer.tar symbolic links (docker save writes one when
	// two images share a layer), to the path they point to.
	aliases map[string]string
	// files are the kept JSON files, by path.
	files map[string][]byte
	err   error
}

// layerPath reports whether rel (no leading slash) is where an image
// tarball keeps a layer: "<id>/layer.tar" or "blobs/<alg>/<hex>".
func layerPath(rel string) bool {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 2 && parts[1] == "layer.tar":
		return true
	case len(parts) == 3 && parts[0] == "blobs" && imagecfg.ValidDigest(parts[1]+":"+parts[2]):
		return true
	}
	return false
}

// keptPath reports whether rel is a small top-level file of an image
// tarball that is kept to be parsed at the end.
func keptPath(rel string) bool {
	if strings.Contains(rel, "/") {
		return false
	}
	return rel == "repositories" || rel == "oci-layout" || strings.HasSuffix(rel, ".json")
}

func (t *tarball) lookup(p string) ([]byte, bool) {
	b, ok := t.files[p]
	return b, ok
}

// layer returns the layer at p, following a layer.tar symbolic link.
func (t *tarball) layer(p string) *layerData {
	for range 8 {
		if l, ok := t.layers[p]; ok {
			return l
		}
		target, ok := t.aliases[p]
		if !ok {
			return nil
		}
		p = target
	}
	return nil
}

// scanTarball reads a tar stream into a tarball.
func (a *analysis) scanTarball(ctx context.Context, name string, r io.Reader) *tarball {
	t := &tarball{name: name, fs: newLayerData(name), layers: map[string]*layerData{}, aliases: map[string]string{}, files: map[string][]byte{}}
	s := a.scan
	w := s.walker(t.fs)
	w.Uncharged = func(e *tarscan.Entry) bool { return layerPath(strings.TrimPrefix(e.Path, "/")) }
	st, err := w.Walk(ctx, r, func(e *tarscan.Entry, body io.Reader) error {
		rel := strings.TrimPrefix(e.Path, "/")
		switch {
		case e.Type == tarscan.Symlink && path.Base(rel) == "layer.tar":
			if target, ok := imagecfg.CleanPath(path.Join(path.Dir(rel), e.Link)); ok {
				t.aliases[rel] = target
			}
		case e.Type == tarscan.Regular && layerPath(rel):
			head := make([]byte, 512)
			n, _ := io.ReadFull(body, head[:min(int64(len(head)), e.Size)])
			head = head[:n]
			if strings.HasPrefix(rel, "blobs/") && e.Size <= maxKept && bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("{")) {
				a.keep(t, rel, io.MultiReader(bytes.NewReader(head), body), e.Size)
				break
			}
			l := s.scanStream(ctx, rel, io.MultiReader(bytes.NewReader(head), body))
			if _, dup := t.layers[rel]; !dup {
				t.order = append(t.order, rel)
			}
			t.layers[rel] = l
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.entry(t.fs, e, eofReader{})
			return nil
		case e.Type == tarscan.Regular && keptPath(rel) && e.Size <= maxKept:
			data := a.keep(t, rel, body, e.Size)
			if data != nil {
				s.entry(t.fs, e, bytes.NewReader(data))
				return nil
			}
		}
		s.entry(t.fs, e, body)
		return nil
	})
	t.fs.stats.Entries += st.Entries
	t.fs.stats.Bytes += st.Bytes
	s.flush(t.fs)
	t.fs.parseRPM()
	t.fs.capNotes()
	t.err = err
	return t
}

// keep reads a small file into t.files, within the analysis' allowance
// for kept files, and returns its content (nil when over the allowance).
func (a *analysis) keep(t *tarball, rel string, r io.Reader, size int64) []byte {
	if a.kept+size > maxKeptTotal {
		a.problem("%s: %s not read: the JSON files of the input exceed %s in all", t.name, rel, collect.HumanBytes(maxKeptTotal))
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil
	}
	a.kept += int64(len(data))
	t.files[rel] = data
	return data
}

type eofReader struct{}

// Read implements io.Reader for an empty stream.
func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// isImage tells whether the tarball is an image: it has a manifest.json
// or index.json, or layers.
func (t *tarball) isImage() bool {
	if len(t.layers) > 0 {
		return true
	}
	_, m := t.files["manifest.json"]
	_, i := t.files["index.json"]
	_, o := t.files["oci-layout"]
	return m && looksLikeSaveManifest(t.files["manifest.json"]) || i && o || len(t.aliases) > 0
}

func looksLikeSaveManifest(b []byte) bool {
	return bytes.Contains(b, []byte(`"Config"`)) && bytes.Contains(b, []byte(`"Layers"`))
}

func (t *tarball) describe() string {
	return fmt.Sprintf("%s (%d entries)", t.name, t.fs.stats.Entries)
}

func imageResolve(t *tarball) ([]imagecfg.Image, []string, error) {
	return imagecfg.Resolve(t.lookup)
}
