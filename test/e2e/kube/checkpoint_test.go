//go:build e2e

package kubee2e

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestCheckpoint checkpoints containers through the kubelet API: a
// container without sockets succeeds and leaves a CRIU archive on the node;
// one with a listening socket fails, and the error names CRIU's log.
func TestCheckpoint(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("sleeper", corev1.Container{Name: "main", Image: BusyboxImage,
		Command: []string{"sleep", "3600"}}), 2*time.Minute)
	e.CreatePod(t, ns, NewPod("listener", corev1.Container{Name: "main", Image: WebserverImage,
		Args: []string{"-listen", ":8080"}}), 2*time.Minute)

	t.Run("socketless container", func(t *testing.T) {
		paths, err := e.Checkpoint(t.Context(), ns, "sleeper", "main")
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 1 {
			t.Fatalf("checkpoint archives = %q, want one", paths)
		}
		t.Cleanup(func() { os.Remove(paths[0]) })
		names, err := tarNames(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"config.dump", "spec.dump", "checkpoint/inventory.img"} {
			if !names[want] {
				t.Errorf("archive %s has no %s; it has %d entries", paths[0], want, len(names))
			}
		}
	})

	// CRIU 4.1 cannot dump the webserver's listening socket (Go listens with
	// MPTCP where the kernel has it: "inet: Unsupported proto 262"; plain TCP
	// fails on a socket option). The kubelet reports the failure with the
	// path of CRIU's log on the node.
	t.Run("container with a listening socket", func(t *testing.T) {
		paths, err := e.Checkpoint(t.Context(), ns, "listener", "main")
		if err == nil {
			t.Fatalf("checkpoint succeeded (%q), want an error", paths)
		}
		t.Logf("expected error: %v", err)
		for _, want := range []string{"criu failed", "criu-dump.log"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})
}

// tarNames returns the cleaned entry names of the tar archive at path.
func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	r := tar.NewReader(f)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
}
