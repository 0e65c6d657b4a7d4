//go:build e2e

package docker_e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forensic-tools/forensic/internal/testutil"
)

// privateEngine is a dockerd of the test's own: its data root is what the
// offline commands read once it has stopped.
type privateEngine struct {
	dir, root, sock, pidfile string
	// stopFn stops the engine and waits for it.
	stopFn func()
}

// startPrivateEngine starts dockerd on its own data root, exec root,
// pidfile and socket, with no bridge and no iptables: the default engine
// is left alone.
func startPrivateEngine(t *testing.T) *privateEngine {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "fo-")
	if err != nil {
		t.Fatal(err)
	}
	e := &privateEngine{dir: dir, root: filepath.Join(dir, "root"), sock: filepath.Join(dir, "d.sock"), pidfile: filepath.Join(dir, "d.pid")}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	// dockerd runs in a network namespace of its own: with --bridge=none
	// moby deletes a docker0 it finds, and the host's docker0 belongs to
	// the default engine. Its API is a unix socket, which needs no network.
	cmd := exec.Command("unshare", "--net", "--", "dockerd", "--data-root", e.root, "--exec-root", filepath.Join(dir, "exec"), "--pidfile", e.pidfile,
		"-H", "unix://"+e.sock, "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--storage-driver=overlay2")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a private dockerd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	// The host's docker0, when there is one, must outlive the private
	// engine with the same interface index (not deleted and recreated).
	before, beforeErr := net.InterfaceByName("docker0")
	t.Cleanup(func() {
		e.stop(t, cmd.Process.Pid, done)
		os.RemoveAll(dir)
		if beforeErr != nil {
			return
		}
		after, err := net.InterfaceByName("docker0")
		if err != nil {
			t.Errorf("the host's docker0 (index %d) is gone after the private dockerd stopped: %v", before.Index, err)
		} else if after.Index != before.Index {
			t.Errorf("the host's docker0 was recreated while the private dockerd ran: index %d, was %d", after.Index, before.Index)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if out, err := exec.Command("docker", "-H", "unix://"+e.sock, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err == nil {
			t.Logf("private dockerd %s on %s", strings.TrimSpace(string(out)), e.sock)
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Fatalf("the private dockerd never answered:\n%s", log)
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.stopFn = func() { e.stop(t, cmd.Process.Pid, done) }
	return e
}

func (e *privateEngine) docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", "unix://" + e.sock}, args...)...).Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("docker %v: %v\n%s", args, err, stderr)
	}
	return string(out)
}

// dockerExit runs a docker command that must end with status code.
func (e *privateEngine) dockerExit(t *testing.T, code int, args ...string) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", "unix://" + e.sock}, args...)...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok && err != nil || ok && ee.ExitCode() != code || err == nil && code != 0 {
		t.Fatalf("docker %v: %v, want exit %d\n%s", args, err, code, out)
	}
}

// stop ends the private dockerd (SIGTERM, then waits for it to exit).
func (e *privateEngine) stop(t *testing.T, pid int, done chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-done
	}
}

func compareStates(t *testing.T, before, after map[string]string) {
	t.Helper()
	n := 0
	for p, v := range before {
		if after[p] != v {
			t.Errorf("source changed: %s\n  before %s\n  after  %s", p, v, after[p])
			n++
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("source changed: %s was created", p)
		}
	}
	if n == 0 && len(before) != len(after) {
		t.Errorf("source changed: %d entries before, %d after", len(before), len(after))
	}
}

