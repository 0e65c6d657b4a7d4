package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentimage"
	"github.com/forensic-tools/forensic/shared/agent/agentio"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/docker/dockertest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// TestCorruptAgentArtifactIsMarked flips one byte of an artifact on its way
// from the agent: the bytes are kept, hashed as received, and the artifact
// is marked with the failed check.
func TestCorruptAgentArtifactIsMarked(t *testing.T) {
	var wire bytes.Buffer
	w, err := stream.NewWriter(&wire)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := w.Open("proc/snapshot.json", nil)
	a.Write([]byte(`{"processes":[{"pid":1,"cmdline":["/webserver"]}]}`))
	a.Finish(nil, nil)
	w.Close()
	b := wire.Bytes()
	i := bytes.Index(b, []byte("webserver"))
	b[i] = 'W'

	dir := t.TempDir()
	bw, _ := evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	r := &collect.Runner{Bundle: bw}
	res := r.Run(context.Background(), []collect.Collector{collect.Func("docker.agent", func(ctx context.Context, sink collect.Sink) error {
		_, derr := stream.Demux(bytes.NewReader(b), func(art *stream.Artifact) error {
			if err := sink.Stream(ctx, evidence.Meta{Path: art.Name}, agentio.Checked(art)); isFatal(err) {
				return err
			}
			return nil
		}, nil)
		return derr
	})})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got, ok := artifact(res.Manifest, "proc/snapshot.json")
	if !ok || !got.Partial || !strings.Contains(got.Error, "transfer check failed") || got.Size == 0 {
		t.Errorf("corrupt artifact recorded as %+v", got)
	}
	if res.Manifest.Complete {
		t.Error("bundle with a corrupt agent artifact marked complete")
	}
}

func TestLoadError(t *testing.T) {
	ok := `{"stream":"Loaded image: forensic/agent:dev\n"}`
	bad := `{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}`
	if err := loadError(strings.NewReader(ok)); err != nil {
		t.Errorf("good load: %v", err)
	}
	if err := loadError(strings.NewReader(ok + bad)); err == nil || !strings.Contains(err.Error(), "invalid tar header") {
		t.Errorf("failed load: %v", err)
	}
}

// newAgentEngine is an engine for the agent image steps, of architecture
// arch, that refuses to create the sidecar (where these tests stop).
func newAgentEngine(arch string) *dockertest.Engine {
	return dockertest.NewEngine().WithArch(arch).WithCreateError(errors.New("the test stops at the sidecar"))
}

// created reports whether anything was created on the engine.
func created(e *dockertest.Engine) bool {
	for _, c := range e.Calls() {
		if c == "ImageLoad" || strings.HasPrefix(c, "ContainerCreate") {
			return true
		}
	}
	return false
}

