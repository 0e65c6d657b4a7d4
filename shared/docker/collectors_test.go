package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/docker/dockertest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

func running() *Target {
	return &Target{Container: container.InspectResponse{ID: "c0ffee", Name: "/web",
		State:  &container.State{Running: true, Status: container.StateRunning},
		Config: &container.Config{Image: "web:1"}}}
}

// runOne runs one collector of the docker set into a fresh bundle.
func runOne(t *testing.T, name string, f *dockertest.Engine, tgt *Target, opts Options) (evidence.Manifest, string) {
	t.Helper()
	dir := t.TempDir()
	w, err := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	opts.SpoolDir = dir
	r := &collect.Runner{Bundle: w}
	res := r.Run(context.Background(), []collect.Collector{pick(t, name, Collectors(f, tgt, opts))})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Manifest, res.Path
}

// pick returns the collector called name.
func pick(t *testing.T, name string, cs []collect.Collector) collect.Collector {
	t.Helper()
	for _, c := range cs {
		if c.Name() == name {
			return c
		}
	}
	t.Fatalf("no collector %s", name)
	return nil
}

func artifact(m evidence.Manifest, path string) (evidence.Artifact, bool) {
	for _, a := range m.Artifacts {
		if a.Path == path {
			return a, true
		}
	}
	return evidence.Artifact{}, false
}

func TestLogsDemuxed(t *testing.T) {
	stdout, stderr := "2026-11-29T12:00:00Z out\n", "2026-11-29T12:00:00Z err\n"
	f := dockertest.NewEngine().WithLogs(stdout, stderr)
	m, _ := runOne(t, "docker.logs", f, running(), Options{})
	out, ok1 := artifact(m, "logs/stdout.log")
	errA, ok2 := artifact(m, "logs/stderr.log")
	if !ok1 || !ok2 || out.Size != int64(len(stdout)) || errA.Size != int64(len(stderr)) {
		t.Errorf("logs not demuxed into two artifacts of the right sizes: %+v", m.Artifacts)
	}
}

func TestTTYLogsAreOneStream(t *testing.T) {
	f := dockertest.NewEngine()
	tgt := running()
	tgt.Container.Config.Tty = true
	m, _ := runOne(t, "docker.logs", f, tgt, Options{})
	if _, ok := artifact(m, "logs/tty.log"); !ok || len(m.Artifacts) != 1 {
		t.Errorf("want only logs/tty.log, got %+v", m.Artifacts)
	}
}

func TestDiffKinds(t *testing.T) {
	f := dockertest.NewEngine().WithDiff(container.FilesystemChange{Kind: container.ChangeAdd, Path: "/tmp/x"},
		container.FilesystemChange{Kind: container.ChangeDelete, Path: "/bin/id"}, container.FilesystemChange{Kind: container.ChangeModify, Path: "/tmp"})
	m, path := runOne(t, "docker.diff", f, running(), Options{})
	if !m.Complete {
		t.Fatalf("incomplete: %v", m.Incomplete)
	}
	r, err := evidence.Verify(context.Background(), path)
	if err != nil || !r.Intact {
		t.Fatalf("verify: %v %+v", err, r)
	}
	txt, _ := artifact(m, "container/diff.txt")
	if txt.Size != int64(len("A /tmp/x\nD /bin/id\nC /tmp\n")) {
		t.Errorf("diff.txt size %d", txt.Size)
	}
}

// TestPauseAlwaysUnpauses: a failed export still unpauses, and both the
// pause and the failure are on record.
func TestPauseAlwaysUnpauses(t *testing.T) {
	f := dockertest.NewEngine().WithExport(nil, errors.New("driver failed"))
	m, path := runOne(t, "docker.export", f, running(), Options{Pause: true})
	if strings.Join(f.Calls(), ",") != "ContainerPause c0ffee,ContainerExport c0ffee,ContainerUnpause c0ffee" {
		t.Errorf("calls %v, want pause, export, unpause", f.Calls())
	}
	a, ok := artifact(m, "container/filesystem.tar")
	if !ok || a.Stored() || !strings.Contains(a.Error, "driver failed") {
		t.Errorf("export failure not recorded: %+v", a)
	}
	if r, err := evidence.Verify(context.Background(), path); err != nil || !r.Intact {
		t.Errorf("verify after a failed export: %v %+v", err, r)
	}
}

