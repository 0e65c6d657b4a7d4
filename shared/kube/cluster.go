package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
)

// Cluster is one cluster as a capture sees it: a client, where the API
// server is, which kubeconfig context and user were used, and a cache of
// what the pods of one run share.
type Cluster struct {
	// Client talks to the API server.
	Client kubernetes.Interface
	// Host is the API server's URL.
	Host string
	// Context is the kubeconfig context, when one was used.
	Context string
	// KubeconfigUser is the kubeconfig user (auth info) of the context. It
	// is recorded when SelfSubjectReview cannot say who we are.
	KubeconfigUser string
	// Impersonate is the user given with --as, if any.
	Impersonate string
	// WideReviews makes Can ask a namespaced permission for every
	// namespace first, once, and for one namespace only when that is not
	// granted: for a run over many namespaces, one review instead of one
	// per namespace.
	WideReviews bool

	cache memo
}

// NewCluster returns a Cluster for client, whose API server is at host.
func NewCluster(client kubernetes.Interface, host string) *Cluster {
	return &Cluster{Client: client, Host: host}
}

// ServerVersion asks the API server for its version. It is the first
// request of a run: an unreachable server or refused credentials give one
// error that says what to do.
func (c *Cluster) ServerVersion(ctx context.Context) (*version.Info, error) {
	v, err := cached(ctx, &c.cache, "version", func(ctx context.Context) (*version.Info, error) {
		return c.Client.Discovery().ServerVersion()
	})
	if err != nil {
		return nil, c.Error("asking the API server for its version", err)
	}
	return v, nil
}

// Error turns an API error into one line that names the server and, where
// the user can act, says how. doing is a gerund phrase ("getting pod x").
func (c *Cluster) Error(doing string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", doing, err)
	case isUnreachable(err):
		return fmt.Errorf("%s: cannot reach the API server at %s: is the cluster up, and are --context and --kubeconfig right? (kubectl cluster-info): %w", doing, c.Host, unwrapURL(err))
	case strings.Contains(err.Error(), "x509: "), strings.Contains(err.Error(), "tls: "):
		return fmt.Errorf("%s: the API server at %s cannot be verified: are the kubeconfig's server address and certificate authority right? %w", doing, c.Host, unwrapURL(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: the API server at %s did not accept the credentials of the kubeconfig (401): log in again or check --user and --token: %w", doing, c.Host, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// isUnreachable reports whether err means no API server answered.
func isUnreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &de), errors.As(err, &oe):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return strings.Contains(err.Error(), "connection refused")
}

// unwrapURL drops url.Error's repetition of method and URL: the message
// already names the server.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Namespace reads a namespace object once per run.
func (c *Cluster) Namespace(ctx context.Context, ns string) (*corev1.Namespace, error) {
	return cached(ctx, &c.cache, "namespace/"+ns, func(ctx context.Context) (*corev1.Namespace, error) {
		return c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	})
}

// Cached returns what fn returns, computed once per run of c for key:
// pods of one run share one answer (one services list, one node object).
// A failure is kept too: it is reported for every pod.
func Cached[T any](ctx context.Context, c *Cluster, key string, fn func(context.Context) (T, error)) (T, error) {
	return cached(ctx, &c.cache, key, fn)
}

// memo runs each keyed fetch once per run and hands every caller the same
// result, so that pods of one namespace share one services list, one node
// object, one answer per access review.
type memo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	val  any
	err  error
}

// cached returns the value stored under key, computing it with fn the
// first time. A failure is kept too: it is reported for every pod.
func cached[T any](ctx context.Context, m *memo, key string, fn func(context.Context) (T, error)) (T, error) {
	m.mu.Lock()
	if m.entries == nil {
		m.entries = map[string]*memoEntry{}
	}
	e := m.entries[key]
	if e == nil {
		e = &memoEntry{}
		m.entries[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.val, e.err = fn(ctx) })
	v, _ := e.val.(T)
	return v, e.err
}
