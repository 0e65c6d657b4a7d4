package analyze

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture-image.tar and the golden reports")

// fixtureImage is the small image kept in testdata: a base layer with
// packages, a layer that adds a setuid program, deletes a file and plants
// a key and a password, and a layer that drops a program in /tmp.
func fixtureImage() imagetest.Image {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	base := imagetest.Layer(
		imagetest.Dir("bin/"), imagetest.Dir("etc/"),
		imagetest.File{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		imagetest.Exe("bin/busybox", elf("busybox")),
		imagetest.Symlink("bin/sh", "busybox"),
		imagetest.Reg("etc/motd", "welcome\n"),
		imagetest.Reg("etc/os-release", "PRETTY_NAME=\"Alpine Linux v3.19\"\nID=alpine\nVERSION_ID=3.19.1\n"),
		imagetest.Reg("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\n"),
	)
	second := imagetest.Layer(
		imagetest.File{Name: "usr/local/bin/helper", Mode: 0o4755, Body: elf("helper"), ModTime: at(2)},
		imagetest.File{Name: "etc/.wh.motd", Mode: 0o644, ModTime: at(2)},
		imagetest.File{Name: "root/.ssh/id_rsa", Mode: 0o600, Body: testRSAKey, ModTime: at(2)},
		imagetest.File{Name: "app/.env", Mode: 0o644, Body: "DB_HOST=db\nDB_PASSWORD=Hunter2-but-longer\n", ModTime: at(2)},
	)
	third := imagetest.Layer(
		imagetest.File{Name: "tmp/dropper", Mode: 0o755, Body: elf("dropper"), ModTime: at(3)},
	)
	return imagetest.Image{
		Tags:   []string{"forensic-test/fixture:1"},
		Layers: [][]byte{base, second, third},
		History: []imagetest.Step{
			{CreatedBy: "ADD alpine-minirootfs.tar.gz /", Created: at(0)},
			{CreatedBy: "ENV APP_ENV=prod", Created: at(1), Empty: true},
			{CreatedBy: "RUN install-helper && plant-key", Created: at(2)},
			{CreatedBy: "RUN drop", Created: at(3)},
		},
		Env:     []string{"PATH=/usr/local/bin:/usr/bin:/bin", "APP_ENV=prod"},
		Cmd:     []string{"/bin/sh"},
		Created: at(3),
	}
}

func TestGolden(t *testing.T) {
	fixture := filepath.Join("testdata", "fixture-image.tar")
	if *update {
		if err := os.WriteFile(fixture, fixtureImage().Legacy(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Analyze(context.Background(), fixture, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var js, txt bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		file string
		got  []byte
	}{{"fixture-image.golden.json", js.Bytes()}, {"fixture-image.golden.txt", txt.Bytes()}} {
		p := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(p, g.got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update ./shared/analyze/ to create it)", err)
		}
		if diff := cmp.Diff(string(want), string(g.got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
	}
}
