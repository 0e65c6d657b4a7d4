package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// Options choose the optional, and the intrusive, collection steps.
type Options struct {
	// SaveImage stores the container's image as `docker save` writes it.
	SaveImage bool
	// Pause pauses the container while its filesystem is exported and
	// unpauses it afterwards, also on error and interruption.
	Pause bool
	// Checkpoint takes a CRIU checkpoint of the running container through
	// the engine (experimental mode); the container keeps running.
	Checkpoint bool
	// Live, when enabled, runs the forensic agent in a sidecar for packet
	// capture and a process snapshot.
	Live *LiveOptions
	// SpoolDir is where a checkpoint is written before it goes into the
	// bundle, when the engine runs on this machine.
	SpoolDir string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// cleanupTimeout bounds undoing a change to the target after the
// collection was interrupted.
const cleanupTimeout = 30 * time.Second

// Collectors returns the collection steps for t, most volatile first:
// processes and stats, the agent's live captures, a checkpoint, logs, then
// the filesystem, and the image, networks, volumes and engine last.
func Collectors(c Client, t *Target, opts Options) []collect.Collector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	x := &collectors{c: c, t: t, opts: opts}
	steps := []collect.Collector{
		collect.Func("docker.inspect", x.inspect),
		collect.Func("docker.top", x.top),
		collect.Func("docker.stats", x.stats),
	}
	if opts.Live.Enabled() {
		steps = append(steps, collect.Func("docker.agent", x.live))
	}
	if opts.Checkpoint {
		steps = append(steps, collect.Func("docker.checkpoint", x.checkpoint))
	}
	steps = append(steps,
		collect.Func("docker.logs", x.logs),
		collect.Func("docker.diff", x.diff),
		collect.Func("docker.export", x.export),
		collect.Func("docker.image", x.image),
	)
	if opts.SaveImage {
		steps = append(steps, collect.Func("docker.image-save", x.saveImage))
	}
	steps = append(steps,
		collect.Func("docker.networks", x.networks),
		collect.Func("docker.volumes", x.volumes),
		collect.Func("docker.engine", x.engine),
	)
	return steps
}

type collectors struct {
	c    Client
	t    *Target
	opts Options
}

func (x *collectors) now() time.Time { return x.opts.Now().UTC() }

func (x *collectors) inspect(ctx context.Context, sink collect.Sink) error {
	return sink.Bytes(evidence.Meta{Path: "container/inspect.json", MediaType: "application/json",
		Description: "docker inspect of the container, the engine's JSON byte for byte, taken before anything else"}, x.t.Raw)
}

// topArgs are the ps(1) options the engine runs on its host for `top`.
// etimes gives each process's age in seconds, from which its start time follows.
var topArgs = []string{"-eo", "user,uid,pid,ppid,stat,etimes,time,tty,args"}

func (x *collectors) top(ctx context.Context, sink collect.Sink) error {
	if !x.t.Running() || x.t.Paused() {
		sink.Logf("container is not running (or paused): no process list")
		return nil
	}
	m := evidence.Meta{Path: "container/top.json", Description: "processes of the container (docker top " + strings.Join(topArgs, " ") + ")"}
	res, err := x.c.ContainerTop(ctx, x.t.ID(), client.ContainerTopOptions{Arguments: topArgs})
	if err != nil {
		// Some engines' ps lacks a field: fall back to the default listing.
		res, err = x.c.ContainerTop(ctx, x.t.ID(), client.ContainerTopOptions{})
		m.Description = "processes of the container (docker top, default ps -ef)"
	}
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "listing processes", err))
	}
	return sink.JSON(m, map[string]any{"taken": x.now(), "ps_args": topArgs, "titles": res.Titles, "processes": res.Processes})
}

