package evidence

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }

// failing yields data and then err, like a stream whose container
// disappeared.
func failing(data []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(err))
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type written struct {
	path string
	data []byte
}

// writeBundle writes a small bundle with a known-size artifact, a streamed
// one and, when broken is set, a failed and a partial artifact.
func writeBundle(t *testing.T, file string, f Format, broken bool) []written {
	t.Helper()
	return writeBundleWith(t, file, Options{Format: f}, broken)
}

// writeBundleWith is writeBundle with more options (Root and Now are set).
func writeBundleWith(t *testing.T, file string, opts Options, broken bool) []written {
	t.Helper()
	opts.Root, opts.Now = "case-1", fixedNow
	w, err := Create(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("evidence line\n"), 100000) // 1.4 MB, several compressor blocks
	var out []written
	if _, err := w.AddBytes(Meta{Path: "container/inspect.json", Producer: "test"}, []byte(`{"Id":"abc"}`)); err != nil {
		t.Fatal(err)
	}
	out = append(out, written{"container/inspect.json", []byte(`{"Id":"abc"}`)})
	if _, err := w.Add(Meta{Path: "container/filesystem.tar", Producer: "test"}, bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	out = append(out, written{"container/filesystem.tar", big})
	if _, err := w.Add(Meta{Path: "empty.log", Producer: "test"}, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	out = append(out, written{"empty.log", nil})
	if broken {
		if _, err := w.Fail(Meta{Path: "container/top.json", Producer: "test"}, errors.New("container is not running")); err != nil {
			t.Fatal(err)
		}
		_, err := w.Add(Meta{Path: "container/logs.txt", Producer: "test"}, failing([]byte("first line\n"), errors.New("connection reset")))
		if !IsSourceError(err) {
			t.Fatalf("Add with failing source: got %v, want a SourceError", err)
		}
		out = append(out, written{"container/logs.txt", []byte("first line\n")})
	}
	c := NewCustody(Tool{Name: "test", Version: "v0"}, fixedNow())
	c.Target = Target{Kind: "docker-container", ID: "abc", Name: "web"}
	m, err := w.Finish(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.Complete == broken {
		t.Fatalf("manifest complete = %v, want %v (reasons %v)", m.Complete, !broken, m.Incomplete)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	type variant struct {
		f              Format
		broken, serial bool
	}
	var variants []variant
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		for _, broken := range []bool{false, true} {
			variants = append(variants, variant{f, broken, false})
		}
	}
	// Serial compression writes the same format.
	variants = append(variants, variant{TarGz, false, true}, variant{TarGz, true, true}, variant{TarZst, false, true})
	for _, v := range variants {
		f, broken := v.f, v.broken
		name := f.String() + map[bool]string{false: "/complete", true: "/incomplete"}[broken] + map[bool]string{false: "", true: "/serial"}[v.serial]
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "b"+f.Extension())
			want := writeBundleWith(t, file, Options{Format: f, Serial: v.serial}, broken)
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("bundle mode = %v, want 0600", st.Mode().Perm())
			}
			r, err := Verify(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Intact {
				var b strings.Builder
				r.WriteText(&b)
				t.Fatalf("fresh bundle not intact:\n%s", b.String())
			}
			if r.Complete == broken {
				t.Errorf("report complete = %v, want %v", r.Complete, !broken)
			}
			if r.Format != f.Extension() {
				t.Errorf("format found = %q, want %q", r.Format, f.Extension())
			}
			got := map[string]string{}
			for _, a := range r.Manifest.Artifacts {
				got[a.Path] = a.SHA256
			}
			for _, w := range want {
				if got[w.path] != sum(w.data) {
					t.Errorf("%s: manifest sha256 %s, want %s", w.path, got[w.path], sum(w.data))
				}
			}
			if r.Custody == nil || r.Custody.Target.ID != "abc" || r.Custody.Ended.IsZero() {
				t.Errorf("custody not read back: %+v", r.Custody)
			}
			if broken {
				var partial, failed bool
				for _, a := range r.Manifest.Artifacts {
					partial = partial || (a.Path == "container/logs.txt" && a.Partial && a.Error != "")
					failed = failed || (a.Path == "container/top.json" && !a.Stored() && a.Error != "")
				}
				if !partial || !failed {
					t.Errorf("partial recorded %v, failure recorded %v; want both", partial, failed)
				}
			}
		})
	}
}

