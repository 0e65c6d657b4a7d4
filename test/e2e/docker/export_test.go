//go:build e2e

package docker_e2e

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPluginIsListed(t *testing.T) {
	clis := []string{"docker"}
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		clis = append(clis, "/usr/bin/docker") // Debian's CLI beside a newer one
	}
	for _, cli := range clis {
		r := run(t, t.TempDir(), nil, cli, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "forensic") {
			t.Errorf("%s --help does not list the forensic plugin:\n%s", cli, r.stdout)
		}
		v := run(t, t.TempDir(), nil, cli, "forensic", "version")
		if v.code != 0 || !strings.Contains(v.stdout, testVersion) {
			t.Errorf("%s forensic version: exit %d, output %q, want %s", cli, v.code, v.stdout, testVersion)
		}
	}
	meta := run(t, t.TempDir(), nil, pluginBinary, "docker-cli-plugin-metadata")
	if !strings.Contains(meta.stdout, `"Version": "`+testVersion+`"`) || !strings.Contains(meta.stdout, `"SchemaVersion": "0.1.0"`) {
		t.Errorf("plugin metadata: %s", meta.stdout)
	}
}

// TestExportFullImage collects a running busybox container that wrote to
// stdout and stderr and changed its filesystem, and checks every artifact.
func TestExportFullImage(t *testing.T) {
	name := startContainer(t, busyboxImage, "sh", "-c",
		"echo to-stdout; echo to-stderr >&2; mkdir -p /data; echo secret-value > /data/planted.txt; rm /bin/id; echo ready; exec sleep 100000")
	waitLog(t, name, "ready")
	id := mustDocker(t, "inspect", "-f", "{{.Id}}", name)
	imageID := mustDocker(t, "inspect", "-f", "{{.Image}}", name)
	dir := t.TempDir()
	r := forensic(t, dir, "export", "--case", "IR-7", "--examiner", "E2E Examiner", name)
	if r.code != 0 {
		t.Fatalf("export exit %d, want 0", r.code)
	}
	bundle := singleBundle(t, dir)
	if base := filepath.Base(bundle); !strings.HasPrefix(base, name+"-") || !strings.HasSuffix(base, "Z.tar.gz") {
		t.Errorf("default bundle name %s, want %s-<UTC time>.tar.gz", base, name)
	}
	if strings.TrimSpace(r.stdout) != bundle[len(dir)+1:] {
		t.Errorf("stdout %q, want the bundle path", r.stdout)
	}
	if st, _ := os.Stat(bundle); st.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode %v, want 0600", st.Mode().Perm())
	}
	root := extract(t, bundle)
	sha256sumCheck(t, root)
	for _, want := range []string{"container/inspect.json", "container/top.json", "container/stats.json", "logs/stdout.log", "logs/stderr.log",
		"container/diff.json", "container/diff.txt", "container/filesystem.tar", "image/inspect.json", "image/history.json",
		"networks/bridge.json", "engine/info.json", "engine/version.json", "manifest.json", "custody.json", "collection.log", "SHA256SUMS"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("bundle lacks %s", want)
		}
	}
	manifest := filepath.Join(root, "manifest.json")
	if got := jq(t, manifest, ".complete"); got != "true" {
		t.Errorf("manifest complete = %s", got)
	}
	if got := jq(t, manifest, `[.artifacts[] | select(.sha256 == null or .error != null)] | length`); got != "0" {
		t.Errorf("%s artifacts without hash or with an error", got)
	}
	if got := jq(t, manifest, `[.artifacts[] | select((.started|test("Z$")|not) or (.ended|test("Z$")|not))] | length`); got != "0" {
		t.Errorf("%s artifacts with times not in UTC", got)
	}
	custody := filepath.Join(root, "custody.json")
	for filter, want := range map[string]string{
		".target.id": id, ".target.name": name, ".target.image": busyboxImage, ".target.image_id": imageID,
		".case": "IR-7", ".examiner": "E2E Examiner", ".tool.name": "docker-forensic", ".tool.version": testVersion,
		".engine.kind": "docker", ".engine.host": engine.Host,
		`.command_line | index("export") > 0`: "true", `.started | test("Z$")`: "true", `.ended | test("Z$")`: "true",
		".actions | length": "0",
	} {
		if got := jq(t, custody, filter); got != want {
			t.Errorf("custody %s = %q, want %q", filter, got, want)
		}
	}
	// The plugin's client negotiates the API version down to the engine's:
	// 1.41 on Docker 20.10, 1.51 on Docker 28.5.
	if got := jq(t, custody, ".engine.version + \" \" + .engine.api_version"); got != engine.Version+" "+engine.APIVersion {
		t.Errorf("custody engine version and API %q, want %q (engine %s)", got, engine.Version+" "+engine.APIVersion, engine)
	}
	inspectID := jq(t, filepath.Join(root, "container/inspect.json"), ".Id")
	if inspectID != id {
		t.Errorf("inspect.json Id %s, want %s", inspectID, id)
	}
	stdout, _ := os.ReadFile(filepath.Join(root, "logs/stdout.log"))
	stderr, _ := os.ReadFile(filepath.Join(root, "logs/stderr.log"))
	if !strings.Contains(string(stdout), "Z to-stdout") || strings.Contains(string(stdout), "to-stderr") {
		t.Errorf("stdout.log should hold the timestamped stdout line only:\n%s", stdout)
	}
	if !strings.Contains(string(stderr), "Z to-stderr") || strings.Contains(string(stderr), "to-stdout") {
		t.Errorf("stderr.log should hold the timestamped stderr line only:\n%s", stderr)
	}
	diff, _ := os.ReadFile(filepath.Join(root, "container/diff.txt"))
	for _, want := range []string{"A /data/planted.txt", "D /bin/id"} {
		if !strings.Contains(string(diff), want) {
			t.Errorf("diff.txt lacks %q:\n%s", want, diff)
		}
	}
	// diff.txt holds what docker diff prints, sorted by path on either
	// engine (docker diff prints the engine's order, which the containerd
	// image store changes on every call).
	want := strings.Split(mustDocker(t, "diff", name), "\n")
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(a[2:], b[2:]) })
	if got := strings.TrimSpace(string(diff)); got != strings.Join(want, "\n") {
		t.Errorf("diff.txt:\n%s\nwant what docker diff prints, sorted by path:\n%s", got, strings.Join(want, "\n"))
	}
	if got := jq(t, filepath.Join(root, "container/diff.json"), `[.[] | select(.path == "/bin/id")][0].kind`); got != "deleted" {
		t.Errorf("diff.json kind of /bin/id = %q, want deleted", got)
	}
	if got := jq(t, filepath.Join(root, "container/top.json"), `[.processes[] | select(.[-1] | test("sleep 100000"))] | length`); got != "1" {
		t.Errorf("top.json does not list the container's sleep process once: %s", got)
	}
	fs := filepath.Join(root, "container/filesystem.tar")
	if !contains(tarList(t, fs), "data/planted.txt") {
		t.Error("filesystem.tar lacks data/planted.txt")
	}
	out, err := exec.Command("tar", "-xOf", fs, "data/planted.txt").Output()
	if err != nil || string(out) != "secret-value\n" {
		t.Errorf("data/planted.txt in filesystem.tar = %q, %v", out, err)
	}
	// The export stream is stored byte for byte: a second docker export
	// of the unchanged container gives the same bytes.
	again := filepath.Join(t.TempDir(), "again.tar")
	mustDocker(t, "export", "-o", again, name)
	if a, b := sha256File(t, again), sha256File(t, fs); a != b {
		t.Errorf("filesystem.tar sha256 %s differs from docker export's %s", b, a)
	}
	v := forensic(t, dir, "verify", bundle)
	if v.code != 0 || !strings.Contains(v.stdout, "intact and complete") {
		t.Errorf("verify: exit %d\n%s", v.code, v.stdout)
	}
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

