package agentrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// memSink is a collect.Sink that keeps artifacts in memory.
type memSink struct {
	mu      sync.Mutex
	files   map[string][]byte
	meta    map[string]evidence.Meta
	failed  map[string]error
	actions []evidence.Action
	logs    []string
}

func newSink() *memSink {
	return &memSink{files: map[string][]byte{}, meta: map[string]evidence.Meta{}, failed: map[string]error{}}
}

func (s *memSink) Stream(_ context.Context, m evidence.Meta, r io.Reader) error {
	b, err := io.ReadAll(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[m.Path], s.meta[m.Path] = b, m
	if err != nil {
		s.failed[m.Path] = err
		return &evidence.SourceError{Path: m.Path, Err: err}
	}
	return nil
}

func (s *memSink) Bytes(m evidence.Meta, b []byte) error {
	return s.Stream(context.Background(), m, strings.NewReader(string(b)))
}

func (s *memSink) JSON(m evidence.Meta, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return s.Bytes(m, b)
}

func (s *memSink) Fail(m evidence.Meta, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed[m.Path] = cause
	return nil
}

func (s *memSink) Logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, fmt.Sprintf(format, args...))
}

func (s *memSink) Action(a evidence.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = append(s.actions, a)
}

func (s *memSink) Note(string, ...any) {}

// fakeLauncher plays a runtime and, behind Attach, the agent: it waits
// for the start byte, streams its artifacts and its log line, and ends.
type fakeLauncher struct {
	name     string
	startErr error
	// untilStopped keeps the pcap open until stdin ends; deaf ignores the
	// end of stdin too, so that only the attach's end stops it.
	untilStopped, deaf bool
	exit               int64
	exitKnown          bool

	mu        sync.Mutex
	calls     []string
	startByte []byte
	started   chan struct{}
	stdinEOF  time.Time
	attachEnd time.Time
}

func newFake(name string) *fakeLauncher {
	return &fakeLauncher{name: name, exitKnown: true, started: make(chan struct{})}
}

func (f *fakeLauncher) call(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeLauncher) Start(context.Context) error {
	f.call("start")
	return f.startErr
}

func (f *fakeLauncher) Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	f.call("attach")
	defer func() {
		f.mu.Lock()
		f.attachEnd = time.Now()
		f.mu.Unlock()
	}()
	b := make([]byte, 1)
	if n, _ := stdin.Read(b); n != 1 {
		return errors.New("stdin ended before the start byte")
	}
	f.startByte = b
	close(f.started)
	eof := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		f.mu.Lock()
		f.stdinEOF = time.Now()
		f.mu.Unlock()
		close(eof)
	}()
	w, err := stream.NewWriter(stdout)
	if err != nil {
		return err
	}
	a, _ := w.Open("proc/snapshot.json", nil)
	a.Write([]byte(`{"processes":[]}`))
	a.Finish(nil, nil)
	p, _ := w.Open("pcap/capture.pcapng", nil)
	p.Write([]byte("PCAPNG"))
	if f.deaf {
		<-ctx.Done()
		return ctx.Err()
	}
	var cause error
	if f.untilStopped {
		<-eof
		cause = errors.New("capture stopped before its duration or limits: the session was stopped")
	}
	p.Finish(nil, cause)
	if err := w.Close(); err != nil {
		return err
	}
	n, sum := w.Sum()
	fmt.Fprintf(stderr, "fake-agent: sent %d bytes, sha256 %x\n", n, sum)
	return nil
}

func (f *fakeLauncher) Wait(context.Context) (int64, bool) {
	f.call("wait")
	return f.exit, f.exitKnown
}

func (f *fakeLauncher) Describe(t *Transfer) {
	f.call("describe")
	t.Launcher = f.name
	switch f.name {
	case LauncherDockerSidecar:
		t.Sidecar = map[string]string{"name": "forensic-agent-x"}
		t.Agent = map[string]string{"source": "embedded"}
		t.Transport = "docker-attach"
	default:
		t.Plan = map[string]any{"steps": []string{"pcap"}}
		t.Admission = []string{"refused once"}
		t.EphemeralContainer = map[string]string{"name": "forensic-agent-y"}
		t.Transport = "websocket"
	}
}

func (f *fakeLauncher) Remove(context.Context) error {
	f.call("remove")
	return nil
}