func (x *collectors) stats(ctx context.Context, sink collect.Sink) error {
	if !x.t.Running() {
		sink.Logf("container is not running: no stats")
		return nil
	}
	m := evidence.Meta{Path: "container/stats.json", MediaType: "application/json", Description: "one stats sample (CPU, memory, network, block I/O, pids counters) as the engine returned it, taken at once"}
	res, err := x.c.ContainerStats(ctx, x.t.ID(), client.ContainerStatsOptions{Stream: false, IncludePreviousSample: false})
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "reading stats", err))
	}
	defer res.Body.Close()
	return sink.Stream(ctx, m, res.Body)
}

func (x *collectors) logs(ctx context.Context, sink collect.Sink) error {
	tty := x.t.Container.Config != nil && x.t.Container.Config.Tty
	streams := []struct {
		name           string
		stdout, stderr bool
	}{{"stdout", true, false}, {"stderr", false, true}}
	if tty {
		// A TTY container has one stream, stdout and stderr merged by the terminal.
		streams = streams[:1]
		streams[0].name = "tty"
		streams[0].stderr = true
	}
	var errs []error
	for _, s := range streams {
		m := evidence.Meta{Path: "logs/" + s.name + ".log", MediaType: "text/plain",
			Description: "container " + s.name + ", every line, each prefixed with the engine's RFC 3339 timestamp"}
		rc, err := x.c.ContainerLogs(ctx, x.t.ID(), client.ContainerLogsOptions{ShowStdout: s.stdout, ShowStderr: s.stderr, Timestamps: true})
		if err != nil {
			errs = append(errs, sink.Fail(m, EngineError(x.c, "reading "+s.name+" logs", err)))
			continue
		}
		var r io.ReadCloser = rc
		if !tty {
			r = demux(rc, s.stdout)
		}
		errs = append(errs, sink.Stream(ctx, m, r))
		r.Close()
	}
	return errors.Join(errs...)
}

// errStreamClosed is what a producer goroutine gets when the reading side
// closed its pipe before the end of the stream.
var errStreamClosed = errors.New("stream closed by its reader")

// pipeStream is the reading end of a pipe fed by a goroutine. Close stops
// the goroutine, also when the reader stopped early (an interruption, an
// unwritable bundle), and waits until it has ended, so that nothing keeps
// running, or keeps reading a folder, after the collector returned.
type pipeStream struct {
	*io.PipeReader
	src  io.Closer // closed too, so that a producer blocked reading it ends
	done chan struct{}
}

// goPipe runs produce in a goroutine and returns what it writes; the end
// of the stream carries produce's error. src, when not nil, is the
// producer's source: Close closes it.
func goPipe(src io.Closer, produce func(w io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	p := &pipeStream{PipeReader: pr, src: src, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		pw.CloseWithError(produce(pw))
	}()
	return p
}

func (p *pipeStream) Close() error {
	p.PipeReader.CloseWithError(errStreamClosed)
	var err error
	if p.src != nil {
		err = p.src.Close()
	}
	<-p.done
	return err
}

// demux strips the engine's stream framing from rc, keeping stdout or
// stderr. Closing the result closes rc.
func demux(rc io.ReadCloser, stdout bool) io.ReadCloser {
	return goPipe(rc, func(w io.Writer) error {
		out, other := w, io.Discard
		if !stdout {
			out, other = other, out
		}
		_, err := stdcopy.StdCopy(out, other, rc)
		return err
	})
}

func (x *collectors) diff(ctx context.Context, sink collect.Sink) error {
	m := evidence.Meta{Path: "container/diff.json", Description: "changes to the container's filesystem against its image (docker diff), with kind added/changed/deleted"}
	res, err := x.c.ContainerDiff(ctx, x.t.ID(), client.ContainerDiffOptions{})
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "reading filesystem changes", err))
	}
	type change struct {
		Kind string `json:"kind"`
		Path string `json:"path"`
	}
	// By path, as Docker 20.10 returns them: the containerd image store
	// returns them in a different order on every call, and an unchanged
	// container must give the same bytes.
	sorted := slices.SortedStableFunc(slices.Values(res.Changes), func(a, b container.FilesystemChange) int {
		return strings.Compare(a.Path, b.Path)
	})
	changes := make([]change, 0, len(sorted))
	var text strings.Builder
	for _, ch := range sorted {
		kind := map[string]string{"C": "changed", "A": "added", "D": "deleted"}[ch.Kind.String()]
		changes = append(changes, change{Kind: kind, Path: ch.Path})
		fmt.Fprintf(&text, "%s %s\n", ch.Kind.String(), ch.Path)
	}
	err = sink.JSON(m, changes)
	if isFatal(err) {
		return err
	}
	return errors.Join(err, sink.Bytes(evidence.Meta{Path: "container/diff.txt", MediaType: "text/plain",
		Description: "the same changes as docker diff prints them (A added, C changed, D deleted)"}, []byte(text.String())))
}

