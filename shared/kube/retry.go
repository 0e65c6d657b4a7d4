package kube

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RetryBudget is how long one API request is retried, in all, before its
// last error is returned: long enough for an API server to restart.
const RetryBudget = 90 * time.Second

// Retry retries the API requests that are safe to repeat when the API
// server throttles (429), fails (500, 502, 503, 504) or cannot be reached
// (a restart, once it has answered): with exponential backoff and jitter from 200 ms to 5 s,
// honouring Retry-After, within Budget for each request. Reads are safe to
// repeat; so are the review requests (SelfSubjectAccessReview,
// SelfSubjectReview), which store nothing. Other writes are never retried.
// Responses are returned at their headers: a log already streaming is
// never read twice.
type Retry struct {
	Next http.RoundTripper
	// Budget bounds the retries of one request; 0 means RetryBudget.
	Budget time.Duration
	// Requests, when set, counts every request sent, retries included.
	Requests *atomic.Int64
	// answered is set once the API server answered: before that, a server
	// that cannot be reached is a wrong kubeconfig or a cluster that is
	// down, said at once rather than waited for.
	answered atomic.Bool
	// sleep is time.Sleep's stand-in in tests.
	sleep func(context.Context, time.Duration) error
}

// RoundTrip implements http.RoundTripper.
func (r *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	budget := r.Budget
	if budget <= 0 {
		budget = RetryBudget
	}
	deadline := time.Now().Add(budget)
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		if r.Requests != nil {
			r.Requests.Add(1)
		}
		resp, err := r.Next.RoundTrip(req)
		if err == nil {
			r.answered.Store(true)
		} else if !r.answered.Load() {
			return resp, err
		}
		if !retryable(req, resp, err) {
			return resp, err
		}
		d := wait + rand.N(wait/2+1)
		if resp != nil {
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
				d = time.Duration(min(s, 10)) * time.Second
			}
		}
		if time.Now().Add(d).After(deadline) {
			return resp, err
		}
		if resp != nil {
			// The body of an error answer is small; drain it so the
			// connection is reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		sleep := r.sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if serr := sleep(req.Context(), d); serr != nil {
			return nil, serr
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable says whether the answer (resp or err) to req may be retried.
func retryable(req *http.Request, resp *http.Response, err error) bool {
	if req.Context().Err() != nil || !repeatable(req) {
		return false
	}
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
			(isUnreachable(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
				strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// repeatable says whether sending req twice does no harm.
func repeatable(req *http.Request) bool {
	if req.Header.Get("Upgrade") != "" {
		// attach, exec and port-forward streams
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		// A watch or a follow is a stream the caller manages.
		q := req.URL.Query()
		return q.Get("watch") != "true" && q.Get("follow") != "true"
	case http.MethodPost:
		return reviewPath(req.URL.Path) && (req.GetBody != nil || req.Body == nil || req.Body == http.NoBody)
	}
	return false
}

// reviewPath reports whether a POST goes to a review API that stores
// nothing.
func reviewPath(path string) bool {
	return strings.HasSuffix(path, "/selfsubjectaccessreviews") || strings.HasSuffix(path, "/selfsubjectreviews") ||
		strings.HasSuffix(path, "/selfsubjectrulesreviews")
}
