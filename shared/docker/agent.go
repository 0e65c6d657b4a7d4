package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentimage"
	"github.com/forensic-tools/forensic/shared/agent/agentrun"
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
	// Image is an agent image the user named (--agent-image): it is used
	// as it is, unless it is for another architecture than the engine's.
	// Empty means agent.DefaultImage(), which the plugin manages: it
	// creates it, or replaces it when it does not hold the agent the
	// plugin carries for the engine's architecture.
	Image string
	// Agents are the agents the plugin can put into the default image.
	Agents AgentSource
}

// AgentSource is what a plugin carries to make the agent image for an
// engine of a given architecture.
type AgentSource struct {
	// Embedded maps a GOARCH to a static linux agent built into the plugin.
	Embedded map[string][]byte
	// Self is the path of an executable that runs as the agent when
	// started under the name forensic-agent: the running plugin itself
	// (/proc/self/exe). Empty when the plugin cannot be its own agent.
	Self string
}

// For returns the agent for a linux/arch engine: the embedded one when the
// plugin carries it, else the plugin's own executable when it is a
// linux/arch ELF (with its interpreter and libraries when it is dynamically
// linked). It returns nil and no error when there is none.
func (s AgentSource) For(arch string) (*agentimage.Agent, error) {
	if b := s.Embedded[arch]; len(b) > 0 {
		return agentimage.Static(agentimage.SourceEmbedded, arch, b), nil
	}
	if s.Self == "" {
		return nil, nil
	}
	if own, err := agentimage.ELFArch(s.Self); err != nil || own != arch {
		return nil, nil
	}
	a, err := agentimage.FromExecutable(s.Self, agentimage.SourceSelf)
	if err != nil {
		return nil, fmt.Errorf("preparing the plugin's own executable as the agent: %w", err)
	}
	return a, nil
}

// Archs lists the architectures the source has an agent for, sorted.
func (s AgentSource) Archs() []string {
	var archs []string
	for a, b := range s.Embedded {
		if len(b) > 0 {
			archs = append(archs, a)
		}
	}
	if s.Self != "" {
		if own, err := agentimage.ELFArch(s.Self); err == nil && !slices.Contains(archs, own) {
			archs = append(archs, own)
		}
	}
	slices.Sort(archs)
	return archs
}

// Enabled reports whether any live capture was asked for.
func (l *LiveOptions) Enabled() bool { return l != nil && l.Run.Captures() }

// agentStopGrace bounds the wait for the agent to end its stream after
// stdin was closed (on interruption).
const agentStopGrace = agentrun.DefaultStopGrace

// producerAgent names the agent's artifacts in the manifest.
const producerAgent = "docker.agent"

// transportAttach is how the plugin reaches the sidecar's standard
// streams: the engine's attach endpoint, which hijacks the HTTP connection.
const transportAttach = "docker-attach"

func (x *collectors) live(ctx context.Context, sink collect.Sink) error {
	l := x.opts.Live
	m := agentrun.TransferMeta(producerAgent)
	if !x.t.Running() || x.t.Paused() {
		return sink.Fail(m, fmt.Errorf("live capture needs a running, unpaused container (state %s)", stateOf(x.t)))
	}
	img, err := x.agentImage(ctx, sink, l)
	if err != nil {
		return sink.Fail(m, err)
	}
	run := l.Run
	run.TargetPID, run.WaitStdin = 1, true
	s, err := x.createSidecar(ctx, img, run.Args(), run.Pcap)
	if err != nil {
		return sink.Fail(m, err)
	}
	_, err = agentrun.Run(ctx, sink, s, agentrun.Options{Args: run.Args(), Producer: producerAgent, SpoolDir: x.opts.SpoolDir, StopGrace: agentStopGrace})
	return err
}