// isFatal reports whether a sink error means the bundle is unwritable.
func isFatal(err error) bool { return err != nil && !evidence.IsSourceError(err) }

func (x *collectors) export(ctx context.Context, sink collect.Sink) (err error) {
	m := evidence.Meta{Path: "container/filesystem.tar", MediaType: "application/x-tar",
		Description: "the container's filesystem as the engine exports it (docker export), byte for byte"}
	if x.opts.Pause {
		unpause, perr := x.pause(ctx, sink)
		if perr != nil {
			return sink.Fail(m, perr)
		}
		defer func() { err = errors.Join(err, unpause()) }()
	}
	rc, err := x.c.ContainerExport(ctx, x.t.ID(), client.ContainerExportOptions{})
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "exporting container "+x.t.Name(), err))
	}
	defer rc.Close()
	return sink.Stream(ctx, m, rc)
}

// pause pauses a running container and returns the function that
// unpauses it. Both are recorded as actions on the target. Unpausing does
// not depend on ctx, so that an interrupted collection still unpauses.
func (x *collectors) pause(ctx context.Context, sink collect.Sink) (func() error, error) {
	noop := func() error { return nil }
	switch {
	case !x.t.Running():
		sink.Logf("--pause: container is not running, nothing to pause")
		return noop, nil
	case x.t.Paused():
		sink.Logf("--pause: container was already paused; left as it was")
		return noop, nil
	}
	at := x.now()
	if _, err := x.c.ContainerPause(ctx, x.t.ID(), client.ContainerPauseOptions{}); err != nil {
		sink.Action(evidence.Action{What: "pause container", Detail: "for the filesystem export", At: at, Error: err.Error()})
		return nil, EngineError(x.c, "pausing container "+x.t.Name(), err)
	}
	return func() error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, err := x.c.ContainerUnpause(cctx, x.t.ID(), client.ContainerUnpauseOptions{})
		a := evidence.Action{What: "paused container", Detail: "during the filesystem export; unpaused afterwards", At: at, Until: x.now()}
		if err != nil {
			a.Error = "unpausing failed, the container may still be paused: " + err.Error()
			err = EngineError(x.c, "unpausing container "+x.t.Name()+" (run docker unpause "+x.t.ID()+")", err)
		}
		sink.Action(a)
		return err
	}, nil
}

