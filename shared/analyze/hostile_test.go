package analyze

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// hostileImage wraps layers into a legacy image tarball.
func hostileImage(layers ...[]byte) []byte {
	return imagetest.Image{Tags: []string{"hostile:1"}, Layers: layers}.Legacy()
}

// rewrite changes the outer tarball's entries with fn (nil drops one).
func rewrite(t *testing.T, data []byte, fn func(e tarEntry) *tarEntry) []byte {
	t.Helper()
	var out []tarEntry
	for _, e := range untar(t, data) {
		if r := fn(e); r != nil {
			out = append(out, *r)
		}
	}
	return retar(t, out)
}

// entriesBomb is a gzip stream of n tar headers in members of 10000
// identical headers: a few KiB that hold millions of entries.
func entriesBomb(t *testing.T, n int) []byte {
	var block bytes.Buffer
	tw := tar.NewWriter(&block)
	tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(0, 0)})
	tw.Flush()
	hdr := block.Bytes()[:512]
	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	for range 10000 {
		zw.Write(hdr)
	}
	zw.Close()
	var out bytes.Buffer
	for range n / 10000 {
		out.Write(member.Bytes())
	}
	zw = gzip.NewWriter(&out)
	zw.Write(make([]byte, 1024))
	zw.Close()
	return out.Bytes()
}

// zeroBomb is a gzip stream of a tar holding one file of size bytes of
// zeros, made of repeated members so that it is built in no time.
func zeroBomb(t *testing.T, size int64) []byte {
	var out bytes.Buffer
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)})
	tw.Flush()
	zw := gzip.NewWriter(&out)
	zw.Write(hdr.Bytes()[:512])
	zw.Close()
	var member bytes.Buffer
	zw = gzip.NewWriter(&member)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for range size >> 20 {
		out.Write(member.Bytes())
	}
	return out.Bytes()
}

