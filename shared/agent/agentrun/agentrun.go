package agentrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/agentio"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// Launchers, as agent/transfer.json names them (Transfer.Launcher).
const (
	LauncherDockerSidecar       = "docker-sidecar"
	LauncherKubernetesEphemeral = "kubernetes-ephemeral-container"
)

// Paths of the session's own artifacts.
const (
	TransferPath = "agent/transfer.json"
	StderrPath   = "agent/stderr.log"
)

// DefaultStopGrace bounds the wait for the agent to end its stream once
// it was told to stop, and for its attach and exit afterwards.
const DefaultStopGrace = 30 * time.Second

// stderrMax bounds the agent's log kept in the bundle.
const stderrMax = 1 << 20

// Launcher is an agent container a runtime created beside the target,
// with the agent's command line, not started yet. Run calls Start, then
// Attach when Start succeeded, then Wait, Describe, Remove and Action.
type Launcher interface {
	// Start starts the agent's container and returns once the agent runs
	// and waits for its start byte, or an error when it will not run.
	Start(ctx context.Context) error
	// Attach connects the agent's standard streams: it copies stdin to the
	// agent until stdin ends, then closes the agent's stdin, and copies the
	// agent's stdout and stderr to stdout and stderr until they end. It
	// returns when the agent's output ended, or at once when ctx ends.
	Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error
	// Wait waits until the agent exited, or ctx ended, and returns its exit
	// code; known is false when the runtime did not say.
	Wait(ctx context.Context) (code int64, known bool)
	// Describe fills in the launcher's part of agent/transfer.json: the
	// launcher's name, the container, how it was chosen, the transport.
	Describe(t *Transfer)
	// Remove removes what the launcher created, where the runtime can;
	// its failure is also recorded in Action.
	Remove(ctx context.Context) error
	// Action is the custody record of what the launcher created.
	Action() evidence.Action
}

// Transfer is agent/transfer.json: how the agent ran beside the target and
// what arrived against what it declared. Every launcher writes the same
// keys; a launcher's part it does not have is null (or empty).
type Transfer struct {
	// Launcher is how the agent ran: LauncherDockerSidecar or
	// LauncherKubernetesEphemeral.
	Launcher string `json:"launcher"`
	// Plan is how the launcher chose the agent's container (Kubernetes:
	// target, steps, security context and why, refused steps); null when
	// there was no choice to make.
	Plan any `json:"plan"`
	// Admission lists refusals of the API server's admission that made
	// the plan change.
	Admission []string `json:"admission"`
	// Sidecar is the Docker sidecar container; null for other launchers.
	Sidecar any `json:"sidecar"`
	// EphemeralContainer is the Kubernetes ephemeral container; null for
	// other launchers, and when none was added.
	EphemeralContainer any `json:"ephemeral_container"`
	// Agent is the agent binary the launcher put in the image, when it
	// knows it; null when the image is only named.
	Agent any `json:"agent"`
	// AgentArgs is the agent's command line.
	AgentArgs []string `json:"agent_args"`
	// Transport is how the plugin attached to the agent.
	Transport string `json:"transport"`
	// AgentExit is the agent's exit code; null when the runtime did not
	// give it in time.
	AgentExit *int64 `json:"agent_exit"`
	// AgentStderr is the agent's log, as agent/stderr.log holds it.
	AgentStderr string `json:"agent_stderr"`
	// Stream is what arrived against what the agent declared; null when
	// no stream was read.
	Stream *agentio.Stream `json:"stream"`
	// Problems is empty when every byte arrived as the agent sent it and
	// every capture completed.
	Problems []string `json:"problems"`
}

// Options are one session's settings.
type Options struct {
	// Args is the agent's command line, as the launcher created it.
	Args []string
	// Producer names the agent's artifacts and the session's own in the
	// manifest ("docker.agent", "kube.agent").
	Producer string
	// SpoolDir holds agent artifacts that wait for their turn to be
	// written; empty means the system's temporary folder.
	SpoolDir string
	// StopGrace bounds the wait for the agent to end its stream after it
	// was told to stop; 0 means DefaultStopGrace.
	StopGrace time.Duration
}

func (o Options) grace() time.Duration {
	if o.StopGrace > 0 {
		return o.StopGrace
	}
	return DefaultStopGrace
}

// ProblemsError is Run's error when the session did not bring everything
// the agent was asked for: its problems, as agent/transfer.json lists them.
type ProblemsError struct {
	Problems []string
	// Started is false when the agent never ran (Start failed).
	Started bool
}

func (e *ProblemsError) Error() string {
	return "live capture: " + strings.Join(e.Problems, "; ")
}

