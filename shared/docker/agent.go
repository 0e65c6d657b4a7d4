package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentio"
	"github.com/forensic-tools/forensic/shared/agent/imagetar"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// LiveOptions ask for live captures by the forensic agent, run in a
// sidecar container that joins the target's network and process
// namespaces. Nothing is exec'd in the target; the sidecar is removed
// afterwards and everything about it is recorded in custody.
type LiveOptions struct {
	// Run says what the agent captures (packets, processes).
	Run agent.RunOptions
	// Image is the agent image; empty means agent.DefaultImage().
	Image string
	// Binary is the static linux agent the plugin carries, used to create
	// the default image when the engine lacks it; nil when none is carried.
	Binary []byte
	// BinaryArch is Binary's GOARCH.
	BinaryArch string
}

// Enabled reports whether any live capture was asked for.
func (l *LiveOptions) Enabled() bool { return l != nil && (l.Run.Pcap || l.Run.Proc || l.Run.FS) }

// agentStopGrace bounds the wait for the agent to end its stream after
// stdin was closed (on interruption).
const agentStopGrace = 30 * time.Second

func (x *collectors) live(ctx context.Context, sink collect.Sink) error {
	l := x.opts.Live
	m := evidence.Meta{Path: "agent/transfer.json", Description: "the agent session: sidecar, stream totals and per-artifact checks"}
	if !x.t.Running() || x.t.Paused() {
		return sink.Fail(m, fmt.Errorf("live capture needs a running, unpaused container (state %s)", stateOf(x.t)))
	}
	image := l.Image
	if image == "" {
		image = agent.DefaultImage()
	}
	img, err := x.ensureAgentImage(ctx, sink, image, l)
	if err != nil {
		return sink.Fail(m, err)
	}
	run := l.Run
	run.TargetPID, run.WaitStdin = 1, true
	caps := []string{"SYS_PTRACE"}
	if run.Pcap {
		caps = append(caps, "NET_RAW")
	}
	name := "forensic-agent-" + shortID(x.t.ID()) + "-" + x.now().Format("20060102T150405Z")
	created, err := x.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: image, Cmd: run.Args(),
			OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false,
			Labels: map[string]string{"io.forensic-tools.role": "agent", "io.forensic-tools.target": x.t.ID()},
		},
		HostConfig: &container.HostConfig{
			NetworkMode:    container.NetworkMode("container:" + x.t.ID()),
			PidMode:        container.PidMode("container:" + x.t.ID()),
			CapAdd:         caps,
			ReadonlyRootfs: true,
		},
	})
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "creating the agent sidecar", err))
	}
	action := evidence.Action{
		What: "added sidecar container",
		Detail: fmt.Sprintf("%s (%s) from image %s (%s), joined the network and process namespaces of the target, capabilities %s, read-only root; removed afterwards; agent arguments: %s",
			name, created.ID, image, img.ID, strings.Join(caps, ","), strings.Join(run.Args(), " ")),
		At: x.now(),
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, err := x.c.ContainerRemove(cctx, created.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			action.Error = "removing the sidecar failed, remove it by hand (docker rm -f " + created.ID + "): " + err.Error()
		}
		action.Until = x.now()
		sink.Action(action)
	}()
	sum, session, err := x.runAgent(ctx, sink, created.ID)
	report := map[string]any{
		"sidecar":      map[string]any{"name": name, "id": created.ID, "image": image, "image_id": img.ID, "image_digests": img.RepoDigests, "capabilities": caps, "network": "container:" + x.t.ID(), "pid": "container:" + x.t.ID()},
		"agent_args":   run.Args(),
		"agent_exit":   session.exitCode,
		"agent_stderr": session.stderr.String(),
	}
	if sum != nil {
		report["stream"] = agentio.StreamRecord(sum)
	}
	problems := agentio.Problems(sum, err)
	report["problems"] = problems
	if werr := sink.JSON(m, report); isFatal(werr) {
		return werr
	}
	if err := sink.Bytes(evidence.Meta{Path: "agent/stderr.log", MediaType: "text/plain", Description: "the agent's own log lines (its last line gives the bytes and SHA-256 it sent)"}, session.stderr.Bytes()); isFatal(err) {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("live capture: %s", strings.Join(problems, "; "))
	}
	return nil
}

// agentSession is what came back from the sidecar besides the stream.
type agentSession struct {
	stderr   *agentio.LimitedBuffer
	exitCode int64
}

