package agentio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// Receive reads an agent stream from r and stores each artifact in sink
// under the name the agent gave it, with producer as its producer. It
// returns the demux summary and errors.Join of the transport problems
// (stream.Demux's error) and a fatal bundle error, if any. Artifacts are
// written with a context that outlives ctx: once the agent was told to
// stop, what it still sends is evidence. spoolDir holds the artifacts
// that wait for their turn (empty: the system's temporary folder).
func Receive(ctx context.Context, sink collect.Sink, r io.Reader, producer, spoolDir string) (*stream.Summary, error) {
	wctx := context.WithoutCancel(ctx)
	return stream.Demux(r, func(a *stream.Artifact) error {
		err := sink.Stream(wctx, evidence.Meta{Path: a.Name, Producer: producer, Description: Describe(a.Name)}, Checked(a))
		if err != nil && !evidence.IsSourceError(err) {
			return err // the bundle can no longer be written
		}
		return nil
	}, &stream.Options{SpoolDir: spoolDir})
}

// Checked returns a reader of an agent artifact that turns a failed check
// (count or hash mismatch, cut short, or a failure the agent reported)
// into an error at its end, so that the bundle keeps the bytes and marks
// the artifact partial with the reason.
func Checked(a *stream.Artifact) io.Reader { return &checked{a: a} }

type checked struct{ a *stream.Artifact }

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.a.Read(p)
	if err == io.EOF {
		res := c.a.Result()
		switch {
		case res.Err != nil:
			return n, fmt.Errorf("agent transfer check failed: %w", res.Err)
		case res.AgentError != "":
			return n, fmt.Errorf("the agent reported: %s", res.AgentError)
		}
	}
	return n, err
}

// Describe is the manifest description of an agent artifact.
func Describe(name string) string {
	switch {
	case strings.HasPrefix(name, "pcap/"):
		return "packets of the target's network namespace, captured by the agent (open with tshark -r or tcpdump -r)"
	case strings.HasPrefix(name, "proc/"):
		return "process and socket snapshot of the target's process namespace, from /proc, by the agent"
	case name == "fs/mounts.json":
		return "the target's mounts from /proc/1/mountinfo, classified (root, volume, service-account-token, runtime-file, pseudo), by the agent"
	case name == "fs/report.json":
		return "what the agent's filesystem walk left out on purpose (pseudo filesystems, sockets, loops) and what it could not read"
	case strings.HasPrefix(name, "fs/"):
		return "the target's filesystem as the agent saw it through /proc/1/root"
	case name == "agent/info.json":
		return "the agent's version, arguments, kernel and namespaces, as the agent reported them"
	}
	return "written by the forensic agent"
}

// Stream is the stream section of agent/transfer.json: what arrived
// against what the agent declared, for the whole stream and per artifact.
type Stream struct {
	Bytes          int64                   `json:"bytes"`
	SHA256         string                  `json:"sha256"`
	Ended          bool                    `json:"ended"`
	DeclaredBytes  int64                   `json:"declared_bytes"`
	DeclaredSHA256 string                  `json:"declared_sha256"`
	AgentError     string                  `json:"agent_error"`
	Artifacts      []stream.ArtifactResult `json:"artifacts"`
}

// StreamRecord returns the stream section for sum; nil when no stream was
// read at all.
func StreamRecord(sum *stream.Summary) *Stream {
	if sum == nil {
		return nil
	}
	arts := sum.Artifacts
	if arts == nil {
		arts = []stream.ArtifactResult{}
	}
	return &Stream{Bytes: sum.Bytes, SHA256: sum.SHA256, Ended: sum.Ended, DeclaredBytes: sum.DeclaredBytes,
		DeclaredSHA256: sum.DeclaredSHA256, AgentError: sum.AgentError, Artifacts: arts}
}

// Problems lists what went wrong with a session: the transport error err
// (Demux's, or the attach's), a stream without its END frame, a stream
// whose totals differ from the declared ones, and every failure the agent
// reported. An empty list means every byte arrived as the agent sent it.
func Problems(sum *stream.Summary, err error) []string {
	problems := []string{}
	if err != nil {
		problems = append(problems, err.Error())
	}
	if sum == nil {
		return problems
	}
	if !sum.Ended {
		problems = append(problems, "the agent's stream ended without its END frame")
	} else if sum.Bytes != sum.DeclaredBytes || sum.SHA256 != sum.DeclaredSHA256 {
		problems = append(problems, fmt.Sprintf("stream mismatch: received %d bytes sha256 %s, the agent sent %d bytes sha256 %s", sum.Bytes, sum.SHA256, sum.DeclaredBytes, sum.DeclaredSHA256))
	}
	return append(problems, sum.AgentErrors()...)
}

// LimitedBuffer keeps the first Max bytes written to it and counts the
// rest; writes never fail. It is safe for concurrent use.
type LimitedBuffer struct {
	// Max is the number of bytes kept.
	Max int

	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

// NewLimitedBuffer returns a buffer that keeps max bytes.
func NewLimitedBuffer(max int) *LimitedBuffer { return &LimitedBuffer{Max: max} }

func (l *LimitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := max(l.Max-l.buf.Len(), 0); room < n {
		l.dropped += int64(n - room)
		p = p[:room]
	}
	l.buf.Write(p)
	return n, nil
}

// String returns what was kept, as Bytes does.
func (l *LimitedBuffer) String() string { return string(l.Bytes()) }

// Bytes returns what was kept, followed by a line saying how many bytes
// were not.
func (l *LimitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append([]byte(nil), l.buf.Bytes()...)
	if l.dropped > 0 {
		b = append(b, fmt.Sprintf("\n[%d more bytes not kept]\n", l.dropped)...)
	}
	return b
}
