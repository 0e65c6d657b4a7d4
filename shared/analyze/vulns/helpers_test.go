package vulns

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// entry is one file of a test zip: a record (marshalled) or raw bytes.
type entry struct {
	name string
	rec  any
	raw  []byte
}

// writeZip writes an OSV export of the entries into dir and returns its path.
func writeZip(t testing.TB, dir, name string, entries ...entry) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		data := e.raw
		if e.rec != nil {
			if data, err = json.Marshal(e.rec); err != nil {
				t.Fatal(err)
			}
		}
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// rec builds an OSV record as a map, in the real schema's field names.
func rec(id, modified string, affected ...map[string]any) map[string]any {
	return map[string]any{"schema_version": "1.6.0", "id": id, "modified": modified, "affected": affected}
}

func aff(eco, name string, ranges ...map[string]any) map[string]any {
	return map[string]any{"package": map[string]any{"ecosystem": eco, "name": name}, "ranges": ranges}
}

func rng(typ string, events ...map[string]any) map[string]any {
	return map[string]any{"type": typ, "events": events}
}

func intro(v string) map[string]any { return map[string]any{"introduced": v} }
func fixed(v string) map[string]any { return map[string]any{"fixed": v} }

func vcmp(eco string) func(a, b string) (int, error) {
	c, err := versionFor(eco)
	if err != nil {
		panic(err)
	}
	return c
}
