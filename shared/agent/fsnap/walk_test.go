//go:build linux

package fsnap

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/forensic-tools/forensic/internal/testutil"
)

type entry struct {
	h    *tar.Header
	data []byte
}

func readTar(t *testing.T, b []byte) map[string]entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	m := map[string]entry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := m[h.Name]; dup {
			t.Errorf("entry %q twice", h.Name)
		}
		m[h.Name] = entry{h, data}
	}
}

func walk(t *testing.T, o Options) ([]byte, *Report) {
	t.Helper()
	var buf bytes.Buffer
	rep, err := Walk(context.Background(), &buf, o)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return buf.Bytes(), rep
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	newlineName = "new\nline"
	binaryName  = "bin\xff\xfeary"
	longName    = strings.Repeat("long", 60) // 240 bytes
)

// makeTree builds a small root with every kind of entry a user can make.
func makeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	p := func(s string) string { return filepath.Join(root, s) }
	must(t, os.MkdirAll(p("etc"), 0o755))
	must(t, os.WriteFile(p("etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(p("etc/shadow"), []byte("root:*:1::::::\n"), 0o640))
	must(t, os.MkdirAll(p("usr/bin"), 0o755))
	must(t, os.WriteFile(p("usr/bin/suid"), bytes.Repeat([]byte("x"), 100_000), 0o755))
	must(t, unix.Chmod(p("usr/bin/suid"), 0o4755)) // os.Chmod maps Go mode bits, not these
	must(t, os.Link(p("usr/bin/suid"), p("usr/bin/hardlink")))
	must(t, os.MkdirAll(p("tmp"), 0o1777))
	must(t, unix.Chmod(p("tmp"), 0o1777))
	must(t, os.MkdirAll(p("empty"), 0o700))
	// Links that would leave the root or loop if followed.
	must(t, os.Symlink("/etc/shadow", p("abs-link")))
	must(t, os.Symlink("../../../../", p("up-link")))
	must(t, os.Symlink("/", p("etc/root-link")))
	must(t, os.Symlink(".", p("self-link")))
	must(t, os.Symlink("loop-b", p("loop-a")))
	must(t, os.Symlink("loop-a", p("loop-b")))
	must(t, os.Symlink("target\xffodd", p("odd-target")))
	// Odd names.
	must(t, os.MkdirAll(p("odd"), 0o755))
	for _, n := range []string{newlineName, binaryName, longName, "back\\slash", " lead", "-dash"} {
		must(t, os.WriteFile(p("odd/"+n), []byte(n), 0o600))
	}
	deep := "odd"
	for i := 0; i < 6; i++ {
		deep += "/" + strings.Repeat(string(rune('a'+i)), 60)
	}
	must(t, os.MkdirAll(p(deep), 0o755))
	must(t, os.WriteFile(p(deep+"/leaf"), []byte("deep"), 0o644))
	// Special files.
	must(t, unix.Mkfifo(p("fifo"), 0o600))
	l, err := net.Listen("unix", p("sock"))
	must(t, err)
	t.Cleanup(func() { l.Close() })
	// Times to check.
	mt := time.Date(2001, 2, 3, 4, 5, 6, 7_000_000, time.UTC)
	must(t, os.Chtimes(p("etc/passwd"), mt.Add(time.Hour), mt))
	return root
}

func TestWalkTree(t *testing.T) {
	root := makeTree(t)
	done := make(chan struct{})
	var tb []byte
	var rep *Report
	go func() {
		defer close(done)
		tb, rep = walk(t, Options{Root: root})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("walk did not end: a link or loop was followed")
	}
	m := readTar(t, tb)

	if e := m["etc/passwd"]; string(e.data) != "root:x:0:0::/root:/bin/sh\n" || e.h.Mode != 0o644 ||
		!e.h.ModTime.Equal(time.Date(2001, 2, 3, 4, 5, 6, 7_000_000, time.UTC)) ||
		!e.h.AccessTime.Equal(time.Date(2001, 2, 3, 5, 5, 6, 7_000_000, time.UTC)) || e.h.ChangeTime.IsZero() {
		t.Errorf("etc/passwd: %+v", e.h)
	}
	if e := m["usr/bin/suid"]; e.h.Mode != 0o4755 || e.h.Uid != os.Getuid() {
		t.Errorf("usr/bin/suid: mode %o size %d uid %d", e.h.Mode, len(e.data), e.h.Uid)
	}
	// The first name in walk order holds the content, the other links to it.
	if e := m["usr/bin/hardlink"]; e.h.Typeflag != tar.TypeReg || len(e.data) != 100_000 {
		t.Errorf("first hard link: %+v", e.h)
	}
	if e := m["usr/bin/suid"]; e.h.Typeflag != tar.TypeLink || e.h.Linkname != "usr/bin/hardlink" {
		t.Errorf("hardlink: %+v", e.h)
	}
	if e := m["tmp/"]; e.h.Typeflag != tar.TypeDir || e.h.Mode != 0o1777 {
		t.Errorf("tmp/: %+v", e.h)
	}
	if _, ok := m["empty/"]; !ok {
		t.Error("empty directory missing")
	}
	for name, target := range map[string]string{
		"abs-link": "/etc/shadow", "up-link": "../../../../", "etc/root-link": "/",
		"self-link": ".", "loop-a": "loop-b", "loop-b": "loop-a", "odd-target": "target\xffodd",
	} {
		if e := m[name]; e.h == nil || e.h.Typeflag != tar.TypeSymlink || e.h.Linkname != target {
			t.Errorf("%s: %+v, want a symlink to %q", name, e.h, target)
		}
	}
	for name := range m {
		if strings.HasPrefix(name, "etc/root-link/") || strings.HasPrefix(name, "self-link/") {
			t.Errorf("followed a link: %q", name)
		}
	}
	for _, n := range []string{newlineName, binaryName, longName, "back\\slash", " lead", "-dash"} {
		if e := m["odd/"+n]; string(e.data) != n {
			t.Errorf("odd name %q: %+v", n, e.h)
		}
	}
	deepFound := false
	for name, e := range m {
		if strings.HasSuffix(name, "/leaf") && len(name) > 360 && string(e.data) == "deep" {
			deepFound = true
		}
	}
	if !deepFound {
		t.Error("deep long path missing")
	}
	if e := m["fifo"]; e.h == nil || e.h.Typeflag != tar.TypeFifo {
		t.Errorf("fifo: %+v", e.h)
	}
	if _, ok := m["sock"]; ok {
		t.Error("socket archived")
	}
	if !hasSkip(rep, "/sock", "socket") || rep.Counts.Sockets != 1 || rep.Counts.FIFOs != 1 || rep.Counts.Hardlinks != 1 {
		t.Errorf("report %+v", rep)
	}
	if !rep.Complete || len(rep.Errors) != 0 {
		t.Errorf("report not clean: %+v", rep)
	}
}

func hasSkip(rep *Report, path, reason string) bool {
	for _, s := range rep.Skipped {
		if s.Path == path && strings.Contains(s.Reason, reason) {
			return true
		}
	}
	return false
}

// TestGNUTarExtractsOddNames checks that the tar is not only readable by Go:
// GNU tar restores the odd names byte for byte.
func TestGNUTarExtractsOddNames(t *testing.T) {
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal("tar not found: it is in every Debian base system")
	}
	root := makeTree(t)
	tb, _ := walk(t, Options{Root: root})
	out := t.TempDir()
	cmd := exec.Command(gnutar, "-x", "-f", "-", "-C", out)
	cmd.Stdin = bytes.NewReader(tb)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, b)
	}
	for _, n := range []string{newlineName, binaryName, longName} {
		b, err := os.ReadFile(filepath.Join(out, "odd", n))
		if err != nil || string(b) != n {
			t.Errorf("extracted %q: %q, %v", n, b, err)
		}
	}
	if l, err := os.Readlink(filepath.Join(out, "odd-target")); err != nil || l != "target\xffodd" {
		t.Errorf("extracted odd link target: %q, %v", l, err)
	}
}