func (x *collectors) checkpoint(ctx context.Context, sink collect.Sink) error {
	name := "forensic-" + x.now().Format("20060102T150405Z")
	m := evidence.Meta{Path: "checkpoint/" + name + ".tar", MediaType: "application/x-tar",
		Description: "CRIU checkpoint (memory, processes, open files) taken through the engine; the container kept running"}
	if !x.t.Running() {
		return sink.Fail(m, fmt.Errorf("container is not running: a checkpoint needs a running container"))
	}
	opts := client.CheckpointCreateOptions{CheckpointID: name, Exit: false}
	local := strings.HasPrefix(x.c.DaemonHost(), "unix://")
	var dir string
	if local {
		// The engine runs here: have it write the checkpoint into a folder
		// we own, so that it can go into the bundle.
		d, err := os.MkdirTemp(x.opts.SpoolDir, ".forensic-checkpoint-*")
		if err != nil {
			return sink.Fail(m, fmt.Errorf("creating checkpoint folder: %w", err))
		}
		defer os.RemoveAll(d)
		dir, opts.CheckpointDir = d, d
	}
	at := x.now()
	_, err := x.c.CheckpointCreate(ctx, x.t.ID(), opts)
	a := evidence.Action{What: "checkpointed container", Detail: "CRIU dump of the running container through the engine (processes frozen briefly, left running)", At: at, Until: x.now()}
	if err != nil {
		a.Error = err.Error()
		sink.Action(a)
		hint := "checkpoints need an engine in experimental mode and a CRIU that works on the engine's kernel"
		if local {
			if reason := criuReason(err.Error()); reason != "" {
				hint = "CRIU's log says: " + reason + "; " + hint
			}
		}
		return sink.Fail(m, fmt.Errorf("checkpointing container %s: %w (%s)", x.t.Name(), EngineError(x.c, "checkpoint", err), hint))
	}
	sink.Action(a)
	if !local {
		sink.Note("checkpoint %s was written on the engine host %s, in the container's checkpoints folder; it is not in this bundle", name, x.c.DaemonHost())
		return sink.Fail(m, fmt.Errorf("the engine at %s is remote: checkpoint %s stays on that host", x.c.DaemonHost(), name))
	}
	// Closed before dir is removed: the walk has ended by then.
	tr := tarDir(dir)
	defer tr.Close()
	return sink.Stream(ctx, m, tr)
}

// criuLogPath finds the CRIU log a failed checkpoint names: runc's error
// ends with "path= <dir>/criu-dump.log" (and on some engines ": unknown").
var criuLogPath = regexp.MustCompile(`path= (/\S+?\.log)\b`)

// criuError is one error line of a CRIU log:
// "(00.115135) Error (criu/sk-inet.c:130): inet: Unsupported proto 262 ...".
var criuError = regexp.MustCompile(`^\(\s*[0-9.]+\) Error \([^)]*\): (.+)$`)

// criuReason reads the CRIU log that the engine's checkpoint error names,
// when this host can read it (the engine runs here), and returns CRIU's own
// reason: the last error line before the summary lines ("... failed with",
// "Dumping FAILED"). It returns "" when there is no such log or line.
func criuReason(engineErr string) string {
	mm := criuLogPath.FindStringSubmatch(engineErr)
	if mm == nil {
		return ""
	}
	f, err := os.Open(mm[1])
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return ""
	}
	reason := ""
	for _, line := range strings.Split(string(b), "\n") {
		e := criuError.FindStringSubmatch(strings.TrimSpace(line))
		if e == nil || strings.Contains(e[1], "FAILED") || strings.Contains(e[1], "failed with") {
			continue
		}
		reason = e[1]
	}
	return reason
}