func TestPauseUnpausesWhenInterrupted(t *testing.T) {
	pr, pw := io.Pipe()
	f := dockertest.NewEngine().WithExport(pr, nil)
	dir := t.TempDir()
	w, _ := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		pw.Write([]byte("partial tar"))
		time.Sleep(50 * time.Millisecond)
		cancel()
		time.Sleep(50 * time.Millisecond)
		pw.CloseWithError(context.Canceled)
	}()
	r := &collect.Runner{Bundle: w}
	res := r.Run(ctx, []collect.Collector{pick(t, "docker.export", Collectors(f, running(), Options{Pause: true}))})
	if paused, unpaused := f.Count("ContainerPause"), f.Count("ContainerUnpause"); paused != 1 || unpaused != 1 {
		t.Errorf("paused %d, unpaused %d; want 1 and 1", paused, unpaused)
	}
	if len(r.Custody.Actions) != 1 || r.Custody.Actions[0].What != "paused container" || r.Custody.Actions[0].Until.IsZero() {
		t.Errorf("custody actions %+v", r.Custody.Actions)
	}
	if res.Outcome() != collect.Incomplete {
		t.Errorf("outcome %v", res.Outcome())
	}
}

func TestCheckpointFailureRecorded(t *testing.T) {
	f := dockertest.NewEngine().WithCheckpointError(cerrdefs.ErrNotImplemented.WithMessage("checkpoint is only supported in experimental mode"))
	m, _ := runOne(t, "docker.checkpoint", f, running(), Options{Checkpoint: true})
	if m.Complete || len(m.Artifacts) != 1 || !strings.Contains(m.Artifacts[0].Error, "experimental") {
		t.Errorf("checkpoint failure not recorded: %+v", m)
	}
}

func TestStoppedContainerSkipsLiveSteps(t *testing.T) {
	tgt := running()
	tgt.Container.State = &container.State{Status: container.StateExited}
	for _, step := range []string{"docker.top", "docker.stats"} {
		m, _ := runOne(t, step, dockertest.NewEngine(), tgt, Options{})
		if !m.Complete || len(m.Artifacts) != 0 {
			t.Errorf("%s on a stopped container: %+v", step, m)
		}
	}
}

