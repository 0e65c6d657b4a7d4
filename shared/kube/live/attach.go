package live

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Transports an attach can go over.
const (
	TransportWebSocket = "websocket"
	TransportSPDY      = "spdy"
)

// Attacher attaches to the standard streams of a running container, as
// kubectl attach -i does (no TTY).
type Attacher interface {
	// Attach attaches to container of pod ns/pod, copies stdin to the
	// container until stdin ends (then closes the container's stdin) and
	// the container's stdout and stderr to stdout and stderr, until its
	// output ends or ctx ends. It returns the transport used.
	Attach(ctx context.Context, ns, pod, container string, stdin io.Reader, stdout, stderr io.Writer) (string, error)
}

// NewAttacher returns the Attacher that goes through the API server's
// pods/attach subresource with cfg: over WebSocket (GET, which the API
// server authorizes as both get and create on pods/attach), falling back
// to SPDY (POST, create) when the upgrade to WebSocket fails, as kubectl
// does.
func NewAttacher(cfg *rest.Config) (Attacher, error) {
	cfg = rest.CopyConfig(cfg)
	// A request timeout would cut the stream: an attach lasts as long as
	// the captures.
	cfg.Timeout = 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", cfg.Host, err)
	}
	return &apiAttacher{cfg: cfg, rest: cs.CoreV1().RESTClient()}, nil
}

type apiAttacher struct {
	cfg  *rest.Config
	rest rest.Interface
}

func (a *apiAttacher) Attach(ctx context.Context, ns, pod, container string, stdin io.Reader, stdout, stderr io.Writer) (string, error) {
	u := a.rest.Post().Resource("pods").Namespace(ns).Name(pod).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: container, Stdin: true, Stdout: true, Stderr: true, TTY: false}, scheme.ParameterCodec).
		URL()
	spdy, err := remotecommand.NewSPDYExecutor(a.cfg, "POST", u)
	if err != nil {
		return "", fmt.Errorf("setting up the SPDY attach: %w", err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(a.cfg, "GET", u.String())
	if err != nil {
		return "", fmt.Errorf("setting up the WebSocket attach: %w", err)
	}
	transport := TransportWebSocket
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		fallback := httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		if fallback {
			transport = TransportSPDY
		}
		return fallback
	})
	if err != nil {
		return "", err
	}
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr, Tty: false})
	return transport, err
}
