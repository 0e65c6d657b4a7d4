package docker

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// Target is a container resolved on the engine.
type Target struct {
	// Ref is what the user typed: a name, an ID or an ID prefix.
	Ref string
	// Container is the inspect result, taken once, first of all.
	Container container.InspectResponse
	// Raw is the inspect JSON exactly as the engine returned it.
	Raw []byte
}

// Resolve inspects the container ref. An unknown container, an engine
// that does not answer and a refused request each get an error that says
// what to do.
func Resolve(ctx context.Context, c Client, ref string) (*Target, error) {
	res, err := c.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("inspecting container %s: no such container on %s (see docker ps -a): %w", ref, c.DaemonHost(), err)
	}
	if err != nil {
		return nil, EngineError(c, fmt.Sprintf("inspecting container %s", ref), err)
	}
	return &Target{Ref: ref, Container: res.Container, Raw: res.Raw}, nil
}

// EngineError turns an Engine API error into one line that names the
// engine and says what to do.
func EngineError(c Client, doing string, err error) error {
	switch {
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%s: cannot reach the Docker Engine at %s: is it running, and is DOCKER_HOST or the docker context right? (%w)", doing, c.DaemonHost(), err)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: not found on %s: %w", doing, c.DaemonHost(), err)
	case cerrdefs.IsPermissionDenied(err), cerrdefs.IsUnauthorized(err):
		return fmt.Errorf("%s: the engine at %s refused: %w", doing, c.DaemonHost(), err)
	}
	if strings.Contains(err.Error(), "permission denied") {
		return fmt.Errorf("%s: permission denied talking to %s: run as a user in the docker group or as root (%w)", doing, c.DaemonHost(), err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// ID returns the full container ID.
func (t *Target) ID() string { return t.Container.ID }

// Name returns the container name without its leading slash.
func (t *Target) Name() string { return strings.TrimPrefix(t.Container.Name, "/") }

// Running reports whether the container was running when inspected.
func (t *Target) Running() bool {
	return t.Container.State != nil && t.Container.State.Running
}

// Paused reports whether the container was paused when inspected.
func (t *Target) Paused() bool {
	return t.Container.State != nil && t.Container.State.Paused
}

// Identity returns the custody record's target: container ID and name,
// image as configured, image ID and the image's repository digests.
func (t *Target) Identity(ctx context.Context, c Client) evidence.Target {
	id := evidence.Target{
		Kind:    "docker-container",
		ID:      t.Container.ID,
		Name:    t.Name(),
		ImageID: t.Container.Image,
	}
	if t.Container.Config != nil {
		id.Image = t.Container.Config.Image
	}
	if s := t.Container.State; s != nil {
		id.State = string(s.Status)
		id.Extra = map[string]string{"started_at": s.StartedAt, "pid": fmt.Sprint(s.Pid)}
	}
	if img, err := c.ImageInspect(ctx, t.Container.Image); err == nil {
		id.ImageDigests = img.RepoDigests
	}
	return id
}

// Engine returns the custody record's engine: where it is and its version.
func Engine(ctx context.Context, c Client, contextName string) evidence.Engine {
	e := evidence.Engine{Kind: "docker", Host: c.DaemonHost(), Context: contextName}
	if v, err := c.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
		e.Version, e.APIVersion = v.Version, v.APIVersion
		e.Extra = map[string]string{"os": v.Os, "arch": v.Arch, "experimental": fmt.Sprint(v.Experimental)}
	}
	if info, err := c.Info(ctx, client.InfoOptions{}); err == nil {
		if e.Extra == nil {
			e.Extra = map[string]string{}
		}
		e.Extra["engine_id"] = info.Info.ID
		e.Extra["engine_name"] = info.Info.Name
		e.Extra["storage_driver"] = info.Info.Driver
	}
	return e
}

// rawImageInspect returns the image inspect JSON as the engine sent it.
func rawImageInspect(ctx context.Context, c Client, id string) ([]byte, error) {
	var raw bytes.Buffer
	if _, err := c.ImageInspect(ctx, id, client.ImageInspectWithRawResponse(&raw)); err != nil {
		return nil, err
	}
	return raw.Bytes(), nil
}