// TestSha256sumCheck extracts bundles with the real tar or unzip and
// checks them with the real sha256sum, as responders do.
func TestSha256sumCheck(t *testing.T) {
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "b"+f.Extension())
			writeBundle(t, file, f, true)
			if f == Zip {
				run(t, dir, "unzip", "-q", file)
			} else {
				args := map[Format][]string{TarGz: {"-xzf"}, TarZst: {"--zstd", "-xf"}, Tar: {"-xf"}}[f]
				run(t, dir, "tar", append(args, file)...)
			}
			out := run(t, filepath.Join(dir, "case-1"), "sha256sum", "-c", "SHA256SUMS")
			for _, name := range []string{"container/filesystem.tar: OK", "manifest.json: OK", "custody.json: OK", "collection.log: OK"} {
				if !strings.Contains(out, name) {
					t.Errorf("sha256sum -c output lacks %q:\n%s", name, out)
				}
			}
		})
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed for this test: %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// rewriteTar copies a plain tar bundle entry by entry, letting edit change
// or drop entries, and returns the new file's name.
func rewriteTar(t *testing.T, file string, edit func(h *tar.Header, data []byte) ([]byte, bool), add ...written) string {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outName := file + ".edited.tar"
	out, err := os.Create(outName)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		data, keep := edit(h, data)
		if !keep {
			continue
		}
		h.Size = int64(len(data))
		tw.WriteHeader(h)
		tw.Write(data)
	}
	for _, a := range add {
		tw.WriteHeader(&tar.Header{Name: a.path, Size: int64(len(a.data)), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(a.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return outName
}

func TestTamper(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.tar")
	writeBundle(t, file, Tar, false)
	keep := func(h *tar.Header, d []byte) ([]byte, bool) { return d, true }
	tests := []struct {
		name    string
		edit    func(h *tar.Header, d []byte) ([]byte, bool)
		add     []written
		missing []string
		altered []string
		extra   []string
	}{
		{
			name: "altered artifact",
			edit: func(h *tar.Header, d []byte) ([]byte, bool) {
				if strings.HasSuffix(h.Name, "inspect.json") {
					return []byte(`{"Id":"xyz"}`), true
				}
				return d, true
			},
			altered: []string{"container/inspect.json"},
		},
		{
			name: "missing artifact",
			edit: func(h *tar.Header, d []byte) ([]byte, bool) {
				return d, !strings.HasSuffix(h.Name, "filesystem.tar")
			},
			missing: []string{"container/filesystem.tar"},
		},
		{
			name:  "extra file",
			edit:  keep,
			add:   []written{{"case-1/planted.sh", []byte("#!/bin/sh\n")}},
			extra: []string{"planted.sh"},
		},
		{
			name: "altered custody",
			edit: func(h *tar.Header, d []byte) ([]byte, bool) {
				if strings.HasSuffix(h.Name, CustodyName) {
					return bytes.Replace(d, []byte(`"abc"`), []byte(`"def"`), 1), true
				}
				return d, true
			},
			altered: []string{CustodyName},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := rewriteTar(t, file, tt.edit, tt.add...)
			r, err := Verify(context.Background(), edited)
			if err != nil {
				t.Fatal(err)
			}
			if r.Intact {
				t.Fatal("tampered bundle reported intact")
			}
			var altered []string
			for _, m := range r.Altered {
				altered = append(altered, m.Path)
			}
			if diff := cmp.Diff(tt.missing, r.Missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.altered, altered); diff != "" {
				t.Errorf("altered (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.extra, r.Extra); diff != "" {
				t.Errorf("extra (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	for _, f := range []Format{TarGz, Tar, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "b"+f.Extension())
			writeBundle(t, file, f, false)
			st, _ := os.Stat(file)
			if err := os.Truncate(file, st.Size()/2); err != nil {
				t.Fatal(err)
			}
			r, err := Verify(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			if r.Intact || len(r.Problems) == 0 {
				t.Fatalf("truncated bundle: intact=%v problems=%v", r.Intact, r.Problems)
			}
			if !strings.Contains(r.Summary(), "NOT intact") {
				t.Errorf("summary %q does not say NOT intact", r.Summary())
			}
		})
	}
}

func TestNeverOverwrite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(file, []byte("earlier evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Create(file, Options{Root: "x"})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Create over an existing file: err = %v", err)
	}
	got, _ := os.ReadFile(file)
	if string(got) != "earlier evidence" {
		t.Errorf("existing file changed to %q", got)
	}
}

func TestBadPaths(t *testing.T) {
	w, err := New(io.Discard, Options{Root: "r", Format: Tar})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "manifest.json", "a\nb", `a\b`} {
		if _, err := w.AddBytes(Meta{Path: p}, nil); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	if _, err := w.AddBytes(Meta{Path: "a/b"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddBytes(Meta{Path: "a/./b"}, nil); err == nil {
		t.Error("the same path was accepted twice")
	}
}

// fullWriter fails like a full disk after limit bytes.
type fullWriter struct{ limit int }

func (f *fullWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, errors.New("no space left on device")
	}
	f.limit -= len(p)
	return len(p), nil
}

func TestOutputFailureIsFatal(t *testing.T) {
	for _, f := range []Format{TarGz, Tar, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			w, err := New(&fullWriter{limit: 4096}, Options{Root: "r", Format: f, SpoolDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			// Incompressible data, so the compressed output fills up too.
			data := make([]byte, 1<<20)
			for i := range data {
				data[i] = byte(i*7919 + i>>8)
			}
			var fatal error
			for i := 0; i < 8 && fatal == nil; i++ {
				_, fatal = w.AddBytes(Meta{Path: filepath.Join("d", string(rune('a'+i)))}, data)
			}
			if fatal == nil {
				_, fatal = w.Finish(Custody{})
			}
			if fatal == nil || IsSourceError(fatal) || !strings.Contains(fatal.Error(), "no space left") {
				t.Fatalf("got %v, want a fatal no-space error", fatal)
			}
			if _, err := w.AddBytes(Meta{Path: "later"}, nil); err == nil {
				t.Error("writer accepted more after a fatal error")
			}
		})
	}
}

func TestAbortKeepsPartial(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	w, err := Create(file, Options{Root: "r"})
	if err != nil {
		t.Fatal(err)
	}
	w.AddBytes(Meta{Path: "a"}, []byte("x"))
	partial, err := w.Abort()
	if err != nil {
		t.Fatal(err)
	}
	if partial != file+".partial" {
		t.Errorf("partial name %q", partial)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("aborted bundle still at its final name: %v", err)
	}
}

// zeros is an endless-looking source of a fixed size that allocates nothing.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > z.n {
		n = z.n
	}
	clear(p[:n])
	z.n -= n
	return int(n), nil
}

// TestFlatMemory streams 512 MiB through each format and checks that the
// heap does not grow with the artifact.
func TestFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 512 MiB per format; skipped only with -short, which CI never uses")
	}
	for _, f := range []Format{TarGz, TarZst, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(filepath.Join(dir, "b"+f.Extension()), Options{Root: "r", Format: f})
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			done := make(chan struct{})
			peakCh := make(chan uint64)
			go func() {
				var ms runtime.MemStats
				peak := uint64(0)
				for {
					select {
					case <-done:
						peakCh <- peak
						return
					case <-time.After(50 * time.Millisecond):
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapInuse)
					}
				}
			}()
			if _, err := w.Add(Meta{Path: "big"}, &zeros{n: 512 << 20}); err != nil {
				t.Fatal(err)
			}
			close(done)
			peak := <-peakCh
			runtime.ReadMemStats(&after)
			if _, err := w.Finish(Custody{}); err != nil {
				t.Fatal(err)
			}
			if grow := int64(peak) - int64(before.HeapInuse); grow > 96<<20 {
				t.Errorf("heap grew by %d MiB while streaming 512 MiB", grow>>20)
			}
		})
	}
}

