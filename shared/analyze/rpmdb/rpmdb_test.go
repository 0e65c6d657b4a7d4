package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// fixture returns a gunzipped file of testdata; the files are made by
// testdata/make-fixtures.sh with the real rpm, sqlite3 and db5.3_load.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := imagetest.ReadGzip(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qa formats packages as `rpm -qa --qf '%{NAME} %{EPOCH} %{VERSION}
// %{RELEASE} %{ARCH}\n'` does, sorted.
func qa(ps []Package) string {
	lines := make([]string, 0, len(ps))
	for _, p := range ps {
		epoch := "(none)"
		if p.Epoch != 0 {
			epoch = fmt.Sprint(p.Epoch)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s\n", p.Name, epoch, p.Version, p.Release, p.Arch))
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// TestFixtures reads databases written by the real tools and compares
// the packages with what `rpm -qa` said of the same database.
func TestFixtures(t *testing.T) {
	for _, tt := range []struct {
		name, db, wal, want string
		format              Format
	}{
		{name: "sqlite, checkpointed", db: "sqlite.db.gz", want: "sqlite.want", format: SQLite},
		{name: "sqlite with a write-ahead log", db: "wal.db.gz", wal: "wal.wal.gz", want: "wal.want", format: SQLite},
		{name: "bdb hash, all overflow", db: "bdb.db.gz", want: "bdb.want", format: BerkeleyDB},
		{name: "bdb hash, 16 KiB pages", db: "bdb16k.db.gz", want: "bdb.want", format: BerkeleyDB},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := fixture(t, tt.db)
			var wal []byte
			if tt.wal != "" {
				wal = fixture(t, tt.wal)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if f := Detect(db); f != tt.format {
				t.Errorf("Detect = %s, want %s", f, tt.format)
			}
			got, err := Read(db, wal)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(string(want), qa(got)); diff != "" {
				t.Errorf("packages (-rpm -qa +got):\n%s", diff)
			}
		})
	}
}

// TestWALMatters shows that the log's transactions are applied: the
// database file alone holds only the first package.
func TestWALMatters(t *testing.T) {
	got, err := Read(fixture(t, "wal.db.gz"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "tiny-epoch 2 1.2.3 4.fc40 noarch\n"; qa(got) != want {
		t.Errorf("without the log: %q, want %q", qa(got), want)
	}
	// A log cut in the middle of the last transaction's frames keeps the
	// transactions committed before it.
	wal := fixture(t, "wal.wal.gz")
	short, err := Read(fixture(t, "wal.db.gz"), wal[:len(wal)-100])
	if err != nil {
		t.Fatal(err)
	}
	if len(short) != 2 {
		t.Errorf("torn log: %d packages (%q), want 2", len(short), qa(short))
	}
	// A log of another generation (other salts in the header) is not
	// applied.
	stale := bytes.Clone(wal)
	stale[16] ^= 0xff
	if got, _ := Read(fixture(t, "wal.db.gz"), stale); len(got) != 1 {
		t.Errorf("log with a bad header: %d packages, want 1", len(got))
	}
}

// TestHeaderFields checks every field read from a header, against the
// spec files of make-fixtures.sh.
func TestHeaderFields(t *testing.T) {
	got, err := Read(fixture(t, "sqlite.db.gz"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	want := []Package{
		{Name: "long-desc", Version: "0.9", Release: "1", Arch: "noarch", License: "GPL-2.0-or-later", Vendor: "Fixture Vendor", SourceRPM: "long-desc-0.9-1.src.rpm"},
		{Name: "plain-pkg", Version: "10.0.1", Release: "2.el9", Arch: "noarch", License: "Apache-2.0 AND MIT", SourceRPM: "plain-pkg-10.0.1-2.el9.src.rpm"},
		{Name: "tiny-epoch", Version: "1.2.3", Release: "4.fc40", Epoch: 2, Arch: "noarch", License: "MIT", Vendor: "Fixture Vendor", SourceRPM: "tiny-epoch-1.2.3-4.fc40.src.rpm"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if evr := want[2].EVR(); evr != "2:1.2.3-4.fc40" {
		t.Errorf("EVR = %q", evr)
	}
}

func TestUnsupported(t *testing.T) {
	for name, db := range map[string][]byte{
		"garbage": []byte("not a database at all"),
		"empty":   nil,
	} {
		if _, err := Read(db, nil); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

// header builds a header blob from (tag, type, value) entries.
func header(entries ...any) []byte {
	var index, data bytes.Buffer
	for i := 0; i+2 < len(entries); i += 3 {
		tag, typ := entries[i].(int), entries[i+1].(int)
		var count int
		switch v := entries[i+2].(type) {
		case string:
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(tag)))
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(typ)))
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(data.Len())))
			data.WriteString(v + "\x00")
			count = 1
		case int:
			for data.Len()%4 != 0 {
				data.WriteByte(0)
			}
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(tag)))
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(typ)))
			index.Write(binary.BigEndian.AppendUint32(nil, uint32(data.Len())))
			data.Write(binary.BigEndian.AppendUint32(nil, uint32(v)))
			count = 1
		}
		index.Write(binary.BigEndian.AppendUint32(nil, uint32(count)))
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(index.Len()/16))
	out = binary.BigEndian.AppendUint32(out, uint32(data.Len()))
	return append(append(out, index.Bytes()...), data.Bytes()...)
}

func TestParseHeader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		blob    []byte
		want    Package
		wantErr bool
	}{
		{name: "fields", blob: header(tagName, typeString, "a", tagVersion, typeString, "1", tagRelease, typeString, "2", tagEpoch, typeInt32, 3, tagArch, typeString, "x86_64", tagLicense, typeString, "MIT"),
			want: Package{Name: "a", Version: "1", Release: "2", Epoch: 3, Arch: "x86_64", License: "MIT"}},
		{name: "a later entry of a tag wins", blob: header(tagName, typeString, "old", tagName, typeString, "new"), want: Package{Name: "new"}},
		{name: "i18n string", blob: header(tagName, typeI18NString, "n", tagLicense, typeI18NString, "BSD"), want: Package{Name: "n", License: "BSD"}},
		{name: "no name", blob: header(tagVersion, typeString, "1"), wantErr: true},
		{name: "name of the wrong type", blob: header(tagName, typeInt32, 7), wantErr: true},
		{name: "empty", blob: nil, wantErr: true},
		{name: "huge index count", blob: []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, wantErr: true},
		{name: "huge data length", blob: append([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, make([]byte, 16)...), wantErr: true},
		{name: "truncated", blob: header(tagName, typeString, "abc")[:20], wantErr: true},
		{name: "bad region", blob: header(tagImmutable, typeBin, 5, tagName, typeString, "a"), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.blob)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A string whose NUL is missing is not read past the data.
	b := header(tagName, typeString, "abc")
	if _, err := ParseHeader(b[:len(b)-1]); err == nil {
		t.Error("header whose data is one byte short parsed")
	}
}
