package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Host is the address a fake engine reports by default.
const Host = "unix:///fake.sock"

// Engine is a fake Docker Engine. It embeds the real client interface,
// left nil, and answers the calls its builder methods set up; any other
// call panics, which shows the test what it reached. It records the calls
// it answers (Calls), as the method name and its first argument, if any:
// "ContainerInspect web", "ContainerPause c0ffee", "ImageLoad".
type Engine struct {
	client.APIClient

	mu    sync.Mutex
	calls []string

	host       string
	arch       string
	containers map[string]container.InspectResponse
	logs       map[string]string // "stdout"/"stderr" -> content
	logStream  func(client.ContainerLogsOptions) io.ReadCloser
	diff       []container.FilesystemChange
	export     io.ReadCloser
	exportErr  error

	checkpointErr   error
	checkpointFiles map[string]string
	onCheckpoint    func()

	images map[string]client.ImageInspectResult
	loaded [][]byte

	createID  string
	createErr error
	agent     func(conn net.Conn, exit chan<- container.WaitResponse)
	exit      chan container.WaitResponse
	removed   []string
}

var _ client.APIClient = (*Engine)(nil)

// NewEngine is an engine on Host, of this machine's architecture, with no
// container and no image, whose ContainerCreate fails.
func NewEngine() *Engine {
	return &Engine{host: Host, arch: runtime.GOARCH,
		containers: map[string]container.InspectResponse{}, logs: map[string]string{},
		images: map[string]client.ImageInspectResult{}, createErr: errors.New("the fake engine creates nothing")}
}

// WithHost sets the address DaemonHost reports.
func (e *Engine) WithHost(h string) *Engine { e.host = h; return e }

// WithArch sets the architecture ServerVersion reports (the OS is linux).
func (e *Engine) WithArch(arch string) *Engine { e.arch = arch; return e }

// WithContainer makes ContainerInspect answer c, by ID and by name.
func (e *Engine) WithContainer(c container.InspectResponse) *Engine {
	e.containers[c.ID] = c
	if c.Name != "" {
		e.containers[strings.TrimPrefix(c.Name, "/")] = c
	}
	return e
}

// WithLogs sets what ContainerLogs returns on stdout and stderr, each as
// one frame of the engine's multiplexed stream.
func (e *Engine) WithLogs(stdout, stderr string) *Engine {
	e.logs["stdout"], e.logs["stderr"] = stdout, stderr
	return e
}

// WithLogStream makes ContainerLogs return the body f returns instead.
func (e *Engine) WithLogStream(f func(client.ContainerLogsOptions) io.ReadCloser) *Engine {
	e.logStream = f
	return e
}

// WithDiff sets the changes ContainerDiff reports.
func (e *Engine) WithDiff(changes ...container.FilesystemChange) *Engine {
	e.diff = changes
	return e
}

// WithExport sets what ContainerExport returns.
func (e *Engine) WithExport(body io.ReadCloser, err error) *Engine {
	e.export, e.exportErr = body, err
	return e
}

// WithCheckpointError makes CheckpointCreate fail with err.
func (e *Engine) WithCheckpointError(err error) *Engine { e.checkpointErr = err; return e }

// WithCheckpoint makes CheckpointCreate write files (name -> content) into
// the checkpoint folder, then call done if it is not nil.
func (e *Engine) WithCheckpoint(files map[string]string, done func()) *Engine {
	e.checkpointFiles, e.onCheckpoint = files, done
	return e
}

// WithImage puts an image under ref; see Image for one as the engine
// describes it.
func (e *Engine) WithImage(ref string, img client.ImageInspectResult) *Engine {
	e.images[ref] = img
	return e
}

// WithCreateError makes ContainerCreate fail with err.
func (e *Engine) WithCreateError(err error) *Engine { e.createErr = err; return e }

// WithSidecar makes ContainerCreate create a container id, and runs agent
// on the engine's end of each attach to it; agent sends the container's
// exit on exit (buffered for one), which ContainerWait returns.
func (e *Engine) WithSidecar(id string, agent func(conn net.Conn, exit chan<- container.WaitResponse)) *Engine {
	e.createID, e.createErr, e.agent = id, nil, agent
	e.exit = make(chan container.WaitResponse, 1)
	return e
}

func (e *Engine) record(call string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, call)
}

// Calls returns the calls answered so far, in order.
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// Count returns how many of the calls answered so far were method.
func (e *Engine) Count(method string) int {
	n := 0
	for _, c := range e.Calls() {
		if name, _, _ := strings.Cut(c, " "); name == method {
			n++
		}
	}
	return n
}

// Loaded returns the image tarballs ImageLoad received.
func (e *Engine) Loaded() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.loaded...)
}

// ImageAt returns the image under ref, the zero result if none.
func (e *Engine) ImageAt(ref string) client.ImageInspectResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.images[ref]
}

// Removed returns the IDs ContainerRemove received.
func (e *Engine) Removed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.removed...)
}

// DaemonHost returns the engine's address (not recorded as a call).
func (e *Engine) DaemonHost() string { return e.host }

// ServerVersion reports linux and the engine's architecture.
func (e *Engine) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	e.record("ServerVersion")
	return client.ServerVersionResult{Os: "linux", Arch: e.arch}, nil
}

// ContainerInspect answers a container set with WithContainer, and the
// engine's not-found error for any other.
func (e *Engine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	e.record("ContainerInspect " + id)
	if c, ok := e.containers[id]; ok {
		return client.ContainerInspectResult{Container: c}, nil
	}
	return client.ContainerInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
}