// otherArch is an architecture the agent is built for that this host is not.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// runAgentStep runs the live collector against the engine and returns the
// error recorded for agent/transfer.json and the custody actions.
func runAgentStep(t *testing.T, e *dockertest.Engine, live *LiveOptions) (string, []evidence.Action) {
	t.Helper()
	live.Run = agent.RunOptions{Proc: true}
	w, err := evidence.Create(filepath.Join(t.TempDir(), "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	r := &collect.Runner{Bundle: w}
	res := r.Run(context.Background(), []collect.Collector{pick(t, "docker.agent", Collectors(e, running(), Options{Live: live, SpoolDir: t.TempDir()}))})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	a, _ := artifact(res.Manifest, "agent/transfer.json")
	return a.Error, r.Custody.Actions
}

// TestAgentForOtherArchIsRefused: an engine of the other architecture,
// and a plugin that carries only an agent of its own (embedded, and its
// own executable): refused with the fix, before anything is created.
func TestAgentForOtherArchIsRefused(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := newAgentEngine(otherArch())
	msg, actions := runAgentStep(t, e, &LiveOptions{Agents: AgentSource{Embedded: map[string][]byte{runtime.GOARCH: []byte("agent")}, Self: self}})
	want := "the engine runs linux/" + otherArch() + " and this docker-forensic carries no agent for it (it carries: linux/" + runtime.GOARCH + "): use a release build (make dist) or build on linux/" + otherArch()
	if !strings.Contains(msg, want) {
		t.Errorf("error %q\nlacks %q", msg, want)
	}
	if created(e) || len(actions) != 0 {
		t.Errorf("something was created before the refusal: calls %v, actions %v", e.Calls(), actions)
	}
}

// TestEmbeddedAgentForEngineArch: the plugin carries agents for both
// architectures; the engine's is the one put in the image, even though it
// is not the plugin's own.
func TestEmbeddedAgentForEngineArch(t *testing.T) {
	self, _ := os.Executable()
	e := newAgentEngine(otherArch())
	embedded := map[string][]byte{runtime.GOARCH: []byte("agent for this host"), otherArch(): []byte("agent for the other arch")}
	msg, actions := runAgentStep(t, e, &LiveOptions{Agents: AgentSource{Embedded: embedded, Self: self}})
	if !strings.Contains(msg, "the test stops at the sidecar") {
		t.Fatalf("error %q, want the sidecar step reached", msg)
	}
	if len(e.Loaded()) != 1 {
		t.Fatalf("%d images loaded, want 1 (calls %v)", len(e.Loaded()), e.Calls())
	}
	img := e.ImageAt(agent.DefaultImage())
	sum := sha256.Sum256(embedded[otherArch()])
	if img.Architecture != otherArch() || img.Config.Labels[agentimage.LabelSHA256] != hex.EncodeToString(sum[:]) || img.Config.Labels[agentimage.LabelSource] != "embedded" {
		t.Errorf("loaded image: arch %s, labels %v", img.Architecture, img.Config.Labels)
	}
	files := dockertest.Untar(e.Loaded()[0])
	var legacy []struct{ Layers []string }
	json.Unmarshal(files["manifest.json"], &legacy)
	layer := dockertest.Untar(files[legacy[0].Layers[0]])
	if string(layer["forensic-agent"]) != "agent for the other arch" || len(layer) != 1 {
		t.Errorf("layer holds %v", layer)
	}
	if len(actions) != 1 || actions[0].What != "loaded agent image" || !strings.Contains(actions[0].Detail, "embedded agent linux/"+otherArch()+", sha256 "+hex.EncodeToString(sum[:])) {
		t.Errorf("custody actions %+v", actions)
	}
	if last := e.Calls()[len(e.Calls())-1]; last != "ContainerCreate "+agent.DefaultImage() {
		t.Errorf("last call %q", last)
	}
}

// TestExistingAgentImageChecked: an image under the default tag is reused
// only when it holds this plugin's agent for the engine's architecture;
// otherwise it is replaced, and custody says why.
func TestExistingAgentImageChecked(t *testing.T) {
	bin := []byte("the agent")
	a := agentimage.Static(agentimage.SourceEmbedded, runtime.GOARCH, bin)
	image := func(arch string, labels map[string]string) client.ImageInspectResult {
		return dockertest.Image("sha256:old", arch, labels)
	}
	for _, tc := range []struct {
		name     string
		existing client.ImageInspectResult
		replaced bool
	}{
		{"right agent", image(runtime.GOARCH, a.Labels()), false},
		{"wrong architecture", image(otherArch(), map[string]string{agentimage.LabelSHA256: a.SHA256, agentimage.LabelArch: otherArch()}), true},
		{"wrong agent", image(runtime.GOARCH, map[string]string{agentimage.LabelSHA256: strings.Repeat("0", 64), agentimage.LabelArch: runtime.GOARCH}), true},
		{"no labels (busybox imported under the tag)", image(runtime.GOARCH, nil), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAgentEngine(runtime.GOARCH)
			e.WithImage(agent.DefaultImage(), tc.existing)
			msg, actions := runAgentStep(t, e, &LiveOptions{Agents: AgentSource{Embedded: map[string][]byte{runtime.GOARCH: bin}}})
			if !strings.Contains(msg, "the test stops at the sidecar") {
				t.Fatalf("error %q, want the sidecar step reached", msg)
			}
			if !tc.replaced {
				if len(e.Loaded()) != 0 || len(actions) != 0 {
					t.Errorf("right image not reused: calls %v, actions %v", e.Calls(), actions)
				}
				return
			}
			if len(e.Loaded()) != 1 || e.ImageAt(agent.DefaultImage()).Config.Labels[agentimage.LabelSHA256] != a.SHA256 {
				t.Fatalf("stale image not replaced: calls %v", e.Calls())
			}
			if len(actions) != 1 || actions[0].What != "replaced agent image" || !strings.Contains(actions[0].Detail, "sha256:old") {
				t.Errorf("custody actions %+v", actions)
			}
		})
	}
}

// TestNamedAgentImage: an image named with --agent-image is refused for
// another architecture than the engine's, and used as it is otherwise.
func TestNamedAgentImage(t *testing.T) {
	for _, arch := range []string{runtime.GOARCH, otherArch()} {
		e := newAgentEngine(runtime.GOARCH)
		e.WithImage("registry.example/agent:1", dockertest.Image("sha256:mine", arch, nil))
		msg, actions := runAgentStep(t, e, &LiveOptions{Image: "registry.example/agent:1"})
		if arch == runtime.GOARCH {
			if !strings.Contains(msg, "the test stops at the sidecar") || len(e.Loaded()) != 0 || len(actions) != 0 {
				t.Errorf("named image of the right arch: error %q, calls %v, actions %v", msg, e.Calls(), actions)
			}
			continue
		}
		want := "agent image registry.example/agent:1 is for linux/" + arch + " but the engine runs linux/" + runtime.GOARCH
		if !strings.Contains(msg, want) || created(e) {
			t.Errorf("named image of the other arch: error %q (want %q), calls %v", msg, want, e.Calls())
		}
	}
}
