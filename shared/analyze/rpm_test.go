package analyze

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// rpmFixture returns a database made by the real rpm, from
// rpmdb/testdata (see make-fixtures.sh there).
func rpmFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := imagetest.ReadGzip(filepath.Join("rpmdb", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func purls(r *Report) []string {
	var out []string
	for _, p := range r.Packages {
		out = append(out, p.PURL)
	}
	return out
}

// TestRPMImage reads an image whose RPM database has un-checkpointed
// transactions in its write-ahead log, the log coming first in the layer,
// and whose later layer replaces the database with one that cannot be
// read.
func TestRPMImage(t *testing.T) {
	base := imagetest.Layer(
		imagetest.Reg("etc/os-release", "NAME=Fedora\nID=fedora\nVERSION_ID=40\n"),
		imagetest.Reg("var/lib/rpm/rpmdb.sqlite-wal", rpmFixture(t, "wal.wal.gz")),
		imagetest.Reg("var/lib/rpm/rpmdb.sqlite", rpmFixture(t, "wal.db.gz")),
		imagetest.Reg("usr/lib/sysimage/rpm/Packages", rpmFixture(t, "bdb.db.gz")),
	)
	img := imagetest.Image{Tags: []string{"forensic-test/rpm:1"}, Layers: [][]byte{base}}
	r := analyzeBytes(t, "rpm.tar", img.Legacy(), testOpts)
	want := []string{
		"pkg:rpm/fedora/long-desc@0.9-1?arch=noarch&distro=fedora-40",
		"pkg:rpm/fedora/long-desc@0.9-1?arch=noarch&distro=fedora-40",
		"pkg:rpm/fedora/plain-pkg@10.0.1-2.el9?arch=noarch&distro=fedora-40",
		"pkg:rpm/fedora/plain-pkg@10.0.1-2.el9?arch=noarch&distro=fedora-40",
		"pkg:rpm/fedora/tiny-epoch@1.2.3-4.fc40?arch=noarch&distro=fedora-40&epoch=2",
		"pkg:rpm/fedora/tiny-epoch@1.2.3-4.fc40?arch=noarch&distro=fedora-40&epoch=2",
	}
	if diff := cmp.Diff(want, purls(r)); diff != "" {
		t.Errorf("purls (-want +got):\n%s", diff)
	}
	for _, p := range r.Packages {
		if p.Type != "rpm" || p.Layer == "" || (p.Path != "/var/lib/rpm/rpmdb.sqlite" && p.Path != "/usr/lib/sysimage/rpm/Packages") {
			t.Errorf("package %+v", p)
		}
	}
	if len(r.Findings) != 0 || len(r.Notes) != 0 && strings.Contains(strings.Join(r.Notes, " "), "RPM") {
		t.Errorf("findings %v, notes %q", keys(r), r.Notes)
	}

	// A later layer that puts an unreadable database in place: its
	// packages are gone from the list, and a finding says why.
	img.Layers = append(img.Layers, imagetest.Layer(
		imagetest.Reg("var/lib/rpm/rpmdb.sqlite", "SQLite format 3\x00 and then nothing of use"),
		imagetest.Whiteout("var/lib/rpm/rpmdb.sqlite-wal"),
		imagetest.Whiteout("usr/lib/sysimage/rpm/Packages"),
	))
	img.History = nil
	r = analyzeBytes(t, "rpm2.tar", img.Legacy(), testOpts)
	if len(r.Packages) != 0 {
		t.Errorf("packages %v", purls(r))
	}
	f := find(r, ruleRPMUnreadable, "/var/lib/rpm/rpmdb.sqlite")
	if f == nil || f.Category != CategoryIntegrity || !strings.Contains(f.Reason, "sqlite") {
		t.Fatalf("finding %+v in %v", f, keys(r))
	}
}

// TestRPMFilesystem reads a filesystem tarball with a database of the
// NDB backend of a version not read: a finding, no packages from it.
func TestRPMFilesystem(t *testing.T) {
	fs := imagetest.Layer(
		imagetest.Reg("usr/lib/sysimage/rpm/Packages.db", "RpmP\x07\x00\x00\x00 an NDB database of a later version"),
		imagetest.Reg("var/lib/rpm/rpmdb.sqlite", rpmFixture(t, "sqlite.db.gz")),
	)
	r := analyzeBytes(t, "fs.tar", fs, testOpts)
	if len(r.Packages) != 3 {
		t.Errorf("packages %v", purls(r))
	}
	f := find(r, ruleRPMUnreadable, "/usr/lib/sysimage/rpm/Packages.db")
	if f == nil || !strings.Contains(f.Reason, "ndb: version") {
		t.Fatalf("finding %+v in %v", f, keys(r))
	}
}