// Frame is one frame of the engine's multiplexed stream: stream 1 is
// stdout, 2 stderr.
func Frame(stream byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

// ContainerLogs returns the log stream, or the logs as frames.
func (e *Engine) ContainerLogs(_ context.Context, id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	e.record("ContainerLogs " + id)
	if e.logStream != nil {
		return e.logStream(o), nil
	}
	var b bytes.Buffer
	if o.ShowStdout {
		b.Write(Frame(1, e.logs["stdout"]))
	}
	if o.ShowStderr {
		b.Write(Frame(2, e.logs["stderr"]))
	}
	return io.NopCloser(&b), nil
}

// ContainerDiff returns the changes set with WithDiff.
func (e *Engine) ContainerDiff(_ context.Context, id string, _ client.ContainerDiffOptions) (client.ContainerDiffResult, error) {
	e.record("ContainerDiff " + id)
	return client.ContainerDiffResult{Changes: e.diff}, nil
}

// ContainerPause succeeds.
func (e *Engine) ContainerPause(_ context.Context, id string, _ client.ContainerPauseOptions) (client.ContainerPauseResult, error) {
	e.record("ContainerPause " + id)
	return client.ContainerPauseResult{}, nil
}

// ContainerUnpause succeeds, unless ctx has ended (then it is not recorded).
func (e *Engine) ContainerUnpause(ctx context.Context, id string, _ client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error) {
	if ctx.Err() != nil {
		return client.ContainerUnpauseResult{}, ctx.Err()
	}
	e.record("ContainerUnpause " + id)
	return client.ContainerUnpauseResult{}, nil
}

// ContainerExport returns what WithExport set.
func (e *Engine) ContainerExport(_ context.Context, id string, _ client.ContainerExportOptions) (client.ContainerExportResult, error) {
	e.record("ContainerExport " + id)
	return e.export, e.exportErr
}

// CheckpointCreate fails as WithCheckpointError set, or writes the files
// WithCheckpoint set.
func (e *Engine) CheckpointCreate(_ context.Context, id string, o client.CheckpointCreateOptions) (client.CheckpointCreateResult, error) {
	e.record("CheckpointCreate " + id)
	if e.checkpointErr != nil {
		return client.CheckpointCreateResult{}, e.checkpointErr
	}
	for name, content := range e.checkpointFiles {
		if err := os.WriteFile(filepath.Join(o.CheckpointDir, name), []byte(content), 0o600); err != nil {
			return client.CheckpointCreateResult{}, err
		}
	}
	if e.onCheckpoint != nil {
		e.onCheckpoint()
	}
	return client.CheckpointCreateResult{}, nil
}

// ImageInspect answers the images by name, and the engine's not-found
// error for any other.
func (e *Engine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	e.record("ImageInspect " + ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	if res, ok := e.images[ref]; ok {
		return res, nil
	}
	return client.ImageInspectResult{}, fmt.Errorf("no such image: %s: %w", ref, cerrdefs.ErrNotFound)
}

// ImageLoad reads an image tarball's manifest.json and config as an
// engine would, and keeps the image under its first tag.
func (e *Engine) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	e.record("ImageLoad")
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loaded = append(e.loaded, b)
	files := Untar(b)
	var legacy []struct {
		Config   string
		RepoTags []string
	}
	if err := json.Unmarshal(files["manifest.json"], &legacy); err != nil || len(legacy) != 1 {
		return nil, fmt.Errorf("bad manifest.json: %v", err)
	}
	var config struct {
		Architecture string
		Config       struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(files[legacy[0].Config], &config); err != nil {
		return nil, err
	}
	e.images[legacy[0].RepoTags[0]] = Image("sha256:"+strings.TrimPrefix(legacy[0].Config, "blobs/sha256/"), config.Architecture, config.Config.Labels)
	return io.NopCloser(strings.NewReader(`{"stream":"Loaded image"}`)), nil
}

// ContainerCreate fails as WithCreateError set (by default), or creates
// the sidecar WithSidecar set.
func (e *Engine) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	e.record("ContainerCreate " + o.Config.Image)
	if e.createErr != nil {
		return client.ContainerCreateResult{}, e.createErr
	}
	return client.ContainerCreateResult{ID: e.createID}, nil
}

// ContainerAttach returns one end of a pipe and runs the sidecar's agent
// on the other.
func (e *Engine) ContainerAttach(_ context.Context, id string, _ client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	e.record("ContainerAttach " + id)
	plugin, agentEnd := net.Pipe()
	go e.agent(agentEnd, e.exit)
	return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(plugin, "")}, nil
}

// ContainerStart succeeds.
func (e *Engine) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	e.record("ContainerStart " + id)
	return client.ContainerStartResult{}, nil
}

// ContainerWait returns the exit the sidecar's agent sends.
func (e *Engine) ContainerWait(_ context.Context, id string, _ client.ContainerWaitOptions) client.ContainerWaitResult {
	e.record("ContainerWait " + id)
	return client.ContainerWaitResult{Result: e.exit, Error: make(chan error)}
}

// ContainerRemove records the ID (see Removed).
func (e *Engine) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	e.record("ContainerRemove " + id)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removed = append(e.removed, id)
	return client.ContainerRemoveResult{}, nil
}

// Image is an image as the engine describes it.
func Image(id, arch string, labels map[string]string) client.ImageInspectResult {
	b, _ := json.Marshal(map[string]any{"Id": id, "Architecture": arch, "Config": map[string]any{"Labels": labels}})
	var res client.ImageInspectResult
	if err := json.Unmarshal(b, &res.InspectResponse); err != nil {
		panic(err)
	}
	return res
}

// Untar returns the regular files of a tar stream by name; it stops at
// the first error.
func Untar(b []byte) map[string][]byte {
	m := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			return m
		}
		m[h.Name], _ = io.ReadAll(tr)
	}
}
