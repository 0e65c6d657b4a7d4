package docker

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/agentimage"
	"github.com/forensic-tools/forensic/shared/agent/agentrun"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/docker/dockertest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// sidecarAgent plays the agent on the engine's end of the sidecar's
// attach, framing its stdout and stderr as the engine does: it waits for
// the start byte and streams a process snapshot.
func sidecarAgent(conn net.Conn, exit chan<- container.WaitResponse) {
	defer conn.Close()
	frame := func(fd byte, b []byte) {
		conn.Write(dockertest.Frame(fd, string(b)))
	}
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		return
	}
	pr, pw := io.Pipe()
	go func() {
		w, _ := stream.NewWriter(pw)
		a, _ := w.Open(agent.ArtifactProcSnapshot, nil)
		a.Write([]byte(`{"processes":[{"pid":1}]}`))
		a.Finish(nil, nil)
		w.Close()
		pw.Close()
		exit <- container.WaitResponse{StatusCode: 0}
	}()
	buf := make([]byte, 4096)
	for {
		n, err := pr.Read(buf)
		if n > 0 {
			frame(1, buf[:n])
		}
		if err != nil {
			break
		}
	}
	frame(2, []byte("fake-agent: done\n"))
}

// TestSidecarSession: the Docker live capture goes through agentrun.Run:
// the artifact lands, agent/transfer.json has exactly agentrun.Transfer's
// keys (those of the Kubernetes one too) with the sidecar and the agent
// filled in, the sidecar is removed and custody records it.
func TestSidecarSession(t *testing.T) {
	bin := []byte("the agent")
	a := agentimage.Static(agentimage.SourceEmbedded, runtime.GOARCH, bin)
	e := dockertest.NewEngine().WithArch(runtime.GOARCH).WithSidecar("sidecar-id", sidecarAgent).
		WithImage(agent.DefaultImage(), dockertest.Image("sha256:img", runtime.GOARCH, a.Labels()))
	live := &LiveOptions{Run: agent.RunOptions{Proc: true}, Agents: AgentSource{Embedded: map[string][]byte{runtime.GOARCH: bin}}}
	w, err := evidence.Create(filepath.Join(t.TempDir(), "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
	if err != nil {
		t.Fatal(err)
	}
	r := &collect.Runner{Bundle: w}
	res := r.Run(context.Background(), []collect.Collector{pick(t, "docker.agent", Collectors(e, running(), Options{Live: live, SpoolDir: t.TempDir()}))})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !res.Manifest.Complete {
		t.Fatalf("incomplete: %q", res.Manifest.Incomplete)
	}
	b, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	files := dockertest.Untar(b)
	if got := string(files["b/"+agent.ArtifactProcSnapshot]); got != `{"processes":[{"pid":1}]}` {
		t.Errorf("snapshot %q", got)
	}
	raw := files["b/"+agentrun.TransferPath]
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatalf("transfer.json: %v\n%s", err, raw)
	}
	eb, _ := json.Marshal(agentrun.Transfer{})
	var want map[string]json.RawMessage
	json.Unmarshal(eb, &want)
	if got, want := slices.Sorted(maps.Keys(keys)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, want) {
		t.Errorf("transfer.json keys %q, want agentrun.Transfer's %q", got, want)
	}
	var tr struct {
		agentrun.Transfer
		Sidecar SidecarRecord `json:"sidecar"`
		Agent   agentRecord   `json:"agent"`
	}
	json.Unmarshal(raw, &tr)
	if tr.Launcher != agentrun.LauncherDockerSidecar || tr.Sidecar.ID != "sidecar-id" || tr.Sidecar.Network != "container:"+running().ID() ||
		tr.Agent.SHA256 != a.SHA256 || tr.AgentExit == nil || *tr.AgentExit != 0 || len(tr.Problems) != 0 || tr.Stream == nil || !tr.Stream.Ended ||
		tr.Transport != "docker-attach" || string(keys["ephemeral_container"]) != "null" || !strings.Contains(tr.AgentStderr, "fake-agent: done") {
		t.Errorf("transfer.json:\n%s", raw)
	}
	if !slices.Equal(e.Removed(), []string{"sidecar-id"}) {
		t.Errorf("removed %q", e.Removed())
	}
	if acts := r.Custody.Actions; len(acts) != 1 || acts[0].What != "added sidecar container" || acts[0].Until.Before(acts[0].At) || acts[0].Error != "" {
		t.Errorf("custody actions %+v", acts)
	}
}