// Run runs the agent l created, receives its stream into sink, and
// records agent/transfer.json, agent/stderr.log (when the agent ran) and
// the custody action. On interruption (ctx ends) it closes the agent's
// stdin, which makes the agent end its captures and its stream properly,
// and keeps what it still sends for at most the stop grace. It returns the
// transfer record, and a *ProblemsError when anything went wrong with the
// session, or the error that made the bundle unwritable.
func Run(ctx context.Context, sink collect.Sink, l Launcher, o Options) (*Transfer, error) {
	t := &Transfer{AgentArgs: o.Args}
	wctx := context.WithoutCancel(ctx)
	defer func() {
		if err := l.Remove(wctx); err != nil {
			sink.Logf("removing the agent's container: %v", err)
		}
		sink.Action(l.Action())
	}()
	if err := l.Start(ctx); err != nil {
		l.Describe(t)
		t.Problems = append(t.Problems, err.Error())
		if werr := WriteTransfer(sink, t, o.Producer); werr != nil {
			return t, werr
		}
		return t, &ProblemsError{Problems: t.Problems}
	}
	stderr := agentio.NewLimitedBuffer(stderrMax)
	sum, serr := receive(ctx, sink, l, o, stderr)
	for _, a := range MemoryActions(sum) {
		sink.Action(a)
	}
	exitCtx, cancel := context.WithTimeout(wctx, o.grace())
	t.AgentExit = Exit(l.Wait(exitCtx))
	cancel()
	l.Describe(t)
	t.AgentStderr = stderr.String()
	t.Stream = agentio.StreamRecord(sum)
	t.Problems = append(t.Problems, agentio.Problems(sum, serr)...)
	if err := WriteTransfer(sink, t, o.Producer); err != nil {
		return t, err
	}
	if err := sink.Bytes(evidence.Meta{Path: StderrPath, Producer: o.Producer, MediaType: "text/plain",
		Description: "the agent's own log lines (its last line gives the bytes and SHA-256 it sent)"}, stderr.Bytes()); isFatal(err) {
		return t, err
	}
	if len(t.Problems) > 0 {
		return t, &ProblemsError{Problems: t.Problems, Started: true}
	}
	return t, nil
}

// Exit folds what a launcher learnt of the agent's end into agent_exit:
// the exit code when the runtime gave it, nil (null) when not.
func Exit(code int64, known bool) *int64 {
	if !known {
		return nil
	}
	return &code
}

// WriteTransfer stores t as agent/transfer.json, with producer. Launchers
// call it themselves only for a session that never reached Run (nothing
// was created); Run writes it otherwise. It returns an error only when the
// bundle can no longer be written.
func WriteTransfer(sink collect.Sink, t *Transfer, producer string) error {
	if t.Problems == nil {
		t.Problems = []string{}
	}
	if t.Admission == nil {
		t.Admission = []string{}
	}
	err := sink.JSON(TransferMeta(producer), t)
	if isFatal(err) {
		return err
	}
	return nil
}

// TransferMeta is the manifest entry of agent/transfer.json; launchers use
// it to record that no session could be set up at all (sink.Fail).
func TransferMeta(producer string) evidence.Meta {
	return evidence.Meta{Path: TransferPath, Producer: producer, MediaType: "application/json",
		Description: "the live capture: how the agent ran beside the target (the sidecar or ephemeral container, image, plan and why), its arguments and exit code, its stream totals and per-artifact checks against what arrived, and problems"}
}

// receive attaches to the agent and receives its stream into sink. The
// agent gets its start byte as soon as the attach is up, and its stdin
// stays open until the stream ended or ctx ends: then stdin is closed,
// which makes the agent end its captures and its stream properly, and
// what it still sends is kept, for at most the stop grace.
func receive(ctx context.Context, sink collect.Sink, l Launcher, o Options, stderr io.Writer) (*stream.Summary, error) {
	grace := o.grace()
	in := newStdin()
	actx, cancelAttach := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAttach()
	pr, pw := io.Pipe()
	attached := make(chan error, 1)
	go func() {
		err := l.Attach(actx, in, pw, stderr)
		if err == nil {
			pw.Close()
		} else {
			pw.CloseWithError(fmt.Errorf("attaching to the agent: %w", err))
		}
		in.stop()
		attached <- err
	}()
	finished := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			in.stop() // the agent ends its captures and its stream
			select {
			case <-time.After(grace):
				cancelAttach()
			case <-finished:
			}
		case <-finished:
		}
	})
	sum, rerr := agentio.Receive(ctx, sink, pr, o.Producer, o.SpoolDir)
	// The stream is over (or the bundle is unwritable): let the agent go,
	// and read what the attach still brings, up to the grace.
	in.stop()
	trailing := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, pr)
		trailing <- n
	}()
	var aerr error
	select {
	case aerr = <-attached:
	case <-time.After(grace):
		cancelAttach()
		aerr = <-attached
		if aerr != nil {
			aerr = fmt.Errorf("the attach did not end within %s after the agent's stream ended: %w", grace, aerr)
		}
	}
	close(finished)
	wg.Wait()
	pr.Close()
	if n := <-trailing; n > 0 && sum != nil && sum.Ended {
		rerr = errors.Join(rerr, fmt.Errorf("%d bytes arrived after the agent's END frame", n))
	}
	if aerr != nil && !(sum != nil && sum.Ended && errors.Is(aerr, context.Canceled)) {
		// A transport failure shows in the stream as a truncation too;
		// say what the attach itself reported.
		rerr = errors.Join(rerr, fmt.Errorf("attaching to the agent: %w", aerr))
	}
	return sum, rerr
}

// agentStdin is the agent's stdin: one start byte, then nothing until
// stop, then end of file (which closes the container's stdin).
type agentStdin struct {
	mu   sync.Mutex
	sent bool
	done chan struct{}
	once sync.Once
}

func newStdin() *agentStdin { return &agentStdin{done: make(chan struct{})} }

func (s *agentStdin) Read(p []byte) (int, error) {
	s.mu.Lock()
	if !s.sent && len(p) > 0 {
		s.sent = true
		s.mu.Unlock()
		p[0] = '\n'
		return 1, nil
	}
	s.mu.Unlock()
	<-s.done
	return 0, io.EOF
}

func (s *agentStdin) stop() { s.once.Do(func() { close(s.done) }) }

// isFatal reports whether err means the bundle can no longer be written.
func isFatal(err error) bool { return err != nil && !evidence.IsSourceError(err) }
