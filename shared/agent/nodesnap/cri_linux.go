//go:build linux

package nodesnap

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criTimeout bounds each CRI call.
const criTimeout = 15 * time.Second

// criClient is the runtime's CRI socket.
type criClient struct {
	conn *grpc.ClientConn
	rt   cri.RuntimeServiceClient
	img  cri.ImageServiceClient
}

// dialCRI connects to endpoint (unix:///path on the host) under hostRoot.
// The connection is lazy: the first call reports a missing socket.
func dialCRI(hostRoot, endpoint string) (*criClient, error) {
	p, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		return nil, fmt.Errorf("cri endpoint %q is not unix:///PATH", endpoint)
	}
	target := "unix://" + filepath.Join(hostRoot, p)
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("connecting to the cri socket %s: %w", target, err)
	}
	return &criClient{conn: conn, rt: cri.NewRuntimeServiceClient(conn), img: cri.NewImageServiceClient(conn)}, nil
}

func (c *criClient) Close() error { return c.conn.Close() }

// criRecord is a CRI answer as crictl inspect shows it: the status as
// protobuf JSON, and the verbose info with each value parsed as JSON when
// it is JSON.
type criRecord struct {
	Status json.RawMessage `json:"status"`
	Info   map[string]any  `json:"info,omitempty"`
}

func newRecord(status proto.Message, info map[string]string) (*criRecord, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("encoding the cri status: %w", err)
	}
	r := &criRecord{Status: b}
	if len(info) > 0 {
		r.Info = map[string]any{}
		for k, v := range info {
			var j any
			if json.Unmarshal([]byte(v), &j) == nil {
				r.Info[k] = j
			} else {
				r.Info[k] = v
			}
		}
		// containerd puts all its verbose info under the one key "info";
		// like crictl inspect, show its fields directly under info.
		if inner, ok := r.Info["info"].(map[string]any); ok {
			delete(r.Info, "info")
			for k, v := range inner {
				if _, taken := r.Info[k]; !taken {
					r.Info[k] = v
				}
			}
		}
	}
	return r, nil
}

// containerStatus calls ContainerStatus(verbose).
func (c *criClient) containerStatus(ctx context.Context, id string) (*cri.ContainerStatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, criTimeout)
	defer cancel()
	r, err := c.rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("cri ContainerStatus %s: %w", id, err)
	}
	return r, nil
}

// imageStatus calls ImageStatus(verbose).
func (c *criClient) imageStatus(ctx context.Context, image string) (*cri.ImageStatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, criTimeout)
	defer cancel()
	r, err := c.img.ImageStatus(ctx, &cri.ImageStatusRequest{Image: &cri.ImageSpec{Image: image}, Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("cri ImageStatus %s: %w", image, err)
	}
	if r.GetImage() == nil {
		return r, fmt.Errorf("cri ImageStatus %s: the runtime does not know the image", image)
	}
	return r, nil
}

// sandboxID finds the pod's sandbox: the ready one among those labelled
// with its UID, else the newest.
func (c *criClient) sandboxID(ctx context.Context, podUID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, criTimeout)
	defer cancel()
	r, err := c.rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": podUID},
	}})
	if err != nil {
		return "", fmt.Errorf("cri ListPodSandbox: %w", err)
	}
	var best *cri.PodSandbox
	for _, s := range r.GetItems() {
		switch {
		case best == nil,
			s.GetState() == cri.PodSandboxState_SANDBOX_READY && best.GetState() != cri.PodSandboxState_SANDBOX_READY,
			s.GetState() == best.GetState() && s.GetCreatedAt() > best.GetCreatedAt():
			best = s
		}
	}
	if best == nil {
		return "", fmt.Errorf("cri ListPodSandbox: no sandbox for pod uid %s", podUID)
	}
	return best.GetId(), nil
}

// sandboxStatus calls PodSandboxStatus(verbose).
func (c *criClient) sandboxStatus(ctx context.Context, id string) (*cri.PodSandboxStatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, criTimeout)
	defer cancel()
	r, err := c.rt.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("cri PodSandboxStatus %s: %w", id, err)
	}
	return r, nil
}

// verboseInfo is what a runtime's verbose container info says that we use.
// containerd puts it under "info" (pid, runtimeSpec, sandboxID); CRI-O
// gives the same keys.
type verboseInfo struct {
	PID         int             `json:"pid"`
	SandboxID   string          `json:"sandboxID"`
	RuntimeSpec json.RawMessage `json:"runtimeSpec"`
}

func parseVerboseInfo(info map[string]string) verboseInfo {
	var v verboseInfo
	if s, ok := info["info"]; ok {
		_ = json.Unmarshal([]byte(s), &v)
	}
	if v.PID == 0 {
		if s, ok := info["pid"]; ok {
			_ = json.Unmarshal([]byte(s), &v.PID)
		}
	}
	if len(v.RuntimeSpec) == 0 {
		if s, ok := info["runtimeSpec"]; ok && json.Valid([]byte(s)) {
			v.RuntimeSpec = json.RawMessage(s)
		}
	}
	if string(v.RuntimeSpec) == "null" {
		v.RuntimeSpec = nil
	}
	return v
}

// protoMessage is a CRI status message.
type protoMessage = proto.Message