// TestStreamSizes streams artifacts around the size below which a stream
// is stored without a spool file, with and without a failing source, in
// every format, and reads them back.
func TestStreamSizes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), smallStream/16+1000)
	cases := []struct {
		name string
		data []byte
		fail bool
	}{
		{"empty", nil, false},
		{"small", []byte("a few lines\n"), false},
		{"exactly the limit", big[:smallStream], false},
		{"one past the limit", big[:smallStream+1], false},
		{"big", big, false},
		{"small, then a failure", []byte("cut "), true},
		{"big, then a failure", big, true},
	}
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "b"+f.Extension())
			w, err := Create(file, Options{Root: "r", Format: f})
			if err != nil {
				t.Fatal(err)
			}
			for i, tc := range cases {
				var r io.Reader = bytes.NewReader(tc.data)
				if tc.fail {
					r = failing(tc.data, errors.New("connection reset"))
				}
				a, err := w.Add(Meta{Path: fmt.Sprintf("a%d", i)}, r)
				if tc.fail != IsSourceError(err) || (!tc.fail && err != nil) {
					t.Fatalf("%s: Add = %v", tc.name, err)
				}
				if a.Size != int64(len(tc.data)) || a.SHA256 != sum(tc.data) || a.Partial != tc.fail {
					t.Errorf("%s: recorded size %d sha %s partial %v; want %d %s %v", tc.name, a.Size, a.SHA256, a.Partial, len(tc.data), sum(tc.data), tc.fail)
				}
			}
			if _, err := w.Finish(Custody{}); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(context.Background(), file)
			if err != nil || !rep.Intact {
				t.Fatalf("verify: %v %+v", err, rep)
			}
		})
	}
}
