package analyze

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

var testNow = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }

var testOpts = Options{Now: testNow, Tool: Tool{Name: "forensic analyze", Version: "test"}}

// Secrets are assembled at run time so that this file does not itself
// look like a leak to scanners.
var (
	testAWSID     = "AKIA" + "Q3EGRTZK" + "7V2MXW4P"
	testAWSSecret = "k9Tz4Qw2Lp8Rv6Nb3Xc1" + "Hy5Jm7Fd0Gs2Ka4Pe6Ui"
	testRSAKey    = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----\n"
)

func elf(tag string) string { return imagetest.ELF(tag) }

// testImage is the image most tests use: a base layer, a layer that adds
// a setuid file, deletes a file and plants keys, and a layer that drops
// programs in temporary and hidden folders.
func testImage(withBlob bool) imagetest.Image {
	base := imagetest.Layer(
		imagetest.Dir("bin/"), imagetest.Dir("etc/"), imagetest.Dir("usr/"), imagetest.Dir("usr/bin/"), imagetest.Dir("usr/lib/"),
		imagetest.File{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		imagetest.Exe("bin/busybox", elf("busybox")),
		imagetest.Symlink("bin/sh", "busybox"),
		imagetest.Reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		imagetest.Reg("etc/motd", "welcome\n"),
		imagetest.File{Name: "usr/bin/passwd", Mode: 0o4755, Body: elf("passwd")},
		imagetest.Reg("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\nPackage: busybox\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.35.0-4\n"),
		imagetest.Reg("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"),
		imagetest.Symlink("etc/os-release", "../usr/lib/os-release"),
	)
	files := []imagetest.File{
		imagetest.Dir("usr/local/bin/"),
		{Name: "usr/local/bin/helper", Mode: 0o4755, Body: elf("helper")},
		imagetest.Whiteout("etc/motd"),
		{Name: "root/.ssh/id_rsa", Mode: 0o600, Body: testRSAKey},
		imagetest.Reg("app/.env", "AWS_ACCESS_KEY_ID="+testAWSID+"\nAWS_SECRET_ACCESS_KEY="+testAWSSecret+"\n"),
		{Name: "app/config.yaml", Mode: 0o666, Body: "listen: 8080\n"},
		imagetest.Reg("app/cache/old.txt", "stale\n"),
	}
	if withBlob {
		blob := make([]byte, 2<<20)
		rand.New(rand.NewSource(1)).Read(blob)
		files = append(files, imagetest.Reg("usr/share/payload.bin", string(blob)))
	}
	second := imagetest.Layer(files...)
	third := imagetest.Layer(
		imagetest.Exe("tmp/dropper", elf("dropper")),
		imagetest.Exe("var/tmp/sshd", elf("sshd")),
		imagetest.Exe("root/.hidden/miner", elf("miner")),
		imagetest.Whiteout("app/.env"),
		imagetest.Opaque("app/cache"),
		imagetest.Reg("app/cache/new.txt", "fresh\n"),
	)
	return imagetest.Image{
		Tags:   []string{"forensic-test/app:1"},
		Layers: [][]byte{base, second, third},
		History: []imagetest.Step{
			{CreatedBy: "ADD rootfs.tar / # buildkit", Created: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)},
			{CreatedBy: "ENV DB_PASSWORD=Zx9!qLm2#Rt7vBn4", Created: time.Date(2026, 11, 1, 10, 1, 0, 0, time.UTC), Empty: true},
			{CreatedBy: "RUN install-helper && plant-keys", Created: time.Date(2026, 11, 1, 10, 2, 0, 0, time.UTC)},
			{CreatedBy: "RUN drop", Created: time.Date(2026, 11, 1, 10, 3, 0, 0, time.UTC)},
			{CreatedBy: `CMD ["/bin/sh"]`, Created: time.Date(2026, 11, 1, 10, 4, 0, 0, time.UTC), Empty: true},
		},
		Env:     []string{"PATH=/usr/local/bin:/usr/bin:/bin", "DB_PASSWORD=Zx9!qLm2#Rt7vBn4"},
		Cmd:     []string{"/bin/sh"},
		Created: time.Date(2026, 11, 1, 10, 4, 0, 0, time.UTC),
	}
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

func analyzeBytes(t testing.TB, name string, data []byte, opts Options) *Report {
	t.Helper()
	r, err := Analyze(context.Background(), writeTemp(t, name, data), opts)
	if err != nil {
		t.Fatalf("Analyze(%s): %v", name, err)
	}
	return r
}

// keys lists findings as "rule path" (or "rule @where"), sorted.
func keys(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		k := f.Rule + " " + f.Path
		if f.Path == "" {
			k = f.Rule + " @" + f.Where
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func find(r *Report, rule, path string) *Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule && (path == "" || r.Findings[i].Path == path) {
			return &r.Findings[i]
		}
	}
	return nil
}

func hasProblem(r *Report, sub string) bool {
	for _, p := range r.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

// tarEntry is one entry of an outer tarball, for tests that rewrite one.
type tarEntry struct {
	name string
	typ  byte
	body []byte
	link string
}

func untar(t testing.TB, data []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(tr)
		out = append(out, tarEntry{name: h.Name, typ: h.Typeflag, body: b, link: h.Linkname})
	}
}

func retar(t testing.TB, es []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link, ModTime: time.Unix(0, 0)}
		switch {
		case e.link != "":
			h.Typeflag, h.Size = tar.TypeSymlink, 0
		case e.typ == tar.TypeDir:
			h.Size = 0
		case e.typ == 0:
			h.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	return b.Bytes()
}

func zipOf(t testing.TB, name, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	zw.Close()
	return b.Bytes()
}