// TestExportDistroless collects a container whose image is one static
// binary: no shell, no ps, nothing to exec.
func TestExportDistroless(t *testing.T) {
	name := startContainer(t, webImage)
	waitLog(t, name, "webserver starting")
	pid := mustDocker(t, "inspect", "-f", "{{.State.Pid}}", name)
	// Traffic from inside the container's own network namespace.
	if out, err := exec.Command("nsenter", "-t", pid, "-n", "busybox", "wget", "-qO-", "http://127.0.0.1:8080/distroless-probe").CombinedOutput(); err != nil {
		t.Fatalf("request to the webserver: %v\n%s", err, out)
	}
	waitLog(t, name, "/distroless-probe")
	dir := t.TempDir()
	if r := forensic(t, dir, "export", "-o", "web.tar.gz", name); r.code != 0 {
		t.Fatalf("export exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "web.tar.gz"))
	sha256sumCheck(t, root)
	if got := jq(t, filepath.Join(root, "manifest.json"), ".complete"); got != "true" {
		t.Errorf("manifest complete = %s", got)
	}
	files := tarList(t, filepath.Join(root, "container/filesystem.tar"))
	if !contains(files, "webserver") || !contains(files, "tmp/planted.txt") {
		t.Errorf("filesystem.tar lacks the binary or the planted file: %v", files)
	}
	logs, _ := os.ReadFile(filepath.Join(root, "logs/stdout.log"))
	if !strings.Contains(string(logs), "GET /distroless-probe") {
		t.Errorf("stdout.log lacks the request:\n%s", logs)
	}
	if got := jq(t, filepath.Join(root, "container/top.json"), `[.processes[] | select(.[-1] == "/webserver")] | length`); got != "1" {
		t.Errorf("top.json does not list /webserver: %s", got)
	}
}

func TestExportStoppedContainer(t *testing.T) {
	name := startContainer(t, busyboxImage, "sh", "-c", "echo last words; exit 4")
	mustDocker(t, "wait", name)
	dir := t.TempDir()
	if r := forensic(t, dir, "export", "-o", "stopped.tar.gz", name); r.code != 0 {
		t.Fatalf("export of a stopped container: exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "stopped.tar.gz"))
	sha256sumCheck(t, root)
	if _, err := os.Stat(filepath.Join(root, "container/top.json")); err == nil {
		t.Error("a stopped container has no processes, but top.json was written")
	}
	if got := jq(t, filepath.Join(root, "container/inspect.json"), ".State.ExitCode"); got != "4" {
		t.Errorf("inspect ExitCode = %s", got)
	}
	logs, _ := os.ReadFile(filepath.Join(root, "logs/stdout.log"))
	if !strings.Contains(string(logs), "last words") {
		t.Errorf("stdout.log = %q", logs)
	}
	if got := jq(t, filepath.Join(root, "custody.json"), ".target.state"); got != "exited" {
		t.Errorf("custody target state = %s", got)
	}
}

// TestFormats writes each format and reads it back with the tools
// responders use.
func TestFormats(t *testing.T) {
	name := startContainer(t, busyboxImage, "sh", "-c", "echo fmt; exec sleep 100000")
	waitLog(t, name, "fmt")
	dir := t.TempDir()
	for _, out := range []string{"b.tgz", "b.tar.zst", "b.tar", "b.zip"} {
		if r := forensic(t, dir, "export", "-q", "-o", out, name); r.code != 0 || r.stderr != "" {
			t.Fatalf("export -q -o %s: exit %d, stderr %q", out, r.code, r.stderr)
		}
		if v := forensic(t, dir, "verify", out); v.code != 0 {
			t.Errorf("verify %s: exit %d", out, v.code)
		}
	}
	sha256sumCheck(t, extract(t, filepath.Join(dir, "b.tar.zst")))
	sha256sumCheck(t, extract(t, filepath.Join(dir, "b.tar")))
	sha256sumCheck(t, extract(t, filepath.Join(dir, "b.tgz")))
	if out, err := exec.Command("gzip", "-t", filepath.Join(dir, "b.tgz")).CombinedOutput(); err != nil {
		t.Errorf("gzip -t: %v %s", err, out)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "b.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	found := false
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/container/filesystem.tar") {
			rc, _ := f.Open()
			n, err := io.Copy(io.Discard, rc) // checks the CRC too
			rc.Close()
			found = err == nil && n > 0
		}
	}
	if !found {
		t.Error("zip bundle lacks a readable container/filesystem.tar")
	}
	// Info-ZIP's unzip, independent of Go's reader: every entry's CRC, then
	// the extracted files against SHA256SUMS.
	if _, err := exec.LookPath("unzip"); err != nil {
		t.Fatalf("unzip is needed to read the zip bundle (Debian package unzip): %v", err)
	}
	if out, err := exec.Command("unzip", "-t", filepath.Join(dir, "b.zip")).CombinedOutput(); err != nil || !strings.Contains(string(out), "No errors detected in compressed data") {
		t.Errorf("unzip -t: %v\n%s", err, out)
	}
	unzipped := t.TempDir()
	if out, err := exec.Command("unzip", "-q", filepath.Join(dir, "b.zip"), "-d", unzipped).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
	if entries := listDir(t, unzipped); len(entries) != 1 {
		t.Errorf("zip bundle should hold exactly one root folder, found %v", entries)
	} else {
		sha256sumCheck(t, filepath.Join(unzipped, entries[0]))
	}
	// Standard output, with the format from --format, piped to a file.
	pipe := filepath.Join(dir, "piped.bundle")
	cmd := exec.Command("sh", "-c", "docker forensic export -q -o - --format tar.zst "+name+" > "+pipe)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export -o -: %v %s", err, out)
	}
	if v := forensic(t, dir, "verify", pipe); v.code != 0 || !strings.Contains(v.stdout, ".tar.zst") {
		t.Errorf("verify of piped bundle: exit %d\n%s", v.code, v.stdout)
	}
}

func TestSeveralContainers(t *testing.T) {
	a := startContainer(t, busyboxImage, "sh", "-c", "echo a; exec sleep 100000")
	b := startContainer(t, webImage)
	waitLog(t, a, "a")
	dir := t.TempDir()
	out := filepath.Join(dir, "bundles")
	os.Mkdir(out, 0o700)
	r := forensic(t, dir, "export", "--output-dir", out, a, b)
	if r.code != 0 {
		t.Fatalf("export of two containers: exit %d", r.code)
	}
	names := listDir(t, out)
	if len(names) != 2 {
		t.Fatalf("want two bundles, got %v", names)
	}
	for _, n := range names {
		if v := forensic(t, dir, "verify", filepath.Join(out, n)); v.code != 0 {
			t.Errorf("verify %s: exit %d", n, v.code)
		}
	}
	// One unknown among known ones: the others are still collected, exit 2.
	out2 := filepath.Join(dir, "bundles2")
	os.Mkdir(out2, 0o700)
	r = forensic(t, dir, "export", "--output-dir", out2, a, "no-such-container-e2e", b)
	if r.code != 2 || len(listDir(t, out2)) != 2 || !strings.Contains(r.stderr, "no-such-container-e2e") {
		t.Errorf("mixed known/unknown: exit %d, bundles %v, stderr %q", r.code, listDir(t, out2), r.stderr)
	}
}

func TestSaveImage(t *testing.T) {
	name := startContainer(t, webImage)
	dir := t.TempDir()
	if r := forensic(t, dir, "export", "--image", "-o", "img.tar.gz", name); r.code != 0 {
		t.Fatalf("export --image: exit %d", r.code)
	}
	root := extract(t, filepath.Join(dir, "img.tar.gz"))
	sha256sumCheck(t, root)
	files := tarList(t, filepath.Join(root, "image/image.tar"))
	if !contains(files, "manifest.json") {
		t.Errorf("image.tar is not a docker save archive: %v", files)
	}
	// The containerd image store saves the OCI layout (index.json,
	// oci-layout) beside manifest.json; Docker 20.10 the legacy layout only.
	if contains(files, "index.json") != engine.ContainerdStore || contains(files, "oci-layout") != engine.ContainerdStore {
		t.Errorf("engine %s: image.tar has index.json %v, oci-layout %v; want both %v: %v",
			engine, contains(files, "index.json"), contains(files, "oci-layout"), engine.ContainerdStore, files)
	}
}

// TestPause pauses during the export, unpauses afterwards and says so.
func TestPause(t *testing.T) {
	name := startContainer(t, busyboxImage, "sh", "-c", "echo p; exec sleep 100000")
	waitLog(t, name, "p")
	events := startEvents(t, name)
	dir := t.TempDir()
	if r := forensic(t, dir, "export", "--pause", "-o", "p.tar.gz", name); r.code != 0 {
		t.Fatalf("export --pause: exit %d", r.code)
	}
	if got := mustDocker(t, "inspect", "-f", "{{.State.Status}}", name); got != "running" {
		t.Errorf("container left %s, want running", got)
	}
	root := extract(t, filepath.Join(dir, "p.tar.gz"))
	custody := filepath.Join(root, "custody.json")
	if got := jq(t, custody, `.actions[0].what`); got != "paused container" {
		t.Errorf("custody action = %q", got)
	}
	if got := jq(t, custody, `.actions[0] | (.at < .until)`); got != "true" {
		t.Errorf("pause action times not ordered: %s", got)
	}
	// The engine's own record: one pause, then one unpause, and the
	// filesystem export between them.
	seen := events.since(t)
	var states []string
	for _, a := range seen {
		if a == "pause" || a == "unpause" || a == "export" {
			states = append(states, a)
		}
	}
	if !slices.Equal(states, []string{"pause", "export", "unpause"}) {
		t.Errorf("engine events %q, want pause, export, unpause in that order", seen)
	}
}

// engineCheckpointError runs docker checkpoint create on a throwaway
// container started with args, which must fail on this engine, and returns
// the engine's error with the container's name replaced by CONTAINER: the
// reason the plugin must pass on.
func engineCheckpointError(t *testing.T, args ...string) string {
	t.Helper()
	probe := startContainer(t, args...)
	time.Sleep(time.Second)
	dir := t.TempDir()
	out, err := exec.Command("docker", "checkpoint", "create", "--leave-running", "--checkpoint-dir", dir, probe, "oracle").CombinedOutput()
	if err == nil {
		t.Fatalf("the engine %s checkpointed a container of %v, which must fail here", engine, args)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("docker checkpoint create: %v", err)
	}
	return strings.TrimSpace(strings.ReplaceAll(string(out), probe, "CONTAINER"))
}

// engineCause is the part of the engine's checkpoint error that does not
// depend on the container or the run: what follows "Cannot checkpoint
// container NAME: ", up to the log path.
func engineCause(msg string) string {
	if _, after, ok := strings.Cut(msg, "Cannot checkpoint container CONTAINER: "); ok {
		msg = after
	}
	msg, _, _ = strings.Cut(msg, " path=")
	return strings.TrimSpace(msg)
}

// containerState is what a checkpoint that leaves the container running
// must not change.
func containerState(t *testing.T, name string) string {
	t.Helper()
	return mustDocker(t, "inspect", "-f", "{{.State.Status}} paused={{.State.Paused}} pid={{.State.Pid}} started={{.State.StartedAt}} restarts={{.RestartCount}}", name)
}

// TestCheckpoint asks for a CRIU checkpoint, and asserts the outcome each
// named engine gives. On the modern engine (CRIU 4.1.1 on its PATH) a
// container without sockets checkpoints: the bundle is complete and its
// checkpoint archive holds CRIU images (inventory.img with CRIU's inventory
// magic). On Debian's docker.io 20.10 (CRIU 3.17, which fails on this
// kernel) the same export fails. A container that listens on a socket fails
// on both (CRIU 4.1.1 cannot dump Go's listening sockets here). A failure
// is the engine's error in one clear line, the artifact's error in the
// manifest, the bundle incomplete and everything else collected. Either way
// the container keeps running, unchanged.
func TestCheckpoint(t *testing.T) {
	t.Logf("engine %s", engine)
	socketless := []string{busyboxImage, "sh", "-c", "echo c; exec sleep 100000"}
	t.Run("socketless", func(t *testing.T) {
		if engine.modern() {
			checkpointSucceeds(t, socketless...)
		} else {
			checkpointFails(t, socketless...)
		}
	})
	t.Run("listening socket", func(t *testing.T) {
		checkpointFails(t, webImage)
	})
}

// checkpointExport starts a container with args, exports it with
// --checkpoint, checks that the container kept running unchanged and that
// the bundle records one checkpoint attempt, and returns the result, the
// container's name, the extracted bundle's root and the bundle's folder.
func checkpointExport(t *testing.T, args ...string) (r result, name, root, dir string) {
	t.Helper()
	name = startContainer(t, args...)
	// Running for a moment: the shell has exec'd sleep, the web server listens.
	time.Sleep(time.Second)
	before := containerState(t, name)
	dir = t.TempDir()
	r = forensic(t, dir, "export", "--checkpoint", "-o", "c.tar.gz", name)
	if after := containerState(t, name); after != before || !strings.HasPrefix(after, "running paused=false ") {
		t.Errorf("container state %q after the checkpoint, want it running and unchanged: %q", after, before)
	}
	root = extract(t, filepath.Join(dir, "c.tar.gz"))
	sha256sumCheck(t, root)
	if got := jq(t, filepath.Join(root, "manifest.json"), cpArtifacts+` | length`); got != "1" {
		t.Fatalf("%s checkpoint artifacts in the manifest, want 1", got)
	}
	if got := jq(t, filepath.Join(root, "custody.json"), `[.actions[] | select(.what == "checkpointed container")] | length`); got != "1" {
		t.Errorf("custody records %s checkpoint attempts, want 1", got)
	}
	return r, name, root, dir
}

// cpArtifacts is the jq filter for the checkpoint artifacts of a manifest.
const cpArtifacts = `[.artifacts[] | select(.path | startswith("checkpoint/"))]`

// checkpointFails asserts that exporting a container of args with
// --checkpoint fails with the engine's own reason, and that nothing else
// is lost.
func checkpointFails(t *testing.T, args ...string) {
	t.Helper()
	cause := engineCause(engineCheckpointError(t, args...))
	if cause == "" {
		t.Fatalf("the engine's checkpoint failed without a message")
	}
	r, name, root, dir := checkpointExport(t, args...)
	manifest, custody := filepath.Join(root, "manifest.json"), filepath.Join(root, "custody.json")
	if r.code != 2 || jq(t, manifest, ".complete") != "false" {
		t.Errorf("failed checkpoint: exit %d, complete %s; want 2 and false", r.code, jq(t, manifest, ".complete"))
	}
	// One clear line: what failed, the engine's reason, what to do.
	var cpLines []string
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		// The container's name has "checkpoint" in it too.
		if strings.Contains(strings.ToLower(strings.ReplaceAll(line, name, "")), "checkpoint") {
			cpLines = append(cpLines, line)
		}
	}
	if len(cpLines) != 1 || !strings.Contains(cpLines[0], "checkpointing container "+name+": ") ||
		!strings.Contains(cpLines[0], cause) || !strings.Contains(cpLines[0], "CRIU that works") {
		t.Errorf("stderr should carry one line naming the container, the engine's reason %q and the hint; got:\n%s", cause, r.stderr)
	}
	// The modern engine runs CRIU, which writes its log on this host: the
	// line carries CRIU's own reason, not only the log's path.
	if engine.modern() && len(cpLines) == 1 && !strings.Contains(cpLines[0], "CRIU's log says: ") {
		t.Errorf("the checkpoint line lacks CRIU's reason from its log: %s", cpLines[0])
	}
	errText := jq(t, manifest, cpArtifacts+`[0].error // ""`)
	if !strings.Contains(errText, "checkpointing container "+name) || !strings.Contains(errText, cause) {
		t.Errorf("the checkpoint artifact's error %q lacks the engine's reason %q", errText, cause)
	}
	if got := jq(t, manifest, cpArtifacts+`[0].sha256 // "none"`); got != "none" {
		t.Errorf("a failed checkpoint has a hash: %s", got)
	}
	if got := jq(t, manifest, `[.incomplete_reasons[] | select(contains("checkpoint"))] | length`); got == "0" {
		t.Errorf("the incomplete reasons do not name the checkpoint: %s", jq(t, manifest, ".incomplete_reasons"))
	}
	if got := jq(t, custody, `[.actions[] | select(.what == "checkpointed container")][0].error // ""`); !strings.Contains(got, cause) {
		t.Errorf("the custody action's error %q lacks the engine's reason %q", got, cause)
	}
	if files, err := filepath.Glob(filepath.Join(root, "checkpoint", "*")); err != nil || len(files) != 0 {
		t.Errorf("a failed checkpoint left files in the bundle: %v", files)
	}
	if _, err := os.Stat(filepath.Join(root, "container/filesystem.tar")); err != nil {
		t.Error("the rest of the evidence was not collected after the checkpoint failed")
	}
	if v := forensic(t, dir, "verify", "c.tar.gz"); v.code != 2 || !strings.Contains(v.stdout, "INCOMPLETE") {
		t.Errorf("verify of an intact, incomplete bundle: exit %d, want 2", v.code)
	}
}

// criuInventoryMagic is the first four bytes of a CRIU inventory.img:
// INVENTORY_MAGIC 0x58313116, little-endian (criu/include/magic.h).
var criuInventoryMagic = []byte{0x16, 0x31, 0x31, 0x58}

// checkpointSucceeds asserts that exporting a container of args with
// --checkpoint gives a complete bundle whose checkpoint archive is hashed
// and holds CRIU images, read with tar and checked at the byte level.
func checkpointSucceeds(t *testing.T, args ...string) {
	t.Helper()
	r, _, root, _ := checkpointExport(t, args...)
	manifest := filepath.Join(root, "manifest.json")
	if r.code != 0 || jq(t, manifest, ".complete") != "true" {
		t.Fatalf("the checkpoint on %s: export exited %d, complete %s; want 0 and true", engine.Name, r.code, jq(t, manifest, ".complete"))
	}
	cp := jq(t, manifest, cpArtifacts+`[0].path`)
	if errText := jq(t, manifest, cpArtifacts+`[0].error // ""`); errText != "" {
		t.Errorf("checkpoint artifact error %q", errText)
	}
	want := jq(t, manifest, cpArtifacts+`[0].sha256 // ""`)
	if got := sha256File(t, filepath.Join(root, cp)); want == "" || got != want {
		t.Errorf("checkpoint %s: sha256 %s, manifest says %q", cp, got, want)
	}
	sums, _ := os.ReadFile(filepath.Join(root, "SHA256SUMS"))
	if !strings.Contains(string(sums), want+"  "+cp+"\n") {
		t.Errorf("SHA256SUMS does not list %s", cp)
	}
	// tar -tf: the engine wrote the checkpoint as <name>/<image files>.
	var inventory string
	var images []string
	for _, f := range tarList(t, filepath.Join(root, cp)) {
		if strings.HasSuffix(f, ".img") {
			images = append(images, path.Base(f))
		}
		if path.Base(f) == "inventory.img" {
			inventory = f
		}
	}
	for _, want := range []string{"inventory.img", "pstree.img", "core-1.img", "pages-1.img"} {
		if !slices.Contains(images, want) {
			t.Errorf("checkpoint archive %s lacks CRIU's %s: %q", cp, want, images)
		}
	}
	if inventory == "" {
		return
	}
	head, err := exec.Command("tar", "-xOf", filepath.Join(root, cp), inventory).Output()
	if err != nil {
		t.Fatalf("tar -xOf %s %s: %v", cp, inventory, err)
	}
	if !bytes.HasPrefix(head, criuInventoryMagic) {
		t.Errorf("%s starts with % x, want CRIU's inventory magic % x", inventory, head[:min(len(head), 8)], criuInventoryMagic)
	}
}
