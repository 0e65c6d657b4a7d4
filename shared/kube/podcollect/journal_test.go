package podcollect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJournalSurvivesACutLineAndResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, JournalName(time.Unix(0, 0)))
	j, err := CreateJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateJournal(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second CreateJournal: %v, want a refusal", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Run(JournalRun{Pods: 3}))
	must(os.WriteFile(filepath.Join(dir, "a.tar.gz"), []byte("bundle a"), 0o600))
	must(j.Pod(IndexEntry{Namespace: "ns", Pod: "a", Outcome: "complete", Bundle: "a.tar.gz", SHA256: "0000"}))
	must(j.Pod(IndexEntry{Namespace: "ns", Pod: "b", Outcome: "failed", Error: "getting pod b: connection refused"}))
	must(j.Close())
	// A kill -9 in the middle of a line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString(`{"kind":"pod","namespace":"ns","pod":"c","outc`)
	_ = f.Close()

	res, err := ReadResume(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad != 1 || len(res.Done) != 0 || len(res.Redo) != 2 || res.First.Pods != 3 {
		t.Fatalf("resume = %+v", res)
	}
	// a's bundle does not have the digest its line says: captured again.
	if got := strings.Join(res.Redo, "\n"); !strings.Contains(got, "ns/a: bundle a.tar.gz has sha256") || !strings.Contains(got, "ns/b: failed: getting pod b") {
		t.Errorf("redo:\n%s", got)
	}

	j, err = AppendJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	must(j.Run(JournalRun{Pods: 3}))
	must(j.Pod(IndexEntry{Namespace: "ns", Pod: "b", Outcome: "complete", Bundle: "b.tar.gz", SHA256: "1111"}))
	must(j.Pod(IndexEntry{Namespace: "ns", Pod: "c", Outcome: "incomplete", Bundle: "c.tar.gz", IncompleteReasons: []string{"logs"}}))
	must(j.End(JournalEnd{Unresolved: []string{"pod \"x\" not found"}}))
	must(j.Close())

	runs, pods := 0, 0
	bad, err := ReadJournal(path, func(r JournalRecord) error {
		switch r.Kind {
		case "run":
			runs++
		case "pod":
			pods++
		}
		return nil
	})
	if err != nil || bad != 1 || runs != 2 || pods != 4 {
		t.Errorf("journal read back: %d bad, %d runs, %d pods, %v; want the cut line alone bad, 2 runs, 4 pods", bad, runs, pods, err)
	}

	index := filepath.Join(dir, "capture.index.json")
	must(IndexFromJournal(path, index, time.Unix(10, 0).UTC()))
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("index is not JSON: %v\n%s", err, b)
	}
	want := IndexSummary{Pods: 3, Complete: 2, Incomplete: 1, Failed: 1}
	if idx.Schema != IndexSchema || idx.Summary != want || len(idx.Pods) != 3 || len(idx.Unresolved) != 1 {
		t.Errorf("index = %+v, want summary %+v (each pod by its last line, the unresolved target failed)", idx, want)
	}
	for _, p := range idx.Pods {
		if p.Pod == "b" && p.Outcome != "complete" {
			t.Errorf("pod b is %s in the index, its last line says complete", p.Outcome)
		}
	}
	if err := IndexFromJournal(path, index, time.Now()); err == nil {
		t.Error("IndexFromJournal overwrote an index")
	}
}
