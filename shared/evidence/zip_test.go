package evidence

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// countWriter counts what is written to it.
type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

// TestZipCloseError fails the output on the very last byte of a zip
// bundle, which only closing the zip writer (the central directory and
// its end record) writes: Finish must fail, as for any output failure.
func TestZipCloseError(t *testing.T) {
	write := func(out io.Writer) (*Writer, error) {
		w, err := New(out, Options{Root: "r", Format: Zip, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddBytes(Meta{Path: "known.json"}, []byte(`{"Id":"abc"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add(Meta{Path: "streamed.log"}, bytes.NewReader(bytes.Repeat([]byte("line\n"), 1000))); err != nil {
			t.Fatal(err)
		}
		_, err = w.Finish(Custody{})
		return w, err
	}
	var full countWriter
	if _, err := write(&full); err != nil {
		t.Fatal(err)
	}
	w, err := write(&fullWriter{limit: full.n - 1})
	if err == nil || !strings.Contains(err.Error(), "closing bundle archive") || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Finish with the central directory failing = %v, want a fatal closing error", err)
	}
	if w.Err() == nil {
		t.Error("the writer does not keep the fatal error")
	}
	if w.ArchiveSHA256() != "" {
		t.Error("a failed bundle has an archive hash")
	}
}