func (f *fakeLauncher) Action() evidence.Action {
	f.call("action")
	return evidence.Action{What: "added " + f.name}
}

func decode(t *testing.T, s *memSink) (Transfer, map[string]json.RawMessage) {
	t.Helper()
	var tr Transfer
	var keys map[string]json.RawMessage
	b := s.files[TransferPath]
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("agent/transfer.json: %v\n%s", err, b)
	}
	json.Unmarshal(b, &keys)
	return tr, keys
}

// TestRun: the start byte goes to the agent, every artifact lands in the
// bundle under its own name, transfer.json and stderr.log record the
// session, and the launcher is removed and its action recorded last.
func TestRun(t *testing.T) {
	f := newFake(LauncherDockerSidecar)
	s := newSink()
	tr, err := Run(context.Background(), s, f, Options{Args: []string{"run", "--proc"}, Producer: "test.agent"})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.startByte) != "\n" {
		t.Errorf("start byte %q", f.startByte)
	}
	if got := string(s.files["proc/snapshot.json"]); got != `{"processes":[]}` || s.meta["proc/snapshot.json"].Producer != "test.agent" {
		t.Errorf("proc/snapshot.json = %q, %+v", got, s.meta["proc/snapshot.json"])
	}
	if got := string(s.files["pcap/capture.pcapng"]); got != "PCAPNG" || s.failed["pcap/capture.pcapng"] != nil {
		t.Errorf("pcap = %q, %v", got, s.failed["pcap/capture.pcapng"])
	}
	got, _ := decode(t, s)
	if got.Stream == nil || !got.Stream.Ended || got.Stream.Bytes != got.Stream.DeclaredBytes || len(got.Problems) != 0 ||
		got.AgentExit == nil || *got.AgentExit != 0 || got.Launcher != LauncherDockerSidecar || !slices.Equal(got.AgentArgs, []string{"run", "--proc"}) {
		t.Errorf("transfer %+v", got)
	}
	if tr.Stream.DeclaredSHA256 != got.Stream.DeclaredSHA256 {
		t.Errorf("returned transfer differs from the written one")
	}
	want := fmt.Sprintf("sent %d bytes, sha256 %s", got.Stream.DeclaredBytes, got.Stream.DeclaredSHA256)
	if !strings.Contains(string(s.files[StderrPath]), want) || got.AgentStderr != string(s.files[StderrPath]) {
		t.Errorf("agent/stderr.log = %q, want %q", s.files[StderrPath], want)
	}
	if s.meta[TransferPath].Producer != "test.agent" || s.meta[StderrPath].Producer != "test.agent" {
		t.Errorf("producers %q %q", s.meta[TransferPath].Producer, s.meta[StderrPath].Producer)
	}
	if want := []string{"start", "attach", "wait", "describe", "remove", "action"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if len(s.actions) != 1 || s.actions[0].What != "added "+LauncherDockerSidecar {
		t.Errorf("actions %+v", s.actions)
	}
}

// TestRunInterrupted: Ctrl-C closes the agent's stdin; the agent ends its
// stream properly, long before the grace, and what it sent is kept,
// marked cut short.
func TestRunInterrupted(t *testing.T) {
	f := newFake(LauncherKubernetesEphemeral)
	f.untilStopped = true
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		<-f.started
		cancel(errors.New("interrupted by signal"))
	}()
	s := newSink()
	start := time.Now()
	_, err := Run(ctx, s, f, Options{Producer: "test.agent", StopGrace: 10 * time.Second})
	if time.Since(start) > 5*time.Second {
		t.Errorf("Run took %s: it waited for the grace although the agent ended", time.Since(start))
	}
	if f.stdinEOF.IsZero() {
		t.Fatal("the agent's stdin was not closed")
	}
	var pe *ProblemsError
	if !errors.As(err, &pe) || !pe.Started || !strings.Contains(err.Error(), "the session was stopped") {
		t.Errorf("err = %v", err)
	}
	if string(s.files["pcap/capture.pcapng"]) != "PCAPNG" || s.failed["pcap/capture.pcapng"] == nil {
		t.Errorf("pcap %q, failure %v", s.files["pcap/capture.pcapng"], s.failed["pcap/capture.pcapng"])
	}
	got, _ := decode(t, s)
	if got.Stream == nil || !got.Stream.Ended || got.Stream.Bytes != got.Stream.DeclaredBytes {
		t.Errorf("stream after an interruption %+v", got.Stream)
	}
}

