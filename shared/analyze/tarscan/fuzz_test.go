package tarscan

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// FuzzWalk feeds arbitrary bytes to Walk: it must return, without
// panicking, and never hand on a path outside the root.
func FuzzWalk(f *testing.F) {
	f.Add(tarOf(f,
		&tar.Header{Name: "bin/", Typeflag: tar.TypeDir},
		&tar.Header{Name: "bin/a", Size: 5, Mode: 0o4755},
		&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "../../../x"},
		&tar.Header{Name: "bin/b", Typeflag: tar.TypeLink, Linkname: "../etc/shadow"},
		&tar.Header{Name: "etc/.wh..wh..opq"},
		&tar.Header{Name: "etc/.wh...."},
	))
	f.Add(tarOf(f, &tar.Header{Name: "../../x", Size: 1}))
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &Walker{Budget: &Budget{MaxEntries: 10000, MaxBytes: 1 << 20}}
		w.Walk(context.Background(), bytes.NewReader(data), func(e *Entry, body io.Reader) error {
			if !strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path+"/", "/../") {
				t.Fatalf("entry %q has unsafe path %q", e.Name, e.Path)
			}
			io.Copy(io.Discard, body)
			return nil
		})
	})
}
