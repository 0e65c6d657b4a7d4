//go:build linux

package nodesnap

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeCRI is a container runtime's CRI socket with just the calls node
// evidence makes; it records the requests it got.
type fakeCRI struct {
	cri.UnimplementedRuntimeServiceServer
	cri.UnimplementedImageServiceServer

	// info is the verbose info of the container testCID.
	info map[string]string

	mu    sync.Mutex
	calls []string
}

func (f *fakeCRI) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeCRI) ContainerStatus(_ context.Context, r *cri.ContainerStatusRequest) (*cri.ContainerStatusResponse, error) {
	f.record("ContainerStatus " + r.GetContainerId())
	if r.GetContainerId() != testCID {
		return nil, status.Errorf(codes.NotFound, "container %q not found", r.GetContainerId())
	}
	if !r.GetVerbose() {
		return nil, status.Error(codes.InvalidArgument, "the test wants verbose")
	}
	return &cri.ContainerStatusResponse{
		Status: &cri.ContainerStatus{
			Id: testCID, State: cri.ContainerState_CONTAINER_RUNNING,
			Metadata: &cri.ContainerMetadata{Name: "app"},
			Image:    &cri.ImageSpec{Image: "sha256:1111"}, ImageRef: "docker.io/library/app@sha256:2222",
		},
		Info: f.info,
	}, nil
}

func (f *fakeCRI) ListPodSandbox(_ context.Context, r *cri.ListPodSandboxRequest) (*cri.ListPodSandboxResponse, error) {
	f.record("ListPodSandbox " + r.GetFilter().GetLabelSelector()["io.kubernetes.pod.uid"])
	if r.GetFilter().GetLabelSelector()["io.kubernetes.pod.uid"] != testUID {
		return &cri.ListPodSandboxResponse{}, nil
	}
	return &cri.ListPodSandboxResponse{Items: []*cri.PodSandbox{
		{Id: "sb-old", State: cri.PodSandboxState_SANDBOX_NOTREADY, CreatedAt: 1},
		{Id: "sb-ready", State: cri.PodSandboxState_SANDBOX_READY, CreatedAt: 2},
		{Id: "sb-newer-notready", State: cri.PodSandboxState_SANDBOX_NOTREADY, CreatedAt: 3},
	}}, nil
}

func (f *fakeCRI) PodSandboxStatus(_ context.Context, r *cri.PodSandboxStatusRequest) (*cri.PodSandboxStatusResponse, error) {
	f.record("PodSandboxStatus " + r.GetPodSandboxId())
	return &cri.PodSandboxStatusResponse{
		Status: &cri.PodSandboxStatus{Id: r.GetPodSandboxId(), State: cri.PodSandboxState_SANDBOX_READY,
			Network: &cri.PodSandboxNetworkStatus{Ip: "10.244.0.7"}},
		Info: map[string]string{"info": `{"pid": 4000, "image": "pause"}`},
	}, nil
}

func (f *fakeCRI) ImageStatus(_ context.Context, r *cri.ImageStatusRequest) (*cri.ImageStatusResponse, error) {
	f.record("ImageStatus " + r.GetImage().GetImage())
	return &cri.ImageStatusResponse{
		Image: &cri.Image{Id: r.GetImage().GetImage(), RepoTags: []string{"app:1"}, Size: 1234},
		Info:  map[string]string{"info": `{"chainID": "sha256:3333"}`},
	}, nil
}

// serveCRI serves f on a unix socket at run/cri.sock under root and
// returns the endpoint as the kubelet names it (a host path).
func serveCRI(t *testing.T, root string, f *fakeCRI) string {
	t.Helper()
	sock := filepath.Join(root, "run/cri.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cri.RegisterRuntimeServiceServer(srv, f)
	cri.RegisterImageServiceServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return "unix:///run/cri.sock"
}