// TestRunGrace: an agent that does not end its stream after its stdin was
// closed is given up on once the grace passed: the attach is cancelled,
// and the stream is recorded as cut short.
func TestRunGrace(t *testing.T) {
	f := newFake(LauncherDockerSidecar)
	f.deaf = true
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.started
		cancel()
	}()
	const grace = 300 * time.Millisecond
	s := newSink()
	_, err := Run(ctx, s, f, Options{Producer: "test.agent", StopGrace: grace})
	if f.stdinEOF.IsZero() {
		t.Fatal("the agent's stdin was not closed")
	}
	if waited := f.attachEnd.Sub(f.stdinEOF); waited < grace-20*time.Millisecond || waited > grace+2*time.Second {
		t.Errorf("the attach ended %s after stdin was closed, want the grace %s", waited, grace)
	}
	if err == nil || !strings.Contains(err.Error(), "without its END frame") {
		t.Errorf("err = %v", err)
	}
	if got := string(s.files["pcap/capture.pcapng"]); got != "PCAPNG" || s.failed["pcap/capture.pcapng"] == nil {
		t.Errorf("pcap %q, failure %v", got, s.failed["pcap/capture.pcapng"])
	}
}

// TestRunStartFails: an agent that never ran: transfer.json says why, no
// stderr.log, nothing attached, the launcher is still removed and its
// action recorded.
func TestRunStartFails(t *testing.T) {
	f := newFake(LauncherKubernetesEphemeral)
	f.startErr = errors.New("the agent image cannot be pulled")
	s := newSink()
	_, err := Run(context.Background(), s, f, Options{Producer: "test.agent"})
	var pe *ProblemsError
	if !errors.As(err, &pe) || pe.Started || err.Error() != "live capture: the agent image cannot be pulled" {
		t.Errorf("err = %v", err)
	}
	got, _ := decode(t, s)
	if !slices.Equal(got.Problems, []string{"the agent image cannot be pulled"}) || got.Stream != nil || got.AgentExit != nil || got.EphemeralContainer == nil {
		t.Errorf("transfer %+v", got)
	}
	if _, ok := s.files[StderrPath]; ok {
		t.Error("agent/stderr.log written for an agent that never ran")
	}
	if want := []string{"start", "describe", "remove", "action"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if len(s.actions) != 1 {
		t.Errorf("actions %+v", s.actions)
	}
}

// TestExitFold: the agent's exit as the runtime reported it, or null.
func TestExitFold(t *testing.T) {
	for _, tc := range []struct {
		code  int64
		known bool
		want  string
	}{
		{0, true, "0"},
		{1, true, "1"},
		{130, true, "130"},
		{0, false, "null"},
		{137, false, "null"},
	} {
		f := newFake(LauncherDockerSidecar)
		f.exit, f.exitKnown = tc.code, tc.known
		s := newSink()
		Run(context.Background(), s, f, Options{})
		_, keys := decode(t, s)
		if got := string(keys["agent_exit"]); got != tc.want {
			t.Errorf("exit %d known %t: agent_exit %s, want %s", tc.code, tc.known, got, tc.want)
		}
	}
}

// TestTransferSameKeys: transfer.json has the same keys whichever
// launcher ran the agent, and whether or not it ran.
func TestTransferSameKeys(t *testing.T) {
	b, _ := json.Marshal(Transfer{})
	var empty map[string]json.RawMessage
	json.Unmarshal(b, &empty)
	want := slices.Sorted(maps.Keys(empty))
	for _, name := range []string{LauncherDockerSidecar, LauncherKubernetesEphemeral} {
		for _, fail := range []bool{false, true} {
			f := newFake(name)
			if fail {
				f.startErr = errors.New("no")
			}
			s := newSink()
			Run(context.Background(), s, f, Options{})
			_, keys := decode(t, s)
			if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
				t.Errorf("%s (start fails %t): keys %q, want %q", name, fail, got, want)
			}
		}
	}
	if len(want) != 12 {
		t.Errorf("keys %q", want)
	}
}
