package collect

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/evidence"
)

func newRunner(t *testing.T) *Runner {
	t.Helper()
	w, err := evidence.Create(filepath.Join(t.TempDir(), "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Bundle: w, Custody: evidence.Custody{Actions: []evidence.Action{}}}
}

func TestRunnerRecordsFailuresAndGoesOn(t *testing.T) {
	r := newRunner(t)
	res := r.Run(context.Background(), []Collector{
		Func("ok", func(ctx context.Context, s Sink) error {
			return s.Bytes(evidence.Meta{Path: "ok.txt"}, []byte("fine"))
		}),
		Func("partial", func(ctx context.Context, s Sink) error {
			return s.Stream(ctx, evidence.Meta{Path: "partial.log"}, io.MultiReader(strings.NewReader("some"), iotest.ErrReader(errors.New("stream reset"))))
		}),
		Func("broken", func(ctx context.Context, s Sink) error {
			return errors.New("engine said no")
		}),
		Func("after", func(ctx context.Context, s Sink) error {
			s.Action(evidence.Action{What: "paused container"})
			return s.Bytes(evidence.Meta{Path: "after.txt"}, []byte("still collected"))
		}),
	})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Outcome() != Incomplete {
		t.Errorf("outcome %v, want Incomplete", res.Outcome())
	}
	want := []string{"broken: engine said no", "partial.log: stream reset"}
	if diff := cmp.Diff(want, res.Manifest.Incomplete); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	var paths []string
	for _, a := range res.Manifest.Artifacts {
		paths = append(paths, a.Path)
	}
	if diff := cmp.Diff([]string{"ok.txt", "partial.log", "after.txt"}, paths); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	rep, err := evidence.Verify(context.Background(), res.Path)
	if err != nil || !rep.Intact || rep.Complete {
		t.Fatalf("verify: %v intact=%v complete=%v", err, rep.Intact, rep.Complete)
	}
	if len(rep.Custody.Actions) != 1 || rep.Custody.Actions[0].What != "paused container" {
		t.Errorf("custody actions %+v", rep.Custody.Actions)
	}
}

func TestRunnerInterrupted(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	res := r.Run(ctx, []Collector{
		Func("first", func(ctx context.Context, s Sink) error {
			cancel(errors.New("interrupted by signal"))
			return s.Stream(ctx, evidence.Meta{Path: "cut.log"}, strings.NewReader("never read"))
		}),
		Func("second", func(ctx context.Context, s Sink) error { t.Error("ran after the interruption"); return nil }),
		Func("third", func(ctx context.Context, s Sink) error { return nil }),
	})
	if res.Err != nil || res.Outcome() != Incomplete {
		t.Fatalf("err %v outcome %v", res.Err, res.Outcome())
	}
	joined := strings.Join(res.Manifest.Incomplete, "\n")
	for _, want := range []string{"interrupted by signal: not collected: second, third", "cut.log: interrupted by signal"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons lack %q:\n%s", want, joined)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		in   []Outcome
		want int
	}{
		{nil, ExitNothing},
		{[]Outcome{Complete}, ExitComplete},
		{[]Outcome{Complete, Complete}, ExitComplete},
		{[]Outcome{Incomplete}, ExitIncomplete},
		{[]Outcome{Complete, Failed}, ExitIncomplete},
		{[]Outcome{Failed, Failed}, ExitNothing},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.in); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestDefaultNameAndValidate(t *testing.T) {
	at := mustTime(t, "2026-11-29T12:40:05Z")
	if got := DefaultName("/web app", at, evidence.TarGz); got != "_web_app-20261129T124005Z.tar.gz" {
		t.Errorf("DefaultName = %q", got)
	}
	if err := (Output{Path: Stdout}).Validate(true); !errors.Is(err, ErrTerminal) {
		t.Errorf("stdout terminal: %v", err)
	}
	if err := (Output{Path: Stdout}).Validate(false); err != nil {
		t.Errorf("stdout pipe: %v", err)
	}
	if err := (Output{Path: "x.rar"}).Validate(false); err == nil {
		t.Error("unknown extension accepted")
	}
	if err := (Output{Path: "x.bin", Format: evidence.Zip, FormatSet: true}).Validate(false); err != nil {
		t.Errorf("--format with any name: %v", err)
	}
}
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