// TestOfflineDockerRootAgainstLiveEngine is the oracle test of issue 13:
// containers on a private engine change their files and log (json-file
// and local drivers with rotation and compression, a named volume, one
// stopped while running); docker export, diff, logs and inspect are
// taken; the engine stops; then the offline export of its data root must
// give the same filesystem (paths, types, modes, owners, sizes, contents,
// link targets), the same diff and the same logs, in bundles that verify,
// and not one byte or time of the root may change.
func TestOfflineDockerRootAgainstLiveEngine(t *testing.T) {
	e := startPrivateEngine(t)
	rootfs := t.TempDir()
	for _, d := range []string{"bin", "etc/d", "tmp", "data"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyFile(busybox, filepath.Join(rootfs, "bin/busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "cat", "echo", "rm", "mkdir", "cp", "seq", "sleep", "chmod", "ln", "mv"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	os.WriteFile(filepath.Join(rootfs, "etc/motd"), []byte("welcome\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "etc/d/f"), []byte("old\n"), 0o600)
	os.Link(filepath.Join(rootfs, "etc/motd"), filepath.Join(rootfs, "etc/motd.hard"))
	imp := exec.Command("sh", "-c", "tar -C '"+rootfs+"' -c . | docker -H unix://"+e.sock+" import - offline-test/bb:1")
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	e.dockerExit(t, 3, "run", "--network", "none", "--name", "jsonlog", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--log-opt", "compress=true", "offline-test/bb:1", "sh", "-c",
		"echo new > /newfile; rm /etc/motd; rm -r /etc/d; mkdir /etc/d; echo y > /etc/d/g; chmod 4755 /etc/d/g; ln -s /etc/shadow /escape; for i in $(seq 1 60); do echo out $i; echo err $i >&2; done; exit 3")
	e.docker(t, "run", "--network", "none", "--name", "local", "--log-driver", "local", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "-v", "vol1:/data", "offline-test/bb:1", "sh", "-c",
		"echo secret > /data/x; cp /bin/busybox /tmp/dropper; mv /etc/d /etc/e; for i in $(seq 1 80); do echo local $i; done")
	// A distroless image: one static binary, no shell, no folders.
	distroless := t.TempDir()
	if err := copyFile(busybox, filepath.Join(distroless, "busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	imp = exec.Command("sh", "-c", "tar -C '"+distroless+"' -c . | docker -H unix://"+e.sock+" import - offline-test/distroless:1")
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	e.docker(t, "run", "--network", "none", "--name", "distroless", "offline-test/distroless:1", "/busybox", "sh", "-c", "/busybox echo state > /state; /busybox rm /busybox; /busybox echo gone 2>&1; echo bye")
	e.docker(t, "run", "-d", "--name", "running", "offline-test/bb:1", "sh", "-c", "echo started; echo live > /tmp/live; exec sleep 1000")
	time.Sleep(time.Second)
	e.docker(t, "stop", "-t", "1", "running")
	type oracle struct {
		id, inspect, diff, stdout, stderr string
		fs                                map[string]testutil.FSEntry
	}
	live := map[string]*oracle{}
	for _, name := range []string{"jsonlog", "local", "running", "distroless"} {
		o := &oracle{id: strings.TrimSpace(e.docker(t, "inspect", "-f", "{{.Id}}", name))}
		o.diff = e.docker(t, "diff", name)
		cmd := exec.Command("docker", "-H", "unix://"+e.sock, "logs", "-t", name)
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		o.stdout, o.stderr = so.String(), se.String()
		exp := exec.Command("docker", "-H", "unix://"+e.sock, "export", name)
		pipe, _ := exp.StdoutPipe()
		exp.Start()
		o.fs = testutil.ReadTar(t, pipe)
		if err := exp.Wait(); err != nil {
			t.Fatalf("docker export %s: %v", name, err)
		}
		live[name] = o
	}
	e.stopFn()

	before := testutil.TreeState(t, e.root)
	work := t.TempDir()

	ls := forensic(t, work, "offline", "ls", "--root", e.root, "-o", "json")
	if ls.code != 0 {
		t.Fatalf("offline ls: exit %d", ls.code)
	}
	var listing struct {
		Kind       string
		Containers []struct {
			ID, Name, Image, State string
			ExitCode               *int `json:"exit_code"`
		}
		Volumes []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(ls.stdout), &listing); err != nil {
		t.Fatalf("offline ls -o json: %v", err)
	}
	if listing.Kind != "docker" || len(listing.Containers) != 4 || len(listing.Volumes) != 1 || listing.Volumes[0].Name != "vol1" {
		t.Fatalf("offline ls: %+v", listing)
	}
	for _, c := range listing.Containers {
		if c.ID != live[c.Name].id || c.Image != map[bool]string{true: "offline-test/distroless:1", false: "offline-test/bb:1"}[c.Name == "distroless"] || c.State != "exited" || c.ExitCode == nil {
			t.Errorf("offline ls: container %+v", c)
		}
		if want := map[string]int{"jsonlog": 3, "local": 0, "running": 137, "distroless": 0}[c.Name]; c.ExitCode != nil && *c.ExitCode != want && !(c.Name == "running" && *c.ExitCode == 143) {
			t.Errorf("offline ls: %s exit code %d, want %d", c.Name, *c.ExitCode, want)
		}
	}

	out := filepath.Join(work, "bundles")
	os.Mkdir(out, 0o755)
	ex := forensic(t, work, "offline", "export", "--root", e.root, "--all", "--volumes", "--output-dir", out)
	if ex.code != 0 {
		t.Fatalf("offline export --all: exit %d", ex.code)
	}
	bundles := strings.Fields(ex.stdout)
	if len(bundles) != 4 {
		t.Fatalf("offline export --all printed %d bundles, want 4", len(bundles))
	}
	offlineFS := map[string]map[string]testutil.FSEntry{}
	for _, b := range bundles {
		if v := forensic(t, work, "verify", b); v.code != 0 {
			t.Errorf("verify %s: exit %d", b, v.code)
		}
		root := extract(t, b)
		if sums, err := exec.Command("sh", "-c", "cd '"+root+"' && sha256sum -c --quiet SHA256SUMS").CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c in %s: %v\n%s", root, err, sums)
		}
		name := strings.SplitN(filepath.Base(b), "-", 2)[0]
		o := live[name]
		if o == nil {
			t.Fatalf("bundle %s names no container of the test", b)
		}
		f, err := os.Open(filepath.Join(root, "container/filesystem.tar"))
		if err != nil {
			t.Fatal(err)
		}
		got := testutil.ReadTar(t, f)
		f.Close()
		offlineFS[name] = got
		if tl, err := exec.Command("tar", "-tf", filepath.Join(root, "container/filesystem.tar")).CombinedOutput(); err != nil || !strings.Contains(string(tl), "etc/hosts") {
			t.Errorf("tar -tf of the offline filesystem: %v\n%s", err, tl)
		}
		for p, want := range o.fs {
			if g, ok := got[p]; !ok {
				t.Errorf("%s: %s is in docker export but not in the offline filesystem", name, p)
			} else if g != want {
				t.Errorf("%s: %s differs:\n  docker export %+v\n  offline       %+v", name, p, want, g)
			}
		}
		for p := range got {
			if _, ok := o.fs[p]; !ok {
				t.Errorf("%s: %s is in the offline filesystem but not in docker export", name, p)
			}
		}
		diff, _ := os.ReadFile(filepath.Join(root, "container/diff.txt"))
		if sortLines(string(diff)) != sortLines(o.diff) {
			t.Errorf("%s: diff differs:\n docker diff:\n%s\n offline:\n%s", name, o.diff, diff)
		}
		stdout, _ := os.ReadFile(filepath.Join(root, "logs/stdout.log"))
		stderr, _ := os.ReadFile(filepath.Join(root, "logs/stderr.log"))
		if string(stdout) != o.stdout || string(stderr) != o.stderr {
			t.Errorf("%s: logs differ from docker logs -t:\n stdout live %d bytes, offline %d\n stderr live %d bytes, offline %d", name, len(o.stdout), len(stdout), len(o.stderr), len(stderr))
		}
		var cu struct {
			Target struct{ ID string }
			Engine struct {
				Kind, Host string
				Extra      map[string]string
			}
		}
		cb, _ := os.ReadFile(filepath.Join(root, "custody.json"))
		json.Unmarshal(cb, &cu)
		if cu.Target.ID != o.id || cu.Engine.Kind != "docker-offline-root" || cu.Engine.Host != e.root || cu.Engine.Extra["filesystem"] == "" {
			t.Errorf("%s: custody.json target %+v engine %+v", name, cu.Target, cu.Engine)
		}
		switch name {
		case "jsonlog":
			files, _ := filepath.Glob(filepath.Join(root, "logs/files/*-json.log*.gz"))
			if len(files) == 0 {
				t.Errorf("jsonlog: no rotated compressed log file in the bundle")
			}
			var d struct {
				Added []struct {
					Path       string
					LinkTarget string `json:"link_target"`
				}
			}
			db, _ := os.ReadFile(filepath.Join(root, "container/drift.json"))
			json.Unmarshal(db, &d)
			found := false
			for _, a := range d.Added {
				found = found || (a.Path == "/escape" && a.LinkTarget == "/etc/shadow")
			}
			if !found {
				t.Errorf("jsonlog: drift.json lacks the added link /escape -> /etc/shadow: %s", db)
			}
		case "local":
			files, _ := filepath.Glob(filepath.Join(root, "logs/files/local-logs/container.log.*.gz"))
			if len(files) == 0 {
				t.Errorf("local: no rotated compressed local log file in the bundle")
			}
			db, _ := os.ReadFile(filepath.Join(root, "container/drift.json"))
			if !strings.Contains(string(db), `"new_executables": [`) || !strings.Contains(string(db), "/tmp/dropper") {
				t.Errorf("local: drift.json does not name /tmp/dropper as a new executable: %s", db)
			}
			// analyze reads an offline bundle like a live one.
			an := forensic(t, work, "analyze", b)
			if an.code != 0 || !strings.Contains(an.stdout, "exec-in-tmp") || !strings.Contains(an.stdout, "/tmp/dropper") {
				t.Errorf("local: analyze of the offline bundle: exit %d, want 0 and the exec-in-tmp finding for /tmp/dropper", an.code)
			}
			vt, err := exec.Command("tar", "-xOf", filepath.Join(root, "volumes/vol1.tar"), "x").CombinedOutput()
			if err != nil || string(vt) != "secret\n" {
				t.Errorf("local: volumes/vol1.tar x = %q, %v", vt, err)
			}
		}
	}
	compareStates(t, before, testutil.TreeState(t, e.root))

	t.Run("loop-mounted read-only image", func(t *testing.T) {
		img := filepath.Join(e.dir, "root.ext4")
		if out, err := exec.Command("mkfs.ext4", "-q", "-d", e.root, img, "512M").CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ext4 -d: %v\n%s", err, out)
		}
		mnt := filepath.Join(e.dir, "mnt")
		os.Mkdir(mnt, 0o755)
		if out, err := exec.Command("mount", "-o", "loop,ro", img, mnt).CombinedOutput(); err != nil {
			t.Fatalf("mount -o loop,ro: %v\n%s", err, out)
		}
		defer exec.Command("umount", mnt).Run()
		out := t.TempDir()
		ex := forensic(t, work, "offline", "export", "--root", mnt, "--all", "--output-dir", out)
		if ex.code != 0 {
			t.Fatalf("offline export from the read-only image: exit %d", ex.code)
		}
		for _, b := range strings.Fields(ex.stdout) {
			root := extract(t, b)
			name := strings.SplitN(filepath.Base(b), "-", 2)[0]
			f, err := os.Open(filepath.Join(root, "container/filesystem.tar"))
			if err != nil {
				t.Fatal(err)
			}
			got := testutil.ReadTar(t, f)
			f.Close()
			if fmt.Sprint(got) != fmt.Sprint(offlineFS[name]) || len(got) == 0 {
				t.Errorf("%s: the filesystem from the read-only image differs from the one from the root itself", name)
			}
			var cu struct {
				Engine struct{ Extra map[string]string }
			}
			cb, _ := os.ReadFile(filepath.Join(root, "custody.json"))
			json.Unmarshal(cb, &cu)
			if cu.Engine.Extra["filesystem"] != "ext4" || !strings.HasPrefix(cu.Engine.Extra["mount_options"], "ro") {
				t.Errorf("%s: custody.json does not record the read-only ext4 image: %v", name, cu.Engine.Extra)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		copyRoot := filepath.Join(e.dir, "copy")
		if out, err := exec.Command("cp", "-a", e.root, copyRoot).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v\n%s", err, out)
		}
		// A folder that is neither kind of root.
		r := forensic(t, work, "offline", "ls", "--root", t.TempDir())
		if r.code != 1 || !strings.Contains(r.stderr, "neither a Docker data root") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("a root that is neither: exit %d, want 1 and one line naming both kinds", r.code)
		}
		// An ID prefix that matches two containers.
		id := live["jsonlog"].id
		twin := id[:6] + strings.Repeat("e", len(id)-6)
		if out, err := exec.Command("cp", "-a", filepath.Join(copyRoot, "containers", id), filepath.Join(copyRoot, "containers", twin)).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		r = forensic(t, work, "offline", "export", "--root", copyRoot, "--output-dir", t.TempDir(), id[:6])
		if r.code != 1 || !strings.Contains(r.stderr, "matches 2 containers") {
			t.Errorf("an ambiguous ID prefix: exit %d, want 1 and \"matches 2 containers\"", r.code)
		}
		r = forensic(t, work, "offline", "export", "--root", copyRoot, "--output-dir", t.TempDir(), "jsonlog")
		if r.code != 1 || !strings.Contains(r.stderr, `name "jsonlog" matches 2 containers`) {
			t.Errorf("a name two containers carry: exit %d, want 1 and both named", r.code)
		}
		os.RemoveAll(filepath.Join(copyRoot, "containers", twin))
		// A corrupt config.v2.json: listed as a problem, the rest listed.
		os.WriteFile(filepath.Join(copyRoot, "containers", live["running"].id, "config.v2.json"), []byte(`{"ID": "trunc`), 0o600)
		r = forensic(t, work, "offline", "ls", "--root", copyRoot, "-o", "json")
		var l struct{ Containers []struct{ ID, Name string } }
		json.Unmarshal([]byte(r.stdout), &l)
		if r.code != 0 || !strings.Contains(r.stderr, "config.v2.json") || len(l.Containers) != 4 {
			t.Errorf("a corrupt config.v2.json: exit %d, %d containers listed, want 0, the problem on stderr and all 4 listed", r.code, len(l.Containers))
		}
		// A hostile upper layer: a link that climbs out of the root, a
		// name with a newline.
		mount, _ := os.ReadFile(filepath.Join(copyRoot, "image/overlay2/layerdb/mounts", live["local"].id, "mount-id"))
		upper := filepath.Join(copyRoot, "overlay2", strings.TrimSpace(string(mount)), "diff")
		os.Symlink("../../../../../../../../etc", filepath.Join(upper, "up"))
		os.WriteFile(filepath.Join(upper, "new\nline"), []byte("x"), 0o644)
		// A layer missing from jsonlog's chain; a truncated log of local.
		lower, _ := os.ReadFile(filepath.Join(copyRoot, "overlay2", strings.TrimSpace(string(mustRead(t, filepath.Join(copyRoot, "image/overlay2/layerdb/mounts", id, "mount-id")))), "lower"))
		short := strings.Split(strings.TrimSpace(string(lower)), ":")
		base := filepath.Join(copyRoot, "overlay2", short[len(short)-1])
		target, err := os.Readlink(base)
		if err != nil {
			t.Fatal(err)
		}
		imageLayer := filepath.Base(filepath.Dir(target))
		if err := os.RemoveAll(filepath.Join(copyRoot, "overlay2", imageLayer)); err != nil {
			t.Fatal(err)
		}
		logf := filepath.Join(copyRoot, "containers", live["local"].id, "local-logs", "container.log")
		st, _ := os.Stat(logf)
		os.Truncate(logf, st.Size()-3)
		out := t.TempDir()
		r = forensic(t, work, "offline", "export", "--root", copyRoot, "--output-dir", out, "jsonlog", "local")
		if r.code != 2 {
			t.Fatalf("a missing layer and a truncated log: exit %d, want 2", r.code)
		}
		for _, b := range strings.Fields(r.stdout) {
			root := extract(t, b)
			var m struct {
				Complete  bool
				Artifacts []struct {
					Path    string
					Partial bool
					Error   string
				}
			}
			mb, _ := os.ReadFile(filepath.Join(root, "manifest.json"))
			json.Unmarshal(mb, &m)
			art := map[string]string{}
			partial := map[string]bool{}
			for _, a := range m.Artifacts {
				art[a.Path], partial[a.Path] = a.Error, a.Partial
			}
			switch strings.SplitN(filepath.Base(b), "-", 2)[0] {
			case "jsonlog":
				if m.Complete || !partial["container/filesystem.tar"] || !strings.Contains(art["container/filesystem.tar"], imageLayer) {
					t.Errorf("jsonlog: the filesystem is not marked partial naming the missing layer %s: %q", imageLayer, art["container/filesystem.tar"])
				}
				if _, ok := art["logs/stdout.log"]; !ok || partial["logs/stdout.log"] {
					t.Errorf("jsonlog: the logs were not exported in full beside the missing layer")
				}
				fsTar := testutil.ReadTar(t, mustOpen(t, filepath.Join(root, "container/filesystem.tar")))
				if _, ok := fsTar["newfile"]; !ok {
					t.Errorf("jsonlog: the writable layer's files are missing beside the missing image layer")
				}
			case "local":
				if m.Complete || !partial["logs/stdout.log"] || !strings.Contains(art["logs/stdout.log"], "truncated") {
					t.Errorf("local: the truncated log is not marked partial: %q", art["logs/stdout.log"])
				}
				stdout, _ := os.ReadFile(filepath.Join(root, "logs/stdout.log"))
				if want := live["local"].stdout; !strings.HasPrefix(want, string(stdout)) || len(stdout) == 0 || len(stdout) >= len(want) {
					t.Errorf("local: the truncated log's readable lines are not all kept (%d of %d bytes)", len(stdout), len(want))
				}
				fsTar := testutil.ReadTar(t, mustOpen(t, filepath.Join(root, "container/filesystem.tar")))
				for p, ent := range fsTar {
					if strings.HasPrefix(p, "up/") {
						t.Errorf("local: the link up -> ../../.. was followed: %s", p)
					}
					if p == "up" && (ent.Type != tar.TypeSymlink || ent.Link != "../../../../../../../../etc") {
						t.Errorf("local: up is %+v, want the link as stored", ent)
					}
				}
				if _, ok := fsTar["new\nline"]; !ok {
					t.Errorf("local: the file named with a newline is missing")
				}
			}
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustOpen(t *testing.T, p string) io.Reader {
	t.Helper()
	b := mustRead(t, p)
	return strings.NewReader(string(b))
}

func sortLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
