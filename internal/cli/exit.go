package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// ExitError carries a process exit code with its message. Each plugin's
// main turns it into the exit status (see collect.Exit* for the codes).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit returns an ExitError, or nil for code 0.
func Exit(code int, err error) error {
	if code == 0 {
		return nil
	}
	if err == nil {
		err = errors.New("failed")
	}
	return &ExitError{Code: code, Err: err}
}

// ErrInterrupted is the cause of a context cancelled by SIGINT or SIGTERM.
var ErrInterrupted = errors.New("interrupted by signal")

// SignalContext returns a context cancelled, with cause ErrInterrupted, on
// the first SIGINT or SIGTERM, or when parent is cancelled (the docker CLI
// cancels its plugins' context when it is interrupted). After the first
// signal the default handling comes back, so a second Ctrl-C stops the
// process at once.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	// Not derived from parent's cancellation, so that the cause is ours.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			signal.Stop(ch)
			cancel(ErrInterrupted)
		case <-parent.Done():
			cancel(ErrInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}
