package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// collect is a Handler that reads every artifact fully into a map.
type collected struct {
	mu    sync.Mutex
	data  map[string][]byte
	res   map[string]ArtifactResult
	order []string
	errs  map[string]error
}

func newCollected() *collected {
	return &collected{data: map[string][]byte{}, res: map[string]ArtifactResult{}, errs: map[string]error{}}
}

func (c *collected) handler(a *Artifact) error {
	b, err := io.ReadAll(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[a.Name] = b
	c.res[a.Name] = a.Result()
	c.order = append(c.order, a.Name)
	c.errs[a.Name] = err
	return nil
}

func payload(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func sumHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// withTimeout fails the test if f does not return in time: a hang in the
// demux is exactly what these tests look for.
func withTimeout(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("timed out after %v", d)
	}
}

func TestRoundTripConcurrentArtifacts(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{
		"pcap/capture.pcapng": 300_000,
		"fs/rootfs.tar":       1 << 20,
		"proc/snapshot.json":  5,
		"empty/artifact":      0,
	}
	want := map[string][]byte{}
	var wg sync.WaitGroup
	i := int64(0)
	for name, n := range sizes {
		i++
		want[name] = payload(i, n)
		a, err := w.Open(name, Meta{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(a *ArtifactWriter, b []byte) {
			defer wg.Done()
			for len(b) > 0 {
				k := 1 + rand.Intn(100_000)
				if k > len(b) {
					k = len(b)
				}
				if _, err := a.Write(b[:k]); err != nil {
					t.Error(err)
					return
				}
				b = b[k:]
			}
			if err := a.Finish(Meta{"done": true}, nil); err != nil {
				t.Error(err)
			}
		}(a, want[name])
	}
	wg.Wait()
	if err := w.CloseWithError(errors.New("session note")); err != nil {
		t.Fatal(err)
	}
	wn, wsum := w.Sum()

	c := newCollected()
	sum, err := Demux(bytes.NewReader(buf.Bytes()), c.handler, &Options{MemoryLimit: 100_000, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Demux: %v", err)
	}
	for name, b := range want {
		if !bytes.Equal(c.data[name], b) {
			t.Errorf("%s: got %d bytes, want %d", name, len(c.data[name]), len(b))
		}
		r := c.res[name]
		if !r.Verified() || r.SHA256 != sumHex(b) || r.Bytes != int64(len(b)) {
			t.Errorf("%s: result %+v", name, r)
		}
		if r.CloseMeta["done"] != true {
			t.Errorf("%s: close meta %v", name, r.CloseMeta)
		}
	}
	if !sum.Ended || sum.Bytes != wn || sum.SHA256 != hex.EncodeToString(wsum) || sum.AgentError != "session note" {
		t.Errorf("summary %+v, writer sum %d %x", sum, wn, wsum)
	}
	if got := sum.AgentErrors(); len(got) != 1 || got[0] != "session: session note" {
		t.Errorf("AgentErrors = %q", got)
	}
	if len(sum.Artifacts) != len(want) {
		t.Errorf("summary has %d artifacts", len(sum.Artifacts))
	}
}

// smallStream writes two interleaved artifacts and returns the bytes and
// the offsets at which each frame ends.
func smallStream(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := w.Open("a/one", Meta{"k": "v"})
	b, _ := w.Open("b/two", nil)
	a.Write([]byte("hello "))
	b.Write([]byte("other"))
	a.Write([]byte("world"))
	a.Close()
	b.Finish(nil, errors.New("cut short"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	full := smallStream(t)
	for cut := 0; cut < len(full); cut++ {
		c := newCollected()
		var sum *Summary
		var err error
		withTimeout(t, 5*time.Second, func() {
			sum, err = Demux(bytes.NewReader(full[:cut]), c.handler, nil)
		})
		var te *TruncatedError
		if !errors.As(err, &te) {
			t.Fatalf("cut at %d: error %v, want *TruncatedError", cut, err)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: error does not wrap io.ErrUnexpectedEOF", cut)
		}
		if sum == nil || sum.Ended {
			t.Fatalf("cut at %d: summary %+v", cut, sum)
		}
		// Every artifact opened but not closed is named, and its reader
		// got an error rather than a clean EOF.
		for _, r := range sum.Artifacts {
			incomplete := !r.Closed
			named := strings.Contains(te.Error(), r.Name)
			if incomplete != named {
				t.Errorf("cut at %d: %s closed=%v, error %q", cut, r.Name, r.Closed, te.Error())
			}
			if incomplete && !errors.Is(c.errs[r.Name], io.ErrUnexpectedEOF) {
				t.Errorf("cut at %d: reader of %s ended with %v", cut, r.Name, c.errs[r.Name])
			}
		}
	}
	// The whole stream passes, and b's agent error is reported as such.
	c := newCollected()
	sum, err := Demux(bytes.NewReader(full), c.handler, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.data["a/one"]) != "hello world" || string(c.data["b/two"]) != "other" {
		t.Errorf("data %q", c.data)
	}
	if got := sum.AgentErrors(); len(got) != 1 || got[0] != "b/two: cut short" {
		t.Errorf("AgentErrors = %q", got)
	}
	if c.res["a/one"].Meta["k"] != "v" {
		t.Errorf("meta %v", c.res["a/one"].Meta)
	}
}

func TestCorruptionIsReportedNotPanicked(t *testing.T) {
	full := smallStream(t)
	i := bytes.Index(full, []byte("hello"))
	bad := append([]byte(nil), full...)
	bad[i] = 'j'
	c := newCollected()
	sum, err := Demux(bytes.NewReader(bad), c.handler, nil)
	var m *MismatchError
	if !errors.As(err, &m) {
		t.Fatalf("error %v, want a *MismatchError", err)
	}
	if string(c.data["a/one"]) != "jello world" {
		t.Errorf("damaged artifact not delivered: %q", c.data["a/one"])
	}
	if r := c.res["a/one"]; r.Verified() || r.Err == nil {
		t.Errorf("a/one result %+v", r)
	}
	if r := c.res["b/two"]; !r.Verified() {
		t.Errorf("b/two result %+v", r)
	}
	if !strings.Contains(err.Error(), "artifact a/one") || !strings.Contains(err.Error(), "stream: received") {
		t.Errorf("error %q should name the artifact and the stream", err)
	}
	if !sum.Ended {
		t.Error("summary not ended")
	}
}

func TestSignatureAlteredByTTY(t *testing.T) {
	full := smallStream(t)
	mangled := bytes.ReplaceAll(full, []byte("\r\n"), []byte("\n"))
	_, err := Demux(bytes.NewReader(mangled), newCollected().handler, nil)
	var pe *ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "TTY") {
		t.Fatalf("error %v, want a protocol error mentioning a TTY", err)
	}
	_, err = Demux(strings.NewReader("plain text that is no stream"), newCollected().handler, nil)
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want a protocol error", err)
	}
}

func TestExtensionFramesSkippedUnknownRejected(t *testing.T) {
	full := smallStream(t)
	ext := make([]byte, frameHeaderSize+3)
	putFrameHeader(ext, 0x90, 7, 3)
	withExt := append(append(append([]byte(nil), full[:headerSize]...), ext...), full[headerSize:]...)
	// The END hash covers the extension bytes, which the writer did not
	// send: expect exactly a stream-level mismatch and no other failure.
	c := newCollected()
	_, err := Demux(bytes.NewReader(withExt), c.handler, nil)
	var m *MismatchError
	if !errors.As(err, &m) || m.Artifact != "" {
		t.Fatalf("error %v, want only a stream mismatch", err)
	}
	if string(c.data["a/one"]) != "hello world" {
		t.Errorf("data %q", c.data["a/one"])
	}
	putFrameHeader(ext, 0x10, 7, 3)
	withBad := append(append(append([]byte(nil), full[:headerSize]...), ext...), full[headerSize:]...)
	_, err = Demux(bytes.NewReader(withBad), newCollected().handler, nil)
	var pe *ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "unknown frame type 16") {
		t.Fatalf("error %v, want unknown frame type", err)
	}
}

// TestSlowHandlerDoesNotStallStream has the handler of the first artifact
// crawl while a much larger second artifact, interleaved with it, arrives
// through a pipe: the writer must finish without waiting for the handler,
// and the second artifact must spill to disk and come back intact.
func TestSlowHandlerDoesNotStallStream(t *testing.T) {
	pr, pw := io.Pipe()
	spoolDir := t.TempDir()
	first := payload(1, 200_000)
	second := payload(2, 3<<20)

	writerDone := make(chan error, 1)
	go func() {
		w, err := NewWriter(pw)
		if err != nil {
			writerDone <- err
			return
		}
		a, _ := w.Open("slow/first", nil)
		b, _ := w.Open("fast/second", nil)
		fa, fb := first, second
		for len(fa) > 0 || len(fb) > 0 {
			if len(fa) > 0 {
				k := min(1000, len(fa))
				a.Write(fa[:k])
				fa = fa[k:]
				if len(fa) == 0 {
					a.Close()
				}
			}
			if len(fb) > 0 {
				k := min(50_000, len(fb))
				b.Write(fb[:k])
				fb = fb[k:]
			}
		}
		b.Close()
		writerDone <- w.Close()
		pw.Close()
	}()

	release := make(chan struct{})
	var got1, got2 []byte
	h := func(a *Artifact) error {
		var err error
		switch a.Name {
		case "slow/first":
			// Read a little, then wait until the writer is done: a demux
			// that blocked on this handler would never let it finish.
			buf := make([]byte, 100)
			n, _ := io.ReadFull(a, buf)
			<-release
			rest, e := io.ReadAll(a)
			got1, err = append(buf[:n], rest...), e
		case "fast/second":
			got2, err = io.ReadAll(a)
		}
		return err
	}
	var sum *Summary
	var derr error
	demuxDone := make(chan struct{})
	go func() {
		sum, derr = Demux(pr, h, &Options{SpoolDir: spoolDir, MemoryLimit: 64 << 10})
		close(demuxDone)
	}()
	select {
	case err := <-writerDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("writer stalled behind a slow handler")
	}
	// While the slow handler still waits, the second artifact is on disk.
	entries, _ := os.ReadDir(spoolDir)
	t.Logf("spool files while waiting: %d (unlinked ones do not show)", len(entries))
	close(release)
	select {
	case <-demuxDone:
	case <-time.After(20 * time.Second):
		t.Fatal("demux did not finish")
	}
	if derr != nil {
		t.Fatal(derr)
	}
	if !bytes.Equal(got1, first) || !bytes.Equal(got2, second) {
		t.Errorf("got %d and %d bytes, want %d and %d", len(got1), len(got2), len(first), len(second))
	}
	for _, r := range sum.Artifacts {
		if !r.Verified() {
			t.Errorf("%s not verified: %+v", r.Name, r)
		}
	}
	if entries, _ := os.ReadDir(spoolDir); len(entries) != 0 {
		t.Errorf("spool files left behind: %v", entries)
	}
}

func TestHandlerErrorStopsDemux(t *testing.T) {
	full := smallStream(t)
	boom := errors.New("disk full")
	calls := 0
	_, err := Demux(bytes.NewReader(full), func(a *Artifact) error { calls++; return boom }, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "handling artifact a/one") {
		t.Fatalf("error %v", err)
	}
	if calls != 1 {
		t.Errorf("handler called %d times after failing", calls)
	}
	// A reader that never ends must not keep Demux from returning.
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { pw.Write(full[:len(full)/2]) }()
	withTimeout(t, 5*time.Second, func() {
		_, err = Demux(pr, func(a *Artifact) error { return boom }, nil)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
}

func TestUnreadArtifactsAreSkipped(t *testing.T) {
	full := smallStream(t)
	sum, err := Demux(bytes.NewReader(full), func(*Artifact) error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Artifacts {
		if !r.Verified() {
			t.Errorf("%+v", r)
		}
	}
}

func TestWriterRules(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	a, err := w.Open("x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Open("x/y", nil); err == nil {
		t.Error("second open of the same name accepted")
	}
	if _, err := w.Open("../escape", nil); err == nil {
		t.Error("escaping name accepted")
	}
	err = w.Close()
	if err == nil || !strings.Contains(err.Error(), "x/y") {
		t.Errorf("Close with open artifact: %v", err)
	}
	if _, err := a.Write([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	sum, derr := Demux(bytes.NewReader(buf.Bytes()), newCollected().handler, nil)
	if derr != nil {
		t.Fatal(derr)
	}
	if r := sum.Artifacts[0]; r.AgentError == "" || !r.Verified() {
		t.Errorf("artifact left open: %+v", r)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("broken pipe")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteErrorIsSticky(t *testing.T) {
	w, err := NewWriter(&failingWriter{n: 100})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Open("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(make([]byte, 1000)); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("write: %v", err)
	}
	if _, err := w.Open("b", nil); err == nil {
		t.Error("open after a write error succeeded")
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"pcap/capture.pcapng", true},
		{"fs/rootfs.tar", true},
		{"ünïcode/ok", true},
		{"", false},
		{"/abs", false},
		{"a/../b", false},
		{"..", false},
		{"../x", false},
		{".", false},
		{"a//b", false},
		{"a/", false},
		{"line\nbreak", false},
		{"back\\slash", false},
		{string([]byte{0xff, 0xfe}), false},
		{strings.Repeat("x", MaxNameLength+1), false},
	} {
		if err := ValidName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestExtractTo(t *testing.T) {
	dir := t.TempDir()
	if _, err := Demux(bytes.NewReader(smallStream(t)), ExtractTo(dir), nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + "/a/one")
	if err != nil || string(b) != "hello world" {
		t.Fatalf("a/one = %q, %v", b, err)
	}
	if _, err := Demux(bytes.NewReader(smallStream(t)), ExtractTo(dir), nil); err == nil {
		t.Error("extracting over existing files succeeded")
	}
}

func ExampleDemux() {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	a, _ := w.Open("proc/snapshot.json", Meta{"content_type": "application/json"})
	a.Write([]byte(`{"processes":[]}`))
	a.Close()
	w.Close()

	sum, err := Demux(&buf, func(a *Artifact) error {
		b, err := io.ReadAll(a) // a plugin would copy into its bundle
		fmt.Printf("%s: %s\n", a.Name, b)
		return err
	}, nil)
	fmt.Println(err, sum.Artifacts[0].Verified(), sum.Ended)
	// Output:
	// proc/snapshot.json: {"processes":[]}
	// <nil> true true
}
