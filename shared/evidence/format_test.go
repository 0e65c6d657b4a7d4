package evidence

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mholt/archives"
)

// TestFormatNames pins what the --format flag and -o names accept: the
// table must not change which names choose which format.
func TestFormatNames(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Format
	}{
		{"tar.gz", TarGz}, {"tgz", TarGz}, {"gz", TarGz}, {".tar.gz", TarGz}, {"TAR.GZ", TarGz},
		{"tar.zst", TarZst}, {"tzst", TarZst}, {"zst", TarZst}, {".tzst", TarZst},
		{"tar", Tar}, {".tar", Tar},
		{"zip", Zip}, {"ZIP", Zip},
	} {
		got, err := ParseFormat(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		var f Format
		if err := f.Set(tt.in); err != nil || f != tt.want {
			t.Errorf("Set(%q) = %v, %v; want %v", tt.in, f, err, tt.want)
		}
	}
	for _, bad := range []string{"", "tar.bz2", "bz2", "tar.xz", "7z", "gzip", "targz"} {
		if f, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) = %v, want an error", bad, f)
		}
	}
	if _, err := ParseFormat("tar.xz"); err == nil || err.Error() != `unknown bundle format "tar.xz" (use one of tar.gz, tgz, tar.zst, tzst, tar, zip)` {
		t.Errorf("ParseFormat(tar.xz) error = %v", err)
	}

	for _, tt := range []struct {
		name string
		want Format
	}{
		{"b.tar.gz", TarGz}, {"/x/B.TGZ", TarGz}, {"b.tar.zst", TarZst}, {"b.tzst", TarZst},
		{"b.tar", Tar}, {"dir.d/b.zip", Zip},
	} {
		got, err := FormatFromName(tt.name)
		if err != nil || got != tt.want {
			t.Errorf("FormatFromName(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []string{"b", "b.gz", "b.zst", "b.tar.bz2", "b.tar.xz", "b.bin", "tar.gz/b"} {
		if f, err := FormatFromName(bad); err == nil {
			t.Errorf("FormatFromName(%q) = %v, want an error", bad, f)
		}
	}
	if _, err := FormatFromName("b.tar.bz2"); err == nil || err.Error() != `cannot tell the bundle format from "b.tar.bz2": name it .tar.gz, .tgz, .tar.zst, .tzst, .tar or .zip, or pass --format` {
		t.Errorf("FormatFromName(b.tar.bz2) error = %v", err)
	}

	for in, want := range map[string]string{
		"/x/web.tar.gz": "web", "web.TGZ": "web", "web.tar.zst": "web", "web.tzst": "web", "web.tar": "web",
		"web.zip": "web", "web.tar.bz2": "web.tar.bz2", "web": "web", "web.gz": "web.gz",
	} {
		if got := TrimExtension(in); got != want {
			t.Errorf("TrimExtension(%q) = %q, want %q", in, got, want)
		}
	}

	var got []string
	for _, f := range []Format{TarGz, TarZst, Tar, Zip} {
		got = append(got, f.String()+" "+f.Extension())
	}
	if diff := cmp.Diff([]string{"tar.gz .tar.gz", "tar.zst .tar.zst", "tar .tar", "zip .zip"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tar.gz", "tgz", "tar.zst", "tzst", "tar", "zip"}, FormatNames()); diff != "" {
		t.Errorf("FormatNames (-want +got):\n%s", diff)
	}
	var flag Format
	if flag.Type() != "format" || flag.String() != "tar.gz" {
		t.Errorf("zero flag value: type %q, %q", flag.Type(), flag.String())
	}
}

// TestFormatTable checks the table's rows against each other and against
// the archive library: names, extensions, the compression found from
// content, and a bundle written and verified in every bundle format.
func TestFormatTable(t *testing.T) {
	var names []string
	exts := map[string]Format{}
	for _, f := range Formats() {
		names = append(names, f.String())
		for _, e := range f.Extensions() {
			if prev, dup := exts[e]; dup {
				t.Errorf("%s and %s both end in %s", prev, f, e)
			}
			exts[e] = f
		}
		switch f.Backend() {
		case BackendTar:
			if want := ".tar" + strings.TrimSuffix("."+f.Compression(), "."); f.Extension() != want {
				t.Errorf("%s is written as %s: the first extension of a tar is .tar and its compression's", f, f.Extension())
			}
		case BackendZip:
			if f.Compression() != "" {
				t.Errorf("%s: a zip has no outer compression", f)
			}
		default:
			t.Errorf("%s: unknown backend %q", f, f.Backend())
		}
	}
	want := []string{"tar.gz", "tar.zst", "tar", "zip", "tar.bz2", "tar.xz", "tar.lz4", "tar.lz", "tar.mz", "tar.sz", "tar.zz", "tar.br"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("formats (-want +got):\n%s", diff)
	}

	for _, f := range Formats() {
		if f.Backend() != BackendTar {
			continue
		}
		var c archives.Compression
		if f.Compression() != "" {
			found, _, err := archives.Identify(context.Background(), "x"+f.Extension(), nil)
			ca, ok := found.(archives.CompressedArchive)
			if err != nil || !ok {
				t.Errorf("the archive library does not know %s: %T, %v", f.Extension(), found, err)
				continue
			}
			c = ca.Compression
		}
		if got, ok := CompressedTar(c); !ok || got != f {
			t.Errorf("CompressedTar(%T) = %v, %v; want %s", c, got, ok, f)
		}
	}
	if got, ok := CompressedTar(unknownCompression{}); ok {
		t.Errorf("CompressedTar(unknown) = %v, want not ok", got)
	}

	for _, f := range Formats() {
		file := filepath.Join(t.TempDir(), "b"+f.Extension())
		w, err := Create(file, Options{Format: f, Root: "b"})
		if !f.Bundle() {
			if err == nil {
				w.Abort()
				t.Errorf("Create wrote a bundle as %s, which is read only", f)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddBytes(Meta{Path: "a.txt"}, []byte("a\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Finish(Custody{}); err != nil {
			t.Fatal(err)
		}
		r, err := Verify(context.Background(), file)
		if err != nil || !r.Intact || r.Format != f.Extension() {
			t.Errorf("%s bundle verified as %q, intact %v, %v", f, r.Format, r.Intact, err)
		}
	}
}

// unknownCompression is a compression the table does not list.
type unknownCompression struct{ archives.Gz }

func (unknownCompression) Extension() string { return ".unknown" }

const architectureDoc = "../../docs/architecture.md"

// Markers of the generated format table in docs/architecture.md.
const (
	formatsBegin = "<!-- formats: generated from shared/evidence/format.go by go test ./shared/evidence -run TestFormatDocs -update -->\n"
	formatsEnd   = "<!-- end of formats -->\n"
)

func formatsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Format | Extensions | Backend | Compression | Bundles written in it |\n|---|---|---|---|---|\n")
	for _, f := range Formats() {
		comp, bundle := f.Compression(), "no (analyze reads it)"
		switch {
		case f.Backend() == BackendZip:
			comp = "deflate, entry by entry"
		case comp == "":
			comp = "none"
		}
		if f.Bundle() {
			bundle = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f, "`"+strings.Join(f.Extensions(), "`, `")+"`", f.Backend(), comp, bundle)
	}
	return b.String()
}

var update = flag.Bool("update", false, "rewrite the format table of docs/architecture.md")

// TestFormatDocs keeps the format table of docs/architecture.md equal to
// the table in format.go.
func TestFormatDocs(t *testing.T) {
	doc, err := os.ReadFile(architectureDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, formatsBegin), strings.Index(s, formatsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q around the format table", architectureDoc, formatsBegin, formatsEnd)
	}
	got := s[:i+len(formatsBegin)] + formatsMarkdown() + s[j:]
	if *update {
		if err := os.WriteFile(architectureDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("%s is not the format table; run go test ./shared/evidence -run TestFormatDocs -update (-want +got):\n%s", architectureDoc, diff)
	}
}
