package agentio

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// session writes an agent stream with the given artifacts; fail names an
// artifact the agent reports as failed.
func session(t *testing.T, arts map[string]string, order []string, fail string) []byte {
	t.Helper()
	var wire bytes.Buffer
	w, err := stream.NewWriter(&wire)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range order {
		a, err := w.Open(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Write([]byte(arts[name]))
		var cause error
		if name == fail {
			cause = errors.New("capture cut short")
		}
		a.Finish(nil, cause)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return wire.Bytes()
}

// receive runs Receive on wire inside a collector and returns the bundle's
// manifest and what Receive returned.
func receive(t *testing.T, wire []byte) (evidence.Manifest, *stream.Summary, error) {
	t.Helper()
	bw, err := evidence.Create(filepath.Join(t.TempDir(), "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	var sum *stream.Summary
	var rerr error
	r := &collect.Runner{Bundle: bw}
	res := r.Run(context.Background(), []collect.Collector{collect.Func("test.agent", func(ctx context.Context, sink collect.Sink) error {
		sum, rerr = Receive(ctx, sink, bytes.NewReader(wire), "test.agent", t.TempDir())
		return nil
	})})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Manifest, sum, rerr
}

func find(m evidence.Manifest, path string) (evidence.Artifact, bool) {
	for _, a := range m.Artifacts {
		if a.Path == path {
			return a, true
		}
	}
	return evidence.Artifact{}, false
}

func TestReceiveStoresArtifactsAsSent(t *testing.T) {
	arts := map[string]string{"agent/info.json": `{"version":"v1"}`, "proc/snapshot.json": `{"processes":[]}`}
	m, sum, err := receive(t, session(t, arts, []string{"agent/info.json", "proc/snapshot.json"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Complete {
		t.Errorf("bundle incomplete: %q", m.Incomplete)
	}
	for _, res := range sum.Artifacts {
		got, ok := find(m, res.Name)
		if !ok || got.SHA256 != res.DeclaredSHA256 || got.Size != res.DeclaredBytes || got.Producer != "test.agent" {
			t.Errorf("%s stored as %+v, the agent declared %d bytes sha256 %s", res.Name, got, res.DeclaredBytes, res.DeclaredSHA256)
		}
	}
	if p := Problems(sum, err); len(p) != 0 {
		t.Errorf("problems of a clean session: %q", p)
	}
	rec := StreamRecord(sum)
	if !rec.Ended || rec.Bytes != rec.DeclaredBytes || rec.SHA256 != rec.DeclaredSHA256 || len(rec.Artifacts) != 2 {
		t.Errorf("stream record %+v", rec)
	}
}

// TestCorruptArtifactIsMarked flips one byte of an artifact on its way
// from the agent: the bytes are kept, hashed as received, and the artifact
// is marked with the failed check.
func TestCorruptArtifactIsMarked(t *testing.T) {
	b := session(t, map[string]string{"proc/snapshot.json": `{"processes":[{"pid":1,"cmdline":["/webserver"]}]}`}, []string{"proc/snapshot.json"}, "")
	i := bytes.Index(b, []byte("webserver"))
	b[i] = 'W'
	m, sum, err := receive(t, b)
	var mm *stream.MismatchError
	if !errors.As(err, &mm) {
		t.Errorf("Receive error = %v, want a mismatch", err)
	}
	got, ok := find(m, "proc/snapshot.json")
	if !ok || !got.Partial || !strings.Contains(got.Error, "transfer check failed") || got.Size == 0 {
		t.Errorf("corrupt artifact recorded as %+v", got)
	}
	if m.Complete {
		t.Error("bundle with a corrupt agent artifact marked complete")
	}
	if p := Problems(sum, err); len(p) < 2 || !strings.Contains(strings.Join(p, "\n"), "stream mismatch") {
		t.Errorf("problems = %q", p)
	}
}

func TestAgentReportedFailureIsMarked(t *testing.T) {
	arts := map[string]string{"pcap/capture.pcapng": "packets"}
	m, sum, err := receive(t, session(t, arts, []string{"pcap/capture.pcapng"}, "pcap/capture.pcapng"))
	if err != nil {
		t.Fatalf("transport error for an intact stream: %v", err)
	}
	got, _ := find(m, "pcap/capture.pcapng")
	if !got.Partial || got.Error != "the agent reported: capture cut short" || got.Size != 7 {
		t.Errorf("artifact recorded as %+v", got)
	}
	if diff := cmp.Diff([]string{"pcap/capture.pcapng: capture cut short"}, Problems(sum, nil)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestTruncatedStream(t *testing.T) {
	b := session(t, map[string]string{"fs/rootfs.tar": strings.Repeat("x", 1000)}, []string{"fs/rootfs.tar"}, "")
	m, sum, err := receive(t, b[:len(b)-100])
	var te *stream.TruncatedError
	if !errors.As(err, &te) {
		t.Errorf("Receive error = %v, want truncated", err)
	}
	if got, _ := find(m, "fs/rootfs.tar"); !got.Partial {
		t.Errorf("cut artifact recorded as %+v", got)
	}
	if p := strings.Join(Problems(sum, err), "\n"); !strings.Contains(p, "without its END frame") {
		t.Errorf("problems = %q", p)
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := NewLimitedBuffer(5)
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got, want := b.String(), "abcde\n[5 more bytes not kept]\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
