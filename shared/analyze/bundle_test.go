package analyze

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// bundleSpec says what a test bundle holds.
type bundleSpec struct {
	format     evidence.Format
	image      bool // image/image.tar
	incomplete string
}

var ghTok = "ghp_" + "Zq8v2LmN4pR7tY1wX3cB6dF9gH0jK5sQ7uE2"

// writeBundle writes a Docker bundle like `docker forensic export` does,
// from the fixture image and a container that dropped a program.
func writeBundle(t *testing.T, spec bundleSpec) string {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
	name := "web-20261129T120000Z" + spec.format.Extension()
	file := filepath.Join(t.TempDir(), name)
	w, err := evidence.Create(file, evidence.Options{Format: spec.format, Root: evidence.TrimExtension(name), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	add := func(p, body string) {
		if _, err := w.AddBytes(evidence.Meta{Path: p, Producer: "test"}, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	img := fixtureImage()
	add("container/inspect.json", `{"Id":"2e809c9bb8e2ff9d558a2a8848d1a599640175e92462517dc01851752e5c44e8","Name":"/web","Created":"2026-11-29T11:00:00Z",
		"Path":"/bin/sh","Args":["-c","run --token `+ghTok+`"],"State":{"StartedAt":"2026-11-29T11:00:01Z"},
		"Config":{"Image":"forensic-test/fixture:1","Env":["PATH=/usr/local/bin:/usr/bin:/bin","APP_ENV=prod","SESSION_SECRET=Kq8!zL2#mN7vR4xT9wB1"]}}`)
	add("logs/stdout.log", "2026-11-29T11:00:01.5Z started\n2026-11-29T11:00:02Z auth token="+ghTok+"\n2026-11-29T11:30:00Z bye\n")
	add("logs/stderr.log", "")
	add("container/diff.json", `[{"kind":"changed","path":"/tmp"},{"kind":"added","path":"/tmp/x"},{"kind":"changed","path":"/etc"},
		{"kind":"added","path":"/etc/cron.d/job"},{"kind":"deleted","path":"/etc/os-release"},{"kind":"added","path":"/var/log/app.log"}]`)
	fs := imagetest.Layer(
		imagetest.Exe(".dockerenv", ""),
		imagetest.Dir("bin/"), imagetest.Exe("bin/busybox", elf("busybox")), imagetest.Symlink("bin/sh", "busybox"),
		imagetest.File{Name: "usr/local/bin/helper", Mode: 0o4755, Body: elf("helper")},
		imagetest.File{Name: "root/.ssh/id_rsa", Mode: 0o600, Body: testRSAKey},
		imagetest.Reg("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\n\nP:curl\nV:8.5.0-r0\nA:x86_64\n\n"),
		imagetest.File{Name: "tmp/x", Mode: 0o755, Body: elf("x"), ModTime: time.Date(2026, 11, 29, 11, 5, 0, 0, time.UTC)},
		imagetest.File{Name: "etc/cron.d/job", Mode: 0o644, Body: "* * * * * root /tmp/x\n", ModTime: time.Date(2026, 11, 29, 11, 6, 0, 0, time.UTC)},
		imagetest.Reg("var/log/app.log", "ok\n"),
	)
	if _, err := w.Add(evidence.Meta{Path: "container/filesystem.tar", Producer: "test"}, bytes.NewReader(fs)); err != nil {
		t.Fatal(err)
	}
	add("image/inspect.json", `{"Id":"sha256:a76bf43052edab274b487b39b8490efcc25ceaf113f7c09f051487857d4c3ee9","RepoTags":["forensic-test/fixture:1"],
		"Created":"2026-11-01T10:03:00Z","Architecture":"amd64","Os":"linux","Config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","APP_ENV=prod"],"Cmd":["/bin/sh"]},
		"RootFS":{"Layers":["sha256:1","sha256:2","sha256:3"]}}`)
	add("image/history.json", `[{"Created":1793527380,"CreatedBy":"RUN drop","Size":27},{"Created":1793527320,"CreatedBy":"RUN install-helper && plant-key","Size":240},
		{"Created":1793527260,"CreatedBy":"ENV APP_ENV=prod","Size":0},{"Created":1793527200,"CreatedBy":"ADD alpine-minirootfs.tar.gz /","Size":195}]`)
	if spec.image {
		if _, err := w.Add(evidence.Meta{Path: "image/image.tar", Producer: "test"}, bytes.NewReader(img.Legacy())); err != nil {
			t.Fatal(err)
		}
	}
	if spec.incomplete != "" {
		w.MarkIncomplete(spec.incomplete)
	}
	cu := evidence.NewCustody(evidence.Tool{Name: "docker-forensic", Version: "test"}, now())
	cu.Examiner, cu.Case = "J. Doe", "IR-1"
	cu.Target = evidence.Target{Kind: "docker-container", Name: "web", ID: "2e809c9bb8e2"}
	if _, err := w.Finish(cu); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestBundle(t *testing.T) {
	wantWithImage := []string{
		"added-after-build /etc/cron.d/job",
		"added-after-build /tmp/x",
		"added-after-build /var/log/app.log",
		"exec-in-tmp /tmp/dropper",
		"exec-in-tmp /tmp/x",
		"github-token @container command",
		"github-token @logs/stdout.log",
		"password-assignment /app/.env",
		"private-key /root/.ssh/id_rsa",
		"secret-assignment @container environment",
		"setuid /usr/local/bin/helper",
	}
	// Without the image tarball, the container's filesystem is the only
	// view: what the image brought is reported there.
	wantWithoutImage := []string{
		"added-after-build /etc/cron.d/job",
		"added-after-build /tmp/x",
		"added-after-build /var/log/app.log",
		"exec-in-tmp /tmp/x",
		"github-token @container command",
		"github-token @logs/stdout.log",
		"private-key /root/.ssh/id_rsa",
		"secret-assignment @container environment",
		"setuid /usr/local/bin/helper",
	}
	tests := []struct {
		name   string
		spec   bundleSpec
		want   []string
		stages []string
	}{
		{"tar.gz with image", bundleSpec{format: evidence.TarGz, image: true}, wantWithImage, []string{"layer", "step", "layer", "layer", "container"}},
		{"tar.zst with image", bundleSpec{format: evidence.TarZst, image: true}, wantWithImage, []string{"layer", "step", "layer", "layer", "container"}},
		{"zip with image", bundleSpec{format: evidence.Zip, image: true}, wantWithImage, []string{"layer", "step", "layer", "layer", "container"}},
		{"tar without image", bundleSpec{format: evidence.Tar}, wantWithoutImage, []string{"layer", "step", "layer", "layer", "container"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Analyze(context.Background(), writeBundle(t, tt.spec), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Input.Kind != KindBundle || !r.Complete || r.Bundle == nil || !r.Bundle.Intact {
				t.Fatalf("kind %s complete %v bundle %+v problems %q", r.Input.Kind, r.Complete, r.Bundle, r.Problems)
			}
			if diff := cmp.Diff(tt.want, keys(r)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			var stages []string
			for _, s := range r.Timeline {
				stages = append(stages, s.Kind)
			}
			if diff := cmp.Diff(tt.stages, stages); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			c := r.Container
			if c == nil || c.Name != "web" || c.Started == nil || c.Added != 3 || c.Deleted != 1 || len(c.Logs) != 2 || c.Logs[0].Lines != 3 || c.Logs[0].First == nil {
				t.Errorf("container = %+v", c)
			}
			if strings.Contains(strings.Join(c.Command, " "), ghTok) {
				t.Errorf("token shown in the container command: %q", c.Command)
			}
			cs := r.Timeline[len(r.Timeline)-1]
			var added []string
			for _, f := range cs.Added {
				added = append(added, f.Path+" "+f.MTime.Format(time.RFC3339))
			}
			if diff := cmp.Diff([]string{"/tmp/x 2026-11-29T11:05:00Z", "/etc/cron.d/job 2026-11-29T11:06:00Z", "/var/log/app.log 2026-11-01T10:00:00Z"}, added); diff != "" {
				t.Errorf("container stage added (-want +got):\n%s", diff)
			}
			if cs.Started == nil || len(cs.Deleted) != 1 {
				t.Errorf("container stage = %+v", cs)
			}
			// Packages are the container's, its current state: curl was
			// installed at run time.
			var names []string
			for _, p := range r.Packages {
				names = append(names, p.Name)
			}
			if diff := cmp.Diff([]string{"busybox", "curl", "musl"}, names); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBundleAlteredAndIncomplete(t *testing.T) {
	t.Run("altered", func(t *testing.T) {
		file := writeBundle(t, bundleSpec{format: evidence.TarGz})
		raw, _ := os.ReadFile(file)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		plain = bytes.Replace(plain, []byte("started"), []byte("STARTED"), 1)
		os.WriteFile(file, gz(t, plain), 0o600)
		r, err := Analyze(context.Background(), file, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete || r.Bundle.Intact || !hasProblem(r, "NOT intact") {
			t.Errorf("complete %v intact %v problems %q", r.Complete, r.Bundle.Intact, r.Problems)
		}
		if f := find(r, "artifact-altered", "logs/stdout.log"); f == nil || f.Severity != High {
			t.Errorf("no artifact-altered finding for logs/stdout.log: %q", keys(r))
		}
		if find(r, "exec-in-tmp", "/tmp/x") == nil {
			t.Error("an altered bundle is still analysed")
		}
	})
	t.Run("archived again with folder entries", func(t *testing.T) {
		// A responder extracts a bundle and archives it again with tar(1),
		// which adds folder entries: still a bundle, still intact.
		file := writeBundle(t, bundleSpec{format: evidence.Tar})
		raw, _ := os.ReadFile(file)
		es := untar(t, raw)
		root := strings.SplitN(es[0].name, "/", 2)[0]
		es = append([]tarEntry{{name: root + "/", typ: '5'}, {name: root + "/container/", typ: '5'}}, es...)
		os.WriteFile(file, retar(t, es), 0o600)
		r, err := Analyze(context.Background(), file, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Input.Kind != KindBundle || !r.Bundle.Intact || !r.Complete {
			t.Errorf("kind %s, bundle %+v, problems %q", r.Input.Kind, r.Bundle, r.Problems)
		}
	})
	t.Run("incomplete", func(t *testing.T) {
		r, err := Analyze(context.Background(), writeBundle(t, bundleSpec{format: evidence.Tar, incomplete: "interrupted by signal"}), testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete || !r.Bundle.Intact || !hasProblem(r, "marked incomplete when collected: interrupted by signal") {
			t.Errorf("complete %v intact %v problems %q", r.Complete, r.Bundle.Intact, r.Problems)
		}
	})
}