// tarDir streams a tar of the files under dir, named relative to it.
// Close stops the walk and waits for it to end.
func tarDir(dir string) io.ReadCloser {
	return goPipe(nil, func(w io.Writer) error {
		tw := tar.NewWriter(w)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if rel == "." {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			link := ""
			if info.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			hdr, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			hdr.Name = filepath.ToSlash(rel)
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		return err
	})
}

func (x *collectors) image(ctx context.Context, sink collect.Sink) error {
	id := x.t.Container.Image
	m := evidence.Meta{Path: "image/inspect.json", MediaType: "application/json", Description: "docker image inspect of the container's image, the engine's JSON"}
	raw, err := rawImageInspect(ctx, x.c, id)
	var errs []error
	if err != nil {
		errs = append(errs, sink.Fail(m, EngineError(x.c, "inspecting image "+id, err)))
	} else {
		errs = append(errs, sink.Bytes(m, raw))
	}
	if isFatal(errors.Join(errs...)) {
		return errors.Join(errs...)
	}
	hm := evidence.Meta{Path: "image/history.json", Description: "docker history of the image: each layer's creation time, command and size"}
	hist, err := x.c.ImageHistory(ctx, id)
	if err != nil {
		errs = append(errs, sink.Fail(hm, EngineError(x.c, "reading image history", err)))
	} else {
		errs = append(errs, sink.JSON(hm, hist.Items))
	}
	return errors.Join(errs...)
}

func (x *collectors) saveImage(ctx context.Context, sink collect.Sink) error {
	id := x.t.Container.Image
	m := evidence.Meta{Path: "image/image.tar", MediaType: "application/x-tar",
		Description: "the container's image as docker save writes it (layers, config, manifest)"}
	rc, err := x.c.ImageSave(ctx, []string{id})
	if err != nil {
		return sink.Fail(m, EngineError(x.c, "saving image "+id, err))
	}
	defer rc.Close()
	return sink.Stream(ctx, m, rc)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// fileName makes an engine object name safe as one path element.
func fileName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

func (x *collectors) networks(ctx context.Context, sink collect.Sink) error {
	ns := x.t.Container.NetworkSettings
	if ns == nil || len(ns.Networks) == 0 {
		sink.Logf("container is attached to no network")
		return nil
	}
	var errs []error
	for name, ep := range ns.Networks {
		id := name
		if ep != nil && ep.NetworkID != "" {
			id = ep.NetworkID
		}
		m := evidence.Meta{Path: "networks/" + fileName(name) + ".json", MediaType: "application/json",
			Description: "docker network inspect of network " + name + ", the engine's JSON"}
		res, err := x.c.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
		if cerrdefs.IsNotFound(err) && id != name {
			// The network was recreated since the container joined it
			// (an engine restart does this to "bridge"): look it up by name.
			sink.Logf("network %s: ID %s not found, inspecting it by name", name, id)
			res, err = x.c.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		}
		if err != nil {
			errs = append(errs, sink.Fail(m, EngineError(x.c, "inspecting network "+name, err)))
			continue
		}
		if err := sink.Bytes(m, res.Raw); isFatal(err) {
			return err
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (x *collectors) volumes(ctx context.Context, sink collect.Sink) error {
	var errs []error
	n := 0
	for _, mp := range x.t.Container.Mounts {
		if mp.Type != mount.TypeVolume || mp.Name == "" {
			continue
		}
		n++
		m := evidence.Meta{Path: "volumes/" + fileName(mp.Name) + ".json", MediaType: "application/json",
			Description: "docker volume inspect of volume " + mp.Name + " mounted at " + mp.Destination}
		res, err := x.c.VolumeInspect(ctx, mp.Name, client.VolumeInspectOptions{})
		if err != nil {
			errs = append(errs, sink.Fail(m, EngineError(x.c, "inspecting volume "+mp.Name, err)))
			continue
		}
		if err := sink.Bytes(m, res.Raw); isFatal(err) {
			return err
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if n == 0 {
		sink.Logf("container mounts no named volume")
	}
	return errors.Join(errs...)
}

func (x *collectors) engine(ctx context.Context, sink collect.Sink) error {
	var errs []error
	im := evidence.Meta{Path: "engine/info.json", Description: "docker info of the engine"}
	if info, err := x.c.Info(ctx, client.InfoOptions{}); err != nil {
		errs = append(errs, sink.Fail(im, EngineError(x.c, "reading engine info", err)))
	} else {
		errs = append(errs, sink.JSON(im, info.Info))
	}
	vm := evidence.Meta{Path: "engine/version.json", Description: "docker version of the engine"}
	if v, err := x.c.ServerVersion(ctx, client.ServerVersionOptions{}); err != nil {
		errs = append(errs, sink.Fail(vm, EngineError(x.c, "reading engine version", err)))
	} else {
		errs = append(errs, sink.JSON(vm, v))
	}
	return errors.Join(errs...)
}
