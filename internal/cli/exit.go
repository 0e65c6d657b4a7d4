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
// the first SIGINT or SIGTERM. After that first signal the default handling
// comes back, so a second Ctrl-C stops the process at once.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			signal.Stop(ch)
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