// runAgent attaches to the created sidecar, starts it, sends the start
// byte and streams every artifact into the bundle. On interruption it
// closes the agent's stdin, which makes the agent end its stream properly.
func (x *collectors) runAgent(ctx context.Context, sink collect.Sink, id string) (*stream.Summary, *agentSession, error) {
	s := &agentSession{stderr: agentio.NewLimitedBuffer(1 << 20), exitCode: -1}
	att, err := x.c.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, s, EngineError(x.c, "attaching to the agent sidecar", err)
	}
	defer att.Close()
	wait := x.c.ContainerWait(context.WithoutCancel(ctx), id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := x.c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return nil, s, EngineError(x.c, "starting the agent sidecar", err)
	}
	if _, err := att.Conn.Write([]byte{'\n'}); err != nil {
		return nil, s, fmt.Errorf("sending the start byte to the agent: %w", err)
	}
	stop := sync.OnceFunc(func() { att.CloseWrite() })
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			stop() // the agent ends its captures and its stream
			select {
			case <-time.After(agentStopGrace):
				att.Close()
			case <-finished:
			}
		case <-finished:
		}
	}()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, s.stderr, att.Reader)
		pw.CloseWithError(err)
	}()
	// The bundle is written to with a context that outlives an
	// interruption: the agent was told to stop and what it sends until
	// then is evidence.
	sum, derr := agentio.Receive(ctx, sink, pr, "docker.agent", x.opts.SpoolDir)
	pr.Close()
	stop()
	select {
	case res := <-wait.Result:
		s.exitCode = res.StatusCode
	case <-time.After(agentStopGrace):
	}
	return sum, s, derr
}

// ensureAgentImage finds the agent image on the engine, or creates it
// from the agent binary the plugin carries (no registry is involved).
func (x *collectors) ensureAgentImage(ctx context.Context, sink collect.Sink, image string, l *LiveOptions) (imageID, error) {
	res, err := x.c.ImageInspect(ctx, image)
	if err == nil {
		return imageID{ID: res.ID, RepoDigests: res.RepoDigests}, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return imageID{}, EngineError(x.c, "looking up agent image "+image, err)
	}
	if l.Image != "" && l.Image != agent.DefaultImage() {
		return imageID{}, fmt.Errorf("agent image %s is not on the engine at %s: load it there (docker load -i ...) or leave out --agent-image to use the agent this plugin carries", image, x.c.DaemonHost())
	}
	if len(l.Binary) == 0 {
		return imageID{}, fmt.Errorf("agent image %s is not on the engine and this docker-forensic was built without the agent: build with `make build`, or load the image (forensic-agent/image.sh) and pass --agent-image", image)
	}
	if v, verr := x.c.ServerVersion(ctx, client.ServerVersionOptions{}); verr == nil && v.Arch != "" && v.Arch != l.BinaryArch {
		return imageID{}, fmt.Errorf("the engine runs linux/%s but the agent this plugin carries is linux/%s: load an agent image for %s and pass --agent-image", v.Arch, l.BinaryArch, v.Arch)
	}
	var tarball bytes.Buffer
	if _, err := imagetar.Write(&tarball, bytes.NewReader(l.Binary), int64(len(l.Binary)), imagetar.Options{Name: image, Path: agent.BinaryPath, Arch: l.BinaryArch}); err != nil {
		return imageID{}, fmt.Errorf("building the agent image: %w", err)
	}
	at := x.now()
	out, err := x.c.ImageLoad(ctx, &tarball, client.ImageLoadWithQuiet(true))
	if err != nil {
		return imageID{}, EngineError(x.c, "loading the agent image", err)
	}
	err = loadError(out)
	out.Close()
	if err != nil {
		return imageID{}, fmt.Errorf("loading the agent image into the engine: %w", err)
	}
	res, err = x.c.ImageInspect(ctx, image)
	if err != nil {
		return imageID{}, EngineError(x.c, "looking up the loaded agent image "+image, err)
	}
	sink.Action(evidence.Action{What: "loaded agent image", Detail: fmt.Sprintf("%s (%s) into the engine, built from the agent carried by the plugin; the target is not affected", image, res.ID), At: at, Until: x.now()})
	return imageID{ID: res.ID, RepoDigests: res.RepoDigests}, nil
}

type imageID struct {
	ID          string
	RepoDigests []string
}

// loadError reads the engine's JSON messages of an image load and returns
// the error it reported, if any.
func loadError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func stateOf(t *Target) string {
	if t.Container.State == nil {
		return "unknown"
	}
	return string(t.Container.State.Status)
}