func TestSkippedMountsAndVanishedEntries(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "proc/1"), 0o555))
	must(t, os.WriteFile(filepath.Join(root, "proc/1/environ"), []byte("SECRET"), 0o400))
	must(t, os.MkdirAll(filepath.Join(root, "vanish"), 0o755))
	for _, n := range []string{"a", "me", "z"} {
		must(t, os.WriteFile(filepath.Join(root, "vanish", n), []byte(n), 0o644))
	}
	mounts := []Mount{
		{MountPoint: "/", FSType: "overlay", Kind: "root"},
		{MountPoint: "/proc", FSType: "proc", Kind: "pseudo", Skipped: true},
	}
	tb, rep := walk(t, Options{Root: root, Mounts: mounts, beforeOpen: func(rel string) {
		if rel == "vanish/me" {
			os.Remove(filepath.Join(root, rel))
		}
	}})
	m := readTar(t, tb)
	if _, ok := m["proc/"]; !ok {
		t.Error("skipped mount point has no directory entry")
	}
	if _, ok := m["proc/1/environ"]; ok {
		t.Error("pseudo filesystem contents archived")
	}
	if !hasSkip(rep, "/proc", "mount point of proc") {
		t.Errorf("skipped %+v", rep.Skipped)
	}
	if _, ok := m["vanish/me"]; ok {
		t.Error("vanished file archived")
	}
	if string(m["vanish/z"].data) != "z" {
		t.Error("walk did not go on after a vanished file")
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Path != "/vanish/me" || !strings.Contains(rep.Errors[0].Error, "vanished") {
		t.Errorf("errors %+v", rep.Errors)
	}
}

