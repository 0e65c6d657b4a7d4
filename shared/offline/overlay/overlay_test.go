//go:build linux

package overlay

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// layers builds a lower and an upper layer the way overlayfs leaves them:
// the upper deletes /a (whiteout), replaces /d wholesale (opaque), adds
// /new and an executable, and holds links that point out of the root.
func layers(t *testing.T) Stack {
	t.Helper()
	testutil.RequireRoot(t, "whiteouts are 0:0 character devices and opaque folders trusted.* xattrs")
	lower, upper := t.TempDir(), t.TempDir()
	write := func(p, s string, mode os.FileMode) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(lower, "a"), "a", 0o644)
	write(filepath.Join(lower, "d/x"), "x", 0o644)
	write(filepath.Join(lower, "keep/k"), "k", 0o644)
	write(filepath.Join(lower, "bin/tool"), "\x7fELF-old", 0o755)
	os.Symlink("k", filepath.Join(lower, "keep/link"))
	if err := unix.Mknod(filepath.Join(upper, "a"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(upper, "d"), 0o755)
	if err := unix.Setxattr(filepath.Join(upper, "d"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(upper, "d/y"), "y", 0o600)
	write(filepath.Join(upper, "new"), "new", 0o644)
	write(filepath.Join(upper, "bin/tool"), "\x7fELF-new", 0o644)
	write(filepath.Join(upper, "drop"), "#!/bin/sh\n", 0o755)
	os.Symlink("../../../../../../etc", filepath.Join(upper, "up"))
	os.Symlink("/etc/passwd", filepath.Join(upper, "abs"))
	return Stack{Layers: []Layer{{ID: "lower", Dir: lower}, {ID: "upper", Dir: upper}}}
}

func names(t *testing.T, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func keys(m map[string]*tar.Header) string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, " ")
}

func TestWriteMergedAppliesWhiteoutsAndOpaqueFolders(t *testing.T) {
	s := layers(t)
	var buf bytes.Buffer
	if err := s.WriteMerged(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	got := keys(names(t, buf.Bytes()))
	want := "abs bin/ bin/tool d/ d/y drop keep/ keep/k keep/link new up"
	if got != want {
		t.Errorf("merged entries\n got %s\nwant %s", got, want)
	}
	h := names(t, buf.Bytes())
	if h["up"].Typeflag != tar.TypeSymlink || h["up"].Linkname != "../../../../../../etc" || h["abs"].Linkname != "/etc/passwd" {
		t.Errorf("links not stored as they are: up %+v abs %+v", h["up"], h["abs"])
	}
}

func TestWriteUpperIsAnOCILayer(t *testing.T) {
	s := layers(t)
	var buf bytes.Buffer
	if err := s.WriteUpper(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	got := keys(names(t, buf.Bytes()))
	want := ".wh.a abs bin/ bin/tool d/ d/.wh..wh..opq d/y drop new up"
	if got != want {
		t.Errorf("upper entries\n got %s\nwant %s", got, want)
	}
}

func TestDiffAndDrift(t *testing.T) {
	s := layers(t)
	changes, err := s.Diff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Kind[:1]+" "+c.Path)
	}
	want := "d /a a /abs c /bin c /bin/tool c /d d /d/x a /d/y a /drop a /new a /up"
	if strings.Join(got, " ") != want {
		t.Errorf("diff\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	d, err := s.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var exe []string
	for _, e := range d.NewExecutables {
		exe = append(exe, e.Path)
	}
	// /bin/tool lost its execute bits but is still an ELF file.
	if strings.Join(exe, " ") != "/bin/tool /drop" {
		t.Errorf("new executables %v, want /bin/tool /drop", exe)
	}
	var del []string
	for _, e := range d.Deleted {
		del = append(del, e.Path)
	}
	if strings.Join(del, " ") != "/a /d/x" {
		t.Errorf("deleted %v, want /a /d/x", del)
	}
}

func TestMissingLayerIsNamedAndTheRestWritten(t *testing.T) {
	s := layers(t)
	s.Layers = append([]Layer{{ID: "gone", Dir: filepath.Join(t.TempDir(), "nope")}}, s.Layers...)
	var buf bytes.Buffer
	err := s.WriteMerged(context.Background(), &buf)
	var missing *MissingLayerError
	if !errors.As(err, &missing) || missing.Layer.ID != "gone" {
		t.Fatalf("err = %v, want a MissingLayerError naming layer gone", err)
	}
	if !strings.Contains(keys(names(t, buf.Bytes())), "keep/k") {
		t.Errorf("the present layers were not written beside the missing one")
	}
}

// TestReadingLeavesAccessTimes: every file and folder of the layers keeps
// its access time, also ones old enough that relatime would update them.
func TestReadingLeavesAccessTimes(t *testing.T) {
	s := layers(t)
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	// The paths are listed once: listing a folder would itself set its
	// access time. Links are left out: readlink(2) sets a link's access
	// time whatever the caller asks, unless the mount is read-only or
	// noatime, which is how an image should be mounted.
	var paths []string
	for _, l := range s.Layers {
		filepath.WalkDir(l.Dir, func(p string, d fs.DirEntry, err error) error {
			if d.Type()&fs.ModeSymlink == 0 {
				paths = append(paths, p)
			}
			return nil
		})
	}
	atimes := func() map[string]int64 {
		out := map[string]int64{}
		for _, p := range paths {
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil {
				out[p] = st.Atim.Sec
			}
		}
		return out
	}
	for _, p := range paths {
		ts := []unix.Timespec{unix.NsecToTimespec(old.UnixNano()), {Nsec: unix.UTIME_OMIT}}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	before := atimes()
	if err := s.WriteMerged(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drift(context.Background()); err != nil {
		t.Fatal(err)
	}
	for p, a := range atimes() {
		if a != before[p] {
			t.Errorf("%s: access time changed from %d to %d", p, before[p], a)
		}
	}
}