func TestHostileInputs(t *testing.T) {
	// Nothing may be written anywhere: not in the working folder, not in
	// the temporary folder, not where hostile names point.
	work, tmp := t.TempDir(), t.TempDir()
	t.Chdir(work)
	t.Setenv("TMPDIR", tmp)
	marker := "forensic-escape-" + strings.ReplaceAll(t.Name(), "/", "-")

	base := testImage(false)
	legacy := base.Legacy()
	tests := []struct {
		name    string
		data    []byte
		opts    func(*Options)
		rules   []string // findings that must be there
		problem string   // a problem that must be reported ("" for none)
		err     string   // Analyze must fail with this
	}{
		{name: "path traversal", data: hostileImage(imagetest.Layer(
			imagetest.Reg("../../../../"+marker, "x"), imagetest.Reg("a/../../"+marker, "x"), imagetest.Reg("etc/ok", "x"))),
			rules: []string{"path-escape"}},
		{name: "absolute path", data: hostileImage(imagetest.Layer(imagetest.Reg("/tmp/"+marker, "x"))), rules: []string{"absolute-path"}},
		{name: "symlink out of the root", data: hostileImage(imagetest.Layer(imagetest.Symlink("usr/x", "../../../../etc"))), rules: []string{"symlink-escape"}},
		{name: "hardlink out of the root", data: hostileImage(imagetest.Layer(imagetest.File{Name: "bin/x", Type: tar.TypeLink, Link: "../../etc/shadow"})),
			rules: []string{"hardlink-escape", "hardlink-missing"}},
		{name: "write through a symlink", data: hostileImage(imagetest.Layer(imagetest.Symlink("evil", "/etc"), imagetest.Reg("evil/cron.d/x", "* * * * * root sh\n"))),
			rules: []string{"through-symlink"}},
		{name: "whiteout of ../etc", data: hostileImage(
			imagetest.Layer(imagetest.Reg("etc/passwd", "root:x:0:0::/:/bin/sh\n")),
			imagetest.Layer(imagetest.Reg("x/.wh...", ""), imagetest.Reg("../.wh.etc", ""), imagetest.Reg(".wh.../etc", ""))),
			rules: []string{"whiteout-escape", "path-escape"}},
		{name: "duplicate entries", data: hostileImage(imagetest.Layer(imagetest.Reg("etc/x", "first"), imagetest.Exe("etc/x", elf("second")))),
			rules: []string{"duplicate-entry"}},
		{name: "huge declared size", data: hostileImage(imagetest.Layer(imagetest.File{Name: "big", Mode: 0o644, Body: "x", Size: 1 << 40})),
			problem: "declares 1099511627776 bytes"},
		{name: "declared size past the end", data: hostileImage(imagetest.Layer(imagetest.File{Name: "big", Mode: 0o644, Body: "x", Size: 1 << 30})),
			problem: "truncated"},
		{name: "millions of entries", data: entriesBomb(t, 1_200_000), problem: "more than 1000000 entries", rules: []string{"duplicate-entry"}},
		{name: "entry limit", data: hostileImage(imagetest.Layer(manyFiles(3000)...)), opts: func(o *Options) { o.MaxEntries = 1000 }, problem: "more than 1000 entries"},
		{name: "compression bomb", data: zeroBomb(t, 3<<30), problem: "compression bomb"},
		{name: "truncated", data: legacy[:len(legacy)/2], problem: "truncated"},
		{name: "corrupt", data: corrupt(legacy, len(legacy)/3), problem: "corrupt"},
		{name: "invalid manifest JSON", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if e.name == "manifest.json" {
				e.body = []byte(`[{"Config": "x.json", "Layers": [`)
			}
			return &e
		}), problem: "manifest.json is not valid JSON", rules: []string{"setuid"}},
		{name: "invalid config JSON", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if strings.HasSuffix(e.name, ".json") && !strings.Contains(e.name, "/") && e.name != "manifest.json" {
				e.body = []byte(`{"history": [`)
			}
			return &e
		}), problem: "not valid JSON", rules: []string{"config-digest-mismatch"}},
		{name: "missing layer", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if strings.HasSuffix(e.name, "/layer.tar") && bytes.Contains(e.body, []byte("dropper")) {
				return nil
			}
			return &e
		}), problem: "which is not in the tarball", rules: []string{"missing-layer"}},
		{name: "layer dropped from the manifest", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if e.name == "manifest.json" {
				var m []map[string]any
				json.Unmarshal(e.body, &m)
				m[0]["Layers"] = m[0]["Layers"].([]any)[:2]
				e.body, _ = json.Marshal(m)
			}
			return &e
		}), rules: []string{"history-mismatch", "diff-ids-mismatch"}},
		{name: "altered layer", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if strings.HasSuffix(e.name, "/layer.tar") {
				e.body = bytes.Replace(e.body, []byte("welcome"), []byte("WELCOME"), 1)
			}
			return &e
		}), rules: []string{"layer-digest-mismatch"}},
		{name: "layer that is not a tar", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if strings.HasSuffix(e.name, "/layer.tar") && bytes.Contains(e.body, []byte("dropper")) {
				e.body = bytes.Repeat([]byte("garbage!"), 200)
			}
			return &e
		}), problem: "could not be read in full", rules: []string{"layer-digest-mismatch"}},
		{name: "manifest layer outside the tarball", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if e.name == "manifest.json" {
				e.body = []byte(`[{"Config":"c.json","Layers":["../../etc/passwd"]}]`)
			}
			return &e
		}), problem: "outside the tarball"},
		{name: "layer symlink out of the tarball", data: rewrite(t, legacy, func(e tarEntry) *tarEntry {
			if strings.HasSuffix(e.name, "/layer.tar") && bytes.Contains(e.body, []byte("dropper")) {
				e.body, e.link = nil, "../../../etc/passwd"
			}
			return &e
		}), problem: "which is not in the tarball", rules: []string{"missing-layer"}},
		{name: "deep path", data: hostileImage(imagetest.Layer(imagetest.Reg(strings.Repeat("d/", 2000)+"f", "x")))},
		{name: "not an archive", data: []byte("this is not an archive, just text\n"), err: "not a tar archive"},
		{name: "empty file", data: nil, err: "not a tar archive"},
		{name: "zip that is not a bundle", data: zipOf(t, "a.txt", "hello"), err: "only evidence bundles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOpts
			if tt.opts != nil {
				tt.opts(&opts)
			}
			// A bound that catches unbounded work, not a timing: 1.2 M
			// entries take about 7 s, but close to 60 s under the race
			// detector on a loaded 2-core machine.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			in := filepath.Join(t.TempDir(), "input")
			if err := os.WriteFile(in, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Analyze(ctx, in, opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Analyze error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			for _, rule := range tt.rules {
				if find(r, rule, "") == nil {
					t.Errorf("no %s finding; findings: %q", rule, keys(r))
				}
			}
			switch {
			case tt.problem == "" && !r.Complete:
				t.Errorf("unexpected problems: %q", r.Problems)
			case tt.problem != "" && (!hasProblem(r, tt.problem) || r.Complete):
				t.Errorf("problems %q (complete %v), want one containing %q", r.Problems, r.Complete, tt.problem)
			}
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Error(err)
			}
			if err := r.WriteHTML(&b); err != nil {
				t.Error(err)
			}
			if err := r.WriteJSON(&b); err != nil {
				t.Error(err)
			}
		})
	}
	for _, dir := range []string{work, tmp} {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%s is not empty after the analyses: %v", dir, entries)
		}
	}
	for _, p := range []string{"/" + marker, "/tmp/" + marker, filepath.Join(filepath.Dir(work), marker)} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}

func manyFiles(n int) []imagetest.File {
	var fs []imagetest.File
	for i := range n {
		fs = append(fs, imagetest.Reg("f/"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+strconv.Itoa(i), ""))
	}
	return fs
}

func corrupt(b []byte, at int) []byte {
	c := append([]byte(nil), b...)
	copy(c[at-at%512:], bytes.Repeat([]byte{0xA5}, 2048))
	return c
}

func TestWhiteoutEscapeKeepsEtc(t *testing.T) {
	r := analyzeBytes(t, "i.tar", hostileImage(
		imagetest.Layer(imagetest.Reg("etc/passwd", "root:x:0:0::/:/bin/sh\n")),
		imagetest.Layer(imagetest.Reg("x/.wh...", ""), imagetest.Reg("../.wh.etc", ""))), testOpts)
	for _, s := range r.Timeline {
		for _, d := range s.Deleted {
			t.Errorf("stage %d deletes %s", s.Index, d.Path)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, writeTemp(t, "i.tar", testImage(false).Legacy()), testOpts)
	if err == nil {
		t.Fatal("Analyze of a cancelled context succeeded")
	}
}