// SidecarRecord is the agent's sidecar container as agent/transfer.json
// records it.
type SidecarRecord struct {
	Name         string   `json:"name"`
	ID           string   `json:"id"`
	Image        string   `json:"image"`
	ImageID      string   `json:"image_id"`
	ImageDigests []string `json:"image_digests"`
	Capabilities []string `json:"capabilities"`
	// Network and PID are the namespaces it joined (container:ID).
	Network string `json:"network"`
	PID     string `json:"pid"`
}

// sidecar is the agentrun.Launcher of the Docker plugin: a container that
// joins the target's network and process namespaces, with a read-only
// root, removed afterwards.
type sidecar struct {
	x      *collectors
	img    agentImage
	rec    SidecarRecord
	action evidence.Action

	att  client.HijackedResponse
	wait client.ContainerWaitResult
}

// createSidecar creates the agent's sidecar container with args; packets
// adds the NET_RAW capability.
func (x *collectors) createSidecar(ctx context.Context, img agentImage, args []string, packets bool) (*sidecar, error) {
	caps := []string{"SYS_PTRACE"}
	if packets {
		caps = append(caps, "NET_RAW")
	}
	name := "forensic-agent-" + shortID(x.t.ID()) + "-" + x.now().Format("20060102T150405Z")
	created, err := x.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: img.Name, Cmd: args,
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
		return nil, EngineError(x.c, "creating the agent sidecar", err)
	}
	s := &sidecar{x: x, img: img, rec: SidecarRecord{Name: name, ID: created.ID, Image: img.Name, ImageID: img.ID, ImageDigests: img.RepoDigests,
		Capabilities: caps, Network: "container:" + x.t.ID(), PID: "container:" + x.t.ID()}}
	s.action = evidence.Action{
		What: "added sidecar container",
		Detail: fmt.Sprintf("%s (%s) from image %s (%s) holding the %s, joined the network and process namespaces of the target, capabilities %s, read-only root; removed afterwards; agent arguments: %s",
			name, created.ID, img.Name, img.ID, img.Agent.describe(), strings.Join(caps, ","), strings.Join(args, " ")),
		At: x.now(),
	}
	return s, nil
}