// shortReader returns fewer bytes than a header declared, then err.
func shortReader(data []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(err))
}

func TestFileChangingWhileRead(t *testing.T) {
	var buf bytes.Buffer
	rep := &Report{}
	w := &walker{tw: tar.NewWriter(&buf), rep: rep, buf: make([]byte, 4096)}
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, Format: tar.FormatPAX}
	}
	must(t, w.write(hdr("shrank", 10), shortReader([]byte("abc"), io.EOF)))
	must(t, w.write(hdr("failed", 10), shortReader([]byte("abcd"), unix.EIO)))
	must(t, w.write(hdr("grew", 3), strings.NewReader("abcdef")))
	must(t, w.tw.Close())
	m := readTar(t, buf.Bytes())
	if string(m["shrank"].data) != "abc\x00\x00\x00\x00\x00\x00\x00" || string(m["grew"].data) != "abc" || len(m["failed"].data) != 10 {
		t.Errorf("contents %q %q %q", m["shrank"].data, m["grew"].data, m["failed"].data)
	}
	want := []string{"shrank from 10 to 3", "input/output error", "grew past 3"}
	if len(rep.Errors) != 3 {
		t.Fatalf("errors %+v", rep.Errors)
	}
	for i, w := range want {
		if !strings.Contains(rep.Errors[i].Error, w) {
			t.Errorf("error %d %q lacks %q", i, rep.Errors[i].Error, w)
		}
	}
}

func TestCancelLeavesValidTar(t *testing.T) {
	root := makeTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	rep, err := Walk(ctx, &buf, Options{Root: root})
	if !errors.Is(err, context.Canceled) || rep.Complete {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	readTar(t, buf.Bytes())
}

func TestDeviceNodes(t *testing.T) {
	testutil.RequireRoot(t, "CAP_SYS_ADMIN and CAP_MKNOD")
	root := t.TempDir()
	must(t, unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Chmod(filepath.Join(root, "null"), 0o666))
	must(t, unix.Mknod(filepath.Join(root, "loop9"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 9))))
	must(t, os.WriteFile(filepath.Join(root, "owned"), []byte("x"), 0o600))
	must(t, os.Lchown(filepath.Join(root, "owned"), 12345, 54321))
	tb, rep := walk(t, Options{Root: root})
	m := readTar(t, tb)
	if h := m["null"].h; h == nil || h.Typeflag != tar.TypeChar || h.Devmajor != 1 || h.Devminor != 3 || h.Mode != 0o666 {
		t.Errorf("char device: %+v", h)
	}
	if h := m["loop9"].h; h == nil || h.Typeflag != tar.TypeBlock || h.Devmajor != 7 || h.Devminor != 9 {
		t.Errorf("block device: %+v", h)
	}
	if h := m["owned"].h; h.Uid != 12345 || h.Gid != 54321 {
		t.Errorf("owner %d:%d", h.Uid, h.Gid)
	}
	if rep.Counts.Devices != 2 {
		t.Errorf("counts %+v", rep.Counts)
	}
}

// TestBindMountLoop makes a directory its own descendant with a bind mount,
// in a private mount namespace of one locked thread, and walks it there.
func TestBindMountLoop(t *testing.T) {
	testutil.RequireRoot(t, "CAP_SYS_ADMIN and CAP_MKNOD")
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "a/b/loop"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "a/file"), []byte("f"), 0o644))
	type result struct {
		tb  []byte
		rep *Report
		err error
	}
	res := make(chan result, 1)
	go func() {
		// The thread's mount namespace is private and thrown away: never
		// unlock, so the thread ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			res <- result{err: err}
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			res <- result{err: err}
			return
		}
		if err := unix.Mount(filepath.Join(root, "a"), filepath.Join(root, "a/b/loop"), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			res <- result{err: err}
			return
		}
		var buf bytes.Buffer
		rep, err := Walk(context.Background(), &buf, Options{Root: root, MaxDepth: 64})
		res <- result{buf.Bytes(), rep, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("walk of a bind mount loop did not end")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	m := readTar(t, r.tb)
	if _, ok := m["a/b/loop/"]; !ok {
		t.Error("loop directory entry missing")
	}
	if _, ok := m["a/b/loop/file"]; ok {
		t.Error("walked into the loop")
	}
	if !hasSkip(r.rep, "/a/b/loop", "directory loop: same directory as its ancestor /a") {
		t.Errorf("skipped %+v", r.rep.Skipped)
	}
}
