//go:build linux

package nodesnap

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeJournal is the start of a journald file: a header with the state,
// entry count and realtime range, then some bytes standing for objects.
func fakeJournal(state uint8, entries uint64, head, tail time.Time) []byte {
	b := make([]byte, 272)
	copy(b, journalSignature)
	b[offState] = state
	binary.LittleEndian.PutUint64(b[offHeaderSize:], 272)
	binary.LittleEndian.PutUint64(b[offNEntries:], entries)
	if !head.IsZero() {
		binary.LittleEndian.PutUint64(b[offHeadRealtime:], uint64(head.UnixMicro()))
		binary.LittleEndian.PutUint64(b[offTailRealtime:], uint64(tail.UnixMicro()))
	}
	return append(b, bytes.Repeat([]byte{0xab}, 100)...)
}

// TestJournalSelection: of the journal files under the request's
// folders, those whose entries reach since, the online one and one
// without a readable header but modified after since are streamed byte
// for byte; an archived file that ends before since, one without entries
// and files that are not journals are not.
func TestJournalSelection(t *testing.T) {
	root := t.TempDir()
	req := testRequest()
	req.PodLogsDir = ""
	req.JournalDirs = []string{"/var/log/journal", "/run/log/journal", "/nowhere"}
	since := req.Since
	m := "/var/log/journal/0123456789abcdef"
	files := map[string][]byte{
		m + "/system@a-1.journal":                          fakeJournal(2, 10, since.Add(-3*time.Hour), since.Add(-time.Hour)),
		m + "/system@a-2.journal":                          fakeJournal(2, 10, since.Add(-time.Hour), since.Add(time.Minute)),
		m + "/system.journal":                              fakeJournal(1, 3, since.Add(-time.Hour), since.Add(-time.Minute)),
		m + "/user-1000.journal":                           fakeJournal(2, 0, time.Time{}, time.Time{}),
		m + "/broken.journal~":                             []byte("not a journal at all"),
		m + "/notes.txt":                                   []byte("x"),
		"/run/log/journal/0123456789abcdef/system.journal": fakeJournal(2, 5, since, since.Add(time.Hour)),
	}
	for p, b := range files {
		writeFile(t, root, p, b)
	}
	old := filepath.Join(root, m, "system@a-1.journal")
	if err := os.Chtimes(old, since.Add(-time.Hour), since.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	req.Containers = nil
	r := runSnap(t, Config{Request: req, HostRoot: root})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	j := r.rep.Journal
	var got []string
	for _, f := range j.Files {
		got = append(got, f.HostPath)
		if f.Artifact != JournalArtifact(f.HostPath) || !bytes.Equal(r.read(t, f.Artifact), files[f.HostPath]) {
			t.Errorf("%s: artifact %s differs from the file", f.HostPath, f.Artifact)
		}
	}
	sort.Strings(got)
	want := []string{
		"/run/log/journal/0123456789abcdef/system.journal",
		m + "/broken.journal~",
		m + "/system.journal",
		m + "/system@a-2.journal",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("journal files (-want +got):\n%s", diff)
	}
	if len(j.Skipped) != 2 || j.None != "" || len(j.Errors) != 0 {
		t.Errorf("skipped %q, none %q, errors %q", j.Skipped, j.None, j.Errors)
	}
}

// TestJournalNone: a node without journald files says so in the report,
// naming the folders searched (the test node has none).
func TestJournalNone(t *testing.T) {
	req := testRequest()
	req.JournalDirs = []string{"/var/log/journal", "/run/log/journal"}
	req.Containers = nil
	r := runSnap(t, Config{Request: req, HostRoot: t.TempDir()})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if got, want := r.rep.Journal.None, "no journald files under /var/log/journal, /run/log/journal"; got != want {
		t.Errorf("journal none %q, want %q", got, want)
	}
	for _, a := range r.sum.Artifacts {
		if strings.HasPrefix(a.Name, "node/journal/") {
			t.Errorf("journal artifact %s sent", a.Name)
		}
	}
}
