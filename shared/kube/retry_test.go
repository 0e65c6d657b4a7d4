package kube

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fastRetry(budget time.Duration) *Retry {
	return &Retry{Next: http.DefaultTransport, Budget: budget, Requests: &atomic.Int64{},
		sleep: func(context.Context, time.Duration) error { return nil }}
}

func TestRetryThrottlingAndServerErrors(t *testing.T) {
	var n atomic.Int64
	codes := []int{429, 503, 500, 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1) - 1
		if codes[i] == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(codes[i])
		_, _ = w.Write([]byte("answer"))
	}))
	defer srv.Close()
	rt := fastRetry(time.Minute)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/namespaces/a/pods/b", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 4 || rt.Requests.Load() != 4 {
		t.Errorf("status %d after %d requests (%d counted), want 200 after 4", resp.StatusCode, n.Load(), rt.Requests.Load())
	}
}

func TestRetryNeverRepeatsWrites(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	rt := fastRetry(time.Minute)
	for _, tc := range []struct {
		method, path string
		want         int64
	}{
		{http.MethodPatch, "/api/v1/namespaces/a/pods/b/ephemeralcontainers", 1},
		{http.MethodPost, "/api/v1/namespaces/a/pods", 1},
		{http.MethodGet, "/api/v1/namespaces/a/pods/b/log?follow=true", 1},
		{http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 0}, // retried until the budget
	} {
		n.Store(0)
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		rt.Budget = 50 * time.Millisecond
		if tc.want == 0 {
			rt.Budget = 400 * time.Millisecond
			rt.sleep = func(context.Context, time.Duration) error { time.Sleep(time.Millisecond); return nil }
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if tc.want > 0 && n.Load() != tc.want {
			t.Errorf("%s %s sent %d times, want %d", tc.method, tc.path, n.Load(), tc.want)
		}
		if tc.want == 0 && n.Load() < 2 {
			t.Errorf("%s %s sent %d times, want it retried", tc.method, tc.path, n.Load())
		}
	}
}

// An API server that goes away and comes back on the same address: the
// request waits for it instead of failing.
func TestRetryAcrossARestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: connection refused
	go func() {
		time.Sleep(700 * time.Millisecond)
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		_ = http.Serve(ln2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	}()
	rt := &Retry{Next: http.DefaultTransport, Budget: 20 * time.Second, Requests: &atomic.Int64{}}
	rt.answered.Store(true) // it answered before going away
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/version", nil)
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("after %v and %d requests: %v", time.Since(start), rt.Requests.Load(), err)
	}
	_ = resp.Body.Close()
	if rt.Requests.Load() < 2 {
		t.Errorf("%d requests, want retries", rt.Requests.Load())
	}
}

// The budget bounds the time: an API server that never comes back fails
// the request after about Budget.
func TestRetryBudgetBoundsTheTime(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	rt := &Retry{Next: http.DefaultTransport, Budget: 1500 * time.Millisecond}
	rt.answered.Store(true)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/version", nil)
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v, budget 1.5 s", d)
	}
}

// A server never reached is not waited for: a wrong kubeconfig fails at
// once.
func TestRetryUnreachableAtFirstFailsAtOnce(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	rt := &Retry{Next: http.DefaultTransport, Requests: &atomic.Int64{}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/version", nil)
	if _, err := rt.RoundTrip(req); err == nil || rt.Requests.Load() != 1 {
		t.Errorf("err %v after %d requests, want connection refused after 1", err, rt.Requests.Load())
	}
}