// Start attaches to the sidecar before it starts, so that nothing it
// writes is missed, and starts it.
func (s *sidecar) Start(ctx context.Context) error {
	c := s.x.c
	att, err := c.ContainerAttach(ctx, s.rec.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return EngineError(c, "attaching to the agent sidecar", err)
	}
	s.att = att.HijackedResponse
	s.wait = c.ContainerWait(context.WithoutCancel(ctx), s.rec.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := c.ContainerStart(ctx, s.rec.ID, client.ContainerStartOptions{}); err != nil {
		return EngineError(c, "starting the agent sidecar", err)
	}
	return nil
}

// Attach copies stdin to the sidecar over the attach Start opened, then
// closes the sidecar's stdin, and demultiplexes its output into stdout and
// stderr. The connection is closed when ctx ends.
func (s *sidecar) Attach(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	go func() {
		io.Copy(s.att.Conn, stdin)
		s.att.CloseWrite()
	}()
	stop := context.AfterFunc(ctx, s.att.Close)
	defer stop()
	_, err := stdcopy.StdCopy(stdout, stderr, s.att.Reader)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Wait returns the sidecar's exit code, from the wait Start registered.
func (s *sidecar) Wait(ctx context.Context) (int64, bool) {
	select {
	case res := <-s.wait.Result:
		return res.StatusCode, true
	case <-s.wait.Error:
	case <-ctx.Done():
	}
	return 0, false
}

// Describe records the sidecar and the agent in its image.
func (s *sidecar) Describe(t *agentrun.Transfer) {
	t.Launcher = agentrun.LauncherDockerSidecar
	t.Sidecar = s.rec
	t.Agent = s.img.Agent
	if s.att.Conn != nil {
		t.Transport = transportAttach
	}
}

// Remove removes the sidecar; a failure is recorded in the custody action
// with the command that removes it by hand.
func (s *sidecar) Remove(ctx context.Context) error {
	if s.att.Conn != nil {
		s.att.Close()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := s.x.c.ContainerRemove(cctx, s.rec.ID, client.ContainerRemoveOptions{Force: true})
	if err != nil {
		s.action.Error = "removing the sidecar failed, remove it by hand (docker rm -f " + s.rec.ID + "): " + err.Error()
	}
	s.action.Until = s.x.now()
	return err
}

// Action is the custody record of the sidecar.
func (s *sidecar) Action() evidence.Action { return s.action }

// agentImage is the image the sidecar runs and the agent in it.
type agentImage struct {
	Name        string
	ID          string
	RepoDigests []string
	Agent       agentRecord
}

// agentRecord says which agent the sidecar ran, for custody and
// agent/transfer.json.
type agentRecord struct {
	// Source is embedded or self for an agent this plugin put in the
	// image (agentimage.Source*), image for an image the user named.
	Source string `json:"source"`
	SHA256 string `json:"sha256,omitempty"`
	Arch   string `json:"arch"`
	// Image says what happened to the image: reused, loaded, replaced or
	// named (--agent-image).
	Image       string            `json:"image"`
	Interpreter string            `json:"interpreter,omitempty"`
	Libraries   []string          `json:"libraries,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	EngineArch  string            `json:"engine_arch"`
}

func (r agentRecord) describe() string {
	if r.Source == "image" {
		return fmt.Sprintf("agent of the named image (linux/%s, labels %v)", r.Arch, r.Labels)
	}
	return fmt.Sprintf("%s agent linux/%s, sha256 %s", r.Source, r.Arch, r.SHA256)
}

// agentImage settles the agent image before anything is created: the
// engine's platform first, then the image named with --agent-image
// (checked for the architecture, used as it is), or the default image,
// which is made from the agent this plugin carries for the engine's
// architecture when missing or when it holds another agent. A plugin with
// no agent for the engine is refused here.
func (x *collectors) agentImage(ctx context.Context, sink collect.Sink, l *LiveOptions) (agentImage, error) {
	v, err := x.c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return agentImage{}, EngineError(x.c, "asking the engine its platform for the agent", err)
	}
	if v.Os != "linux" || v.Arch == "" {
		return agentImage{}, fmt.Errorf("the engine at %s runs %s/%s: the forensic agent runs on linux engines only", x.c.DaemonHost(), v.Os, v.Arch)
	}
	arch := v.Arch
	if l.Image != "" {
		res, err := x.c.ImageInspect(ctx, l.Image)
		switch {
		case cerrdefs.IsNotFound(err) && l.Image == agent.DefaultImage():
			// Named, but the default one: made like the default.
		case cerrdefs.IsNotFound(err):
			return agentImage{}, fmt.Errorf("agent image %s is not on the engine at %s: load it there (docker load -i ...) or leave out --agent-image to use the agent this plugin carries", l.Image, x.c.DaemonHost())
		case err != nil:
			return agentImage{}, EngineError(x.c, "looking up agent image "+l.Image, err)
		default:
			if res.Architecture != arch {
				return agentImage{}, fmt.Errorf("agent image %s is for linux/%s but the engine runs linux/%s: load the agent image for linux/%s (make dist writes forensic-agent-image_<version>_linux_%s.tar) or leave out --agent-image", l.Image, res.Architecture, arch, arch, arch)
			}
			labels := imageLabels(res)
			return agentImage{Name: l.Image, ID: res.ID, RepoDigests: res.RepoDigests, Agent: agentRecord{
				Source: "image", SHA256: labels[agentimage.LabelSHA256], Arch: res.Architecture, Image: "named", Labels: labels, EngineArch: arch,
			}}, nil
		}
	}
	a, err := l.Agents.For(arch)
	if err != nil {
		return agentImage{}, err
	}
	if a == nil {
		carried := "none"
		if archs := l.Agents.Archs(); len(archs) > 0 {
			carried = "linux/" + strings.Join(archs, ", linux/")
		}
		return agentImage{}, fmt.Errorf("the engine runs linux/%s and this docker-forensic carries no agent for it (it carries: %s): use a release build (make dist) or build on linux/%s, or load an agent image for linux/%s and name it with --agent-image", arch, carried, arch, arch)
	}
	image := agent.DefaultImage()
	rec := agentRecord{Source: a.Source, SHA256: a.SHA256, Arch: a.Arch, Interpreter: a.Interpreter, Libraries: a.Libraries, EngineArch: arch}
	res, err := x.c.ImageInspect(ctx, image)
	var stale string
	switch {
	case err == nil:
		labels := imageLabels(res)
		if res.Architecture == a.Arch && labels[agentimage.LabelArch] == a.Arch && labels[agentimage.LabelSHA256] == a.SHA256 {
			rec.Image, rec.Labels = "reused", labels
			return agentImage{Name: image, ID: res.ID, RepoDigests: res.RepoDigests, Agent: rec}, nil
		}
		stale = fmt.Sprintf("%s (architecture %q, agent sha256 %q)", res.ID, res.Architecture, labels[agentimage.LabelSHA256])
		sink.Logf("agent image %s on the engine is %s, not the agent this plugin carries for linux/%s (sha256 %s): replacing it", image, stale, arch, a.SHA256)
	case !cerrdefs.IsNotFound(err):
		return agentImage{}, EngineError(x.c, "looking up agent image "+image, err)
	}
	// The tarball streams to the engine as it is written: held whole, it
	// would be one more copy of the agent (tens of MiB) in the plugin's
	// memory, in a buffer grown by doubling.
	pr, pw := io.Pipe()
	built := make(chan error, 1)
	go func() {
		_, err := a.WriteImage(pw, image, time.Time{}, nil)
		pw.CloseWithError(err)
		built <- err
	}()
	at := x.now()
	out, err := x.c.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	// Unblocks the writer should the engine have stopped reading early;
	// then the engine's error is the one to report.
	errStopped := errors.New("the engine stopped reading the agent image")
	pr.CloseWithError(errStopped)
	if berr := <-built; berr != nil && !errors.Is(berr, errStopped) {
		if err == nil {
			out.Close()
		}
		return agentImage{}, fmt.Errorf("building the agent image: %w", berr)
	}
	if err != nil {
		return agentImage{}, EngineError(x.c, "loading the agent image", err)
	}
	err = loadError(out)
	out.Close()
	if err != nil {
		return agentImage{}, fmt.Errorf("loading the agent image into the engine: %w", err)
	}
	res, err = x.c.ImageInspect(ctx, image)
	if err != nil {
		return agentImage{}, EngineError(x.c, "looking up the loaded agent image "+image, err)
	}
	rec.Labels = imageLabels(res)
	if rec.Labels[agentimage.LabelSHA256] != a.SHA256 {
		return agentImage{}, fmt.Errorf("agent image %s on the engine still holds agent sha256 %q after loading %s: remove it (docker rmi %s) and try again", image, rec.Labels[agentimage.LabelSHA256], a.SHA256, image)
	}
	action := evidence.Action{What: "loaded agent image", At: at, Until: x.now(),
		Detail: fmt.Sprintf("%s (%s) into the engine, built from the %s; the target is not affected", image, res.ID, a.Describe())}
	rec.Image = "loaded"
	if stale != "" {
		rec.Image = "replaced"
		action.What = "replaced agent image"
		action.Detail = fmt.Sprintf("%s was %s, not the agent this plugin carries for the engine's linux/%s: loaded %s instead, built from the %s; the old image stays on the engine untagged; the target is not affected", image, stale, arch, res.ID, a.Describe())
	}
	sink.Action(action)
	return agentImage{Name: image, ID: res.ID, RepoDigests: res.RepoDigests, Agent: rec}, nil
}

// imageLabels returns an inspected image's labels.
func imageLabels(res client.ImageInspectResult) map[string]string {
	if res.Config == nil {
		return map[string]string{}
	}
	return res.Config.Labels
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