func TestEngineErrorNamesHost(t *testing.T) {
	f := dockertest.NewEngine()
	err := EngineError(f, "inspecting container x", cerrdefs.ErrNotFound.WithMessage("No such container: x"))
	if !strings.Contains(err.Error(), "not found on unix:///fake.sock") {
		t.Errorf("not-found error %q", err)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{"bridge": "bridge", "my net/1": "my_net_1", "..": "_..", "": "_"} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// endlessLog is an engine log body that never ends by itself (a long or
// followed log): stdout frames until it is closed. It calls full once,
// after about 64 KiB were read.
type endlessLog struct {
	buf    bytes.Reader
	n      int
	full   func()
	closed atomic.Bool
}

func (e *endlessLog) Read(p []byte) (int, error) {
	if e.closed.Load() {
		return 0, errors.New("read on closed response body")
	}
	if e.buf.Len() == 0 {
		e.buf.Reset(dockertest.Frame(1, "2026-11-29T12:00:00Z "+strings.Repeat("x", 500)+"\n"))
	}
	n, err := e.buf.Read(p)
	if e.n += n; e.n >= 64<<10 && e.full != nil {
		e.full()
		e.full = nil
	}
	return n, err
}

func (e *endlessLog) Close() error {
	e.closed.Store(true)
	return nil
}

// waitGone fails the test when a goroutine whose stack holds one of funcs
// is still there after a short settling time.
func waitGone(t *testing.T, funcs ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, f := range funcs {
				if strings.Contains(g, f) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running after the collector returned:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStoppedStreamsEndTheirGoroutines: when the bundle stops reading a
// log or checkpoint stream early (here the collection is interrupted),
// the goroutines that feed the stream end too, and what was read is kept
// as a partial artifact.
func TestStoppedStreamsEndTheirGoroutines(t *testing.T) {
	for _, tc := range []struct {
		step, path string
		client     func(cancel func()) *dockertest.Engine
		opts       Options
		goroutine  string
	}{
		{"docker.logs", "logs/stdout.log", func(cancel func()) *dockertest.Engine {
			return dockertest.NewEngine().WithLogStream(func(client.ContainerLogsOptions) io.ReadCloser { return &endlessLog{full: cancel} })
		}, Options{}, "docker.demux"},
		{"docker.checkpoint", "checkpoint/", func(cancel func()) *dockertest.Engine {
			return dockertest.NewEngine().WithCheckpoint(map[string]string{"pages-1.img": strings.Repeat("p", 1<<20), "inventory.img": "inv"}, cancel)
		}, Options{Checkpoint: true}, "docker.tarDir"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			dir := t.TempDir()
			w, err := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.opts.SpoolDir = dir
			r := &collect.Runner{Bundle: w}
			res := r.Run(ctx, []collect.Collector{pick(t, tc.step, Collectors(tc.client(cancel), running(), tc.opts))})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			waitGone(t, tc.goroutine)
			var partial bool
			for _, a := range res.Manifest.Artifacts {
				partial = partial || strings.HasPrefix(a.Path, tc.path) && a.Error != ""
			}
			if res.Manifest.Complete || !partial {
				t.Errorf("an interrupted %s should leave an incomplete bundle with %s* marked: %+v", tc.step, tc.path, res.Manifest.Artifacts)
			}
		})
	}
}

// TestDiffSortedByPath: the containerd image store (Docker 28 with
// containerd-snapshotter) reports a container's changes in a different
// order on every call, where Docker 20.10 sorts them by path. diff.json and
// diff.txt list them by path, so that two exports of an unchanged container
// hold the same bytes whichever engine answered.
func TestDiffSortedByPath(t *testing.T) {
	f := dockertest.NewEngine().WithDiff(
		container.FilesystemChange{Kind: container.ChangeModify, Path: "/tmp"},
		container.FilesystemChange{Kind: container.ChangeAdd, Path: "/tmp/x"},
		container.FilesystemChange{Kind: container.ChangeModify, Path: "/bin"},
		container.FilesystemChange{Kind: container.ChangeDelete, Path: "/bin/yes"},
		container.FilesystemChange{Kind: container.ChangeModify, Path: "/bin/sh"})
	_, path := runOne(t, "docker.diff", f, running(), Options{})
	files := map[string]string{}
	bf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	tr := tar.NewReader(bf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	if got, want := files["b/container/diff.txt"], "C /bin\nC /bin/sh\nD /bin/yes\nC /tmp\nA /tmp/x\n"; got != want {
		t.Errorf("diff.txt:\n%s\nwant, sorted by path:\n%s", got, want)
	}
	var changes []struct{ Kind, Path string }
	if err := json.Unmarshal([]byte(files["b/container/diff.json"]), &changes); err != nil {
		t.Fatalf("diff.json: %v", err)
	}
	var paths []string
	for _, c := range changes {
		paths = append(paths, c.Path)
	}
	if want := []string{"/bin", "/bin/sh", "/bin/yes", "/tmp", "/tmp/x"}; !slices.Equal(paths, want) {
		t.Errorf("diff.json paths %q, want %q", paths, want)
	}
}

// TestCheckpointFailureNamesCRIUReason: when CRIU fails, the engine's error
// only names CRIU's log (path= ...criu-dump.log, on the engine's host); on a
// local engine the failure carries the reason that log gives, not only the
// path. The log lines are those CRIU 4.1.1 wrote for a Go web server on the
// modern test engine.
func TestCheckpointFailureNamesCRIUReason(t *testing.T) {
	log := filepath.Join(t.TempDir(), "criu-dump.log")
	if err := os.WriteFile(log, []byte(`(00.000000) Version: 4.1.1 (gitid 0)
(00.102146) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.110000) Dumping path for 3 fd via self 20 [/dev/null]
(00.115135) Error (criu/sk-inet.c:130): inet: Unsupported proto 262 for socket 14202c
(00.115150) Error (criu/cr-dump.c:1681): Dump files (pid: 2206) failed with -1
(00.176844) Error (criu/cr-dump.c:2111): Dumping FAILED.
`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := dockertest.NewEngine().WithCheckpointError(errors.New("Cannot checkpoint container c0ffee: runc did not terminate successfully: exit status 1: criu failed: type NOTIFY errno 0 path= " + log))
	m, _ := runOne(t, "docker.checkpoint", f, running(), Options{Checkpoint: true})
	if len(m.Artifacts) != 1 {
		t.Fatalf("artifacts %+v", m.Artifacts)
	}
	got := m.Artifacts[0].Error
	if !strings.Contains(got, "CRIU's log says: inet: Unsupported proto 262 for socket 14202c") || strings.Contains(got, "\n") {
		t.Errorf("checkpoint error %q lacks CRIU's reason in one line", got)
	}
}

// TestCheckpointFailureWithoutCRIULog: an error that names no readable
// CRIU log (a remote engine's path, or none) is passed on as it is.
func TestCheckpointFailureWithoutCRIULog(t *testing.T) {
	msg := "Cannot checkpoint container c0ffee: criu failed: type NOTIFY errno 0 path= /nonexistent/criu-dump.log"
	f := dockertest.NewEngine().WithCheckpointError(errors.New(msg))
	m, _ := runOne(t, "docker.checkpoint", f, running(), Options{Checkpoint: true})
	if got := m.Artifacts[0].Error; !strings.Contains(got, msg) || strings.Contains(got, "CRIU's log says") {
		t.Errorf("checkpoint error %q", got)
	}
}
