//go:build linux

package nodesnap

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeKubelet writes a container's log folder the way the kubelet and the
// runtime do: the runtime appends CRI log lines to 0.log; a rotation
// renames 0.log to 0.log.<stamp> while the runtime may still write to the
// renamed file until it reopens a new 0.log; a compression writes
// <name>.tmp, renames it to <name>.gz and removes <name>.
type fakeKubelet struct {
	t     testing.TB
	dir   string
	mu    sync.Mutex
	cur   *os.File
	n     int
	stamp int
}

func newFakeKubelet(t testing.TB, root string) *fakeKubelet {
	dir := filepath.Join(root, testLogs, testNS+"_"+testPod+"_"+testUID, "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	k := &fakeKubelet{t: t, dir: dir}
	k.reopen()
	t.Cleanup(func() { k.cur.Close() })
	return k
}

// write appends n numbered lines to the file the runtime writes.
func (k *fakeKubelet) write(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b bytes.Buffer
	for range n {
		k.n++
		fmt.Fprintf(&b, "2026-12-06T20:00:00.%09dZ stdout F line %07d\n", k.n, k.n)
	}
	if _, err := k.cur.Write(b.Bytes()); err != nil {
		k.t.Error(err)
	}
}

// rename is the kubelet's half of a rotation: it returns the new name.
func (k *fakeKubelet) rename() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stamp++
	name := fmt.Sprintf("0.log.20261206-2000%02d", k.stamp)
	if err := os.Rename(filepath.Join(k.dir, "0.log"), filepath.Join(k.dir, name)); err != nil {
		k.t.Error(err)
	}
	return name
}

// reopen is the runtime's half: a new 0.log.
func (k *fakeKubelet) reopen() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil {
		k.cur.Close()
	}
	f, err := os.OpenFile(filepath.Join(k.dir, "0.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		k.t.Fatal(err)
	}
	k.cur = f
}

// compress gzips a rotated file as the kubelet does, step by step.
func (k *fakeKubelet) compress(name string) {
	src := filepath.Join(k.dir, name)
	in, err := os.ReadFile(src)
	if err != nil {
		k.t.Error(err)
		return
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(in)
	zw.Close()
	tmp := src + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o640); err != nil {
		k.t.Error(err)
	}
	if err := os.Rename(tmp, src+".gz"); err != nil {
		k.t.Error(err)
	}
	if err := os.Remove(src); err != nil {
		k.t.Error(err)
	}
}

func (k *fakeKubelet) written() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

// primaryLines reads the line numbers of every primary log file collected,
// decompressing gzip ones.
func primaryLines(t *testing.T, r snapResult) []int {
	t.Helper()
	var nums []int
	files := r.rep.Containers[0].Logs.Files
	if len(files) == 0 {
		t.Fatalf("no log files collected; report: %+v", r.rep.Containers[0].Logs)
	}
	for _, f := range files {
		if f.Artifact == "" {
			if f.Primary || f.Error == "" {
				t.Errorf("%s has no artifact but is primary or has no error: %+v", f.HostPath, f)
			}
			continue
		}
		data := r.read(t, f.Artifact)
		if got := r.artByNm[f.Artifact]; got.Bytes != f.Bytes || got.SHA256 != f.SHA256 {
			t.Errorf("%s: stream has %d bytes sha256 %s, report says %d bytes sha256 %s", f.Artifact, got.Bytes, got.SHA256, f.Bytes, f.SHA256)
		}
		if !f.Primary {
			if f.CompressedFormOf == "" {
				t.Errorf("%s is not primary and names no file it is the compressed form of", f.Artifact)
			}
			continue
		}
		var rd io.Reader = bytes.NewReader(data)
		if f.Gzip {
			zr, err := gzip.NewReader(rd)
			if err != nil {
				t.Fatalf("%s: %v", f.Artifact, err)
			}
			rd = zr
		}
		sc := bufio.NewScanner(rd)
		for sc.Scan() {
			_, num, ok := strings.Cut(sc.Text(), " F line ")
			n, err := strconv.Atoi(num)
			if !ok || err != nil {
				t.Fatalf("%s: not a test line: %q", f.Artifact, sc.Text())
			}
			nums = append(nums, n)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f.Artifact, err)
		}
	}
	sort.Ints(nums)
	return nums
}

// checkEveryLineOnce fails unless nums is exactly 1..want, each once.
func checkEveryLineOnce(t *testing.T, nums []int, want int) {
	t.Helper()
	for i, n := range nums {
		switch {
		case n == i:
			t.Fatalf("line %d appears twice in the primary files", n)
		case n != i+1:
			t.Fatalf("line %d is missing from the primary files (next is %d)", i+1, n)
		}
	}
	if len(nums) < want {
		t.Fatalf("the primary files hold lines 1..%d, want 1..%d", len(nums), want)
	}
}

// TestLogsRotationDuringRead rotates the log just after the current file
// was read to its end: the runtime still writes lines to the renamed file
// before it reopens, the new file gets lines, and the renamed file is then
// compressed (the .gz appears while the uncompressed file was already
// read). Every line must be in the primary files exactly once, and the
// .gz must be marked as the compressed form of the file it came from.
func TestLogsRotationDuringRead(t *testing.T) {
	root := t.TempDir()
	k := newFakeKubelet(t, root)
	k.write(2000)
	first := k.rename()
	k.reopen()
	k.write(3000)
	k.compress(first)

	var once, later sync.Once
	var renamed string
	var reopened bool
	cfg := Config{Request: testRequest(), HostRoot: root}
	cfg.logHook = func(event, name string) {
		switch {
		case event == "eof" && name == "0.log" && renamed == "":
			// The current file was read to its end: rotate now, and the
			// runtime writes lines to the renamed file after that end.
			once.Do(func() {
				renamed = k.rename()
				k.write(70) // the runtime has not reopened yet
				k.reopen()
				k.write(500)
			})
		case event == "open" && name == "0.log" && renamed != "":
			// The listing after the first round opened the new 0.log.
			reopened = true
		case event == "read" && reopened:
			// In the next round, the kubelet compresses the renamed file
			// (already read uncompressed) and removes it.
			later.Do(func() { k.compress(renamed) })
		}
	}
	r := runSnap(t, cfg)
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	logs := r.rep.Containers[0].Logs
	if logs.Rounds < 2 {
		t.Errorf("rounds %d: want at least 2 (a new file appeared during the read)", logs.Rounds)
	}
	checkEveryLineOnce(t, primaryLines(t, r), k.written())

	byHost := map[string]LogFileReport{}
	for _, f := range logs.Files {
		byHost[path.Base(f.HostPath)] = f
	}
	current := byHost["0.log"]
	for _, f := range logs.Files {
		if f.Artifact == "node/app/logs/0.log" {
			current = f
		}
	}
	gz, ok := byHost[renamed+".gz"]
	switch {
	case !ok:
		t.Errorf("%s.gz not collected: %+v", renamed, logs.Files)
	case gz.Primary || gz.CompressedFormOf != "node/app/logs/0.log":
		t.Errorf("%s.gz: primary %v, compressed form of %q; want not primary, of node/app/logs/0.log", renamed, gz.Primary, gz.CompressedFormOf)
	}
	if !strings.Contains(strings.Join(current.RenamedTo, " "), renamed) {
		t.Errorf("node/app/logs/0.log renamed to %v, want %s among them", current.RenamedTo, renamed)
	}
	if f := byHost[first+".gz"]; !f.Primary || !f.Gzip {
		t.Errorf("%s.gz: %+v; want a primary gzip file", first, f)
	}
}

// TestLogsGzipBesideOriginal: a listing that sees both NAME and NAME.gz
// (the kubelet renamed its .tmp but has not removed NAME yet) and the
// .tmp of a compression in progress keeps NAME primary, NAME.gz as its
// compressed form, and skips the .tmp.
func TestLogsGzipBesideOriginal(t *testing.T) {
	root := t.TempDir()
	k := newFakeKubelet(t, root)
	k.write(100)
	name := k.rename()
	k.reopen()
	k.write(10)
	plain, _ := os.ReadFile(filepath.Join(k.dir, name))
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(plain)
	zw.Close()
	writeFile(t, k.dir, name+".gz", b.Bytes())
	writeFile(t, k.dir, name+".gz.tmp", b.Bytes()[:5])

	r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
	logs := r.rep.Containers[0].Logs
	checkEveryLineOnce(t, primaryLines(t, r), k.written())
	if len(logs.Files) != 3 {
		t.Errorf("files %+v: want 0.log, %s, %s.gz", logs.Files, name, name)
	}
	if len(logs.Skipped) != 1 || !strings.Contains(logs.Skipped[0], ".tmp") {
		t.Errorf("skipped %v: want the .tmp", logs.Skipped)
	}
	for _, f := range logs.Files {
		if got, want := r.read(t, f.Artifact), mustRead(t, filepath.Join(root, f.HostPath)); !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", f.Artifact, f.HostPath)
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogsConcurrentRotator reads the folder while a goroutine writes,
// rotates and compresses as fast as it can for a while: whatever the
// interleaving, the primary files hold lines 1..N with none twice and
// none missing, N at least every line written before the read started.
func TestLogsConcurrentRotator(t *testing.T) {
	for i := range 5 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			root := t.TempDir()
			k := newFakeKubelet(t, root)
			k.write(20000)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				var rotated []string
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					k.write(300)
					if j%8 == 7 {
						rotated = append(rotated, k.rename())
						k.write(5)
						k.reopen()
						if len(rotated) > 1 {
							k.compress(rotated[len(rotated)-2])
						}
					}
					time.Sleep(time.Millisecond)
				}
			}()
			before := k.written()
			cfg := Config{Request: testRequest(), HostRoot: root}
			// Slow reads widen the windows in which the folder changes.
			cfg.logHook = func(string, string) { time.Sleep(time.Millisecond) }
			r := runSnap(t, cfg)
			close(stop)
			<-done
			if r.err != nil {
				t.Fatalf("Run: %v", r.err)
			}
			nums := primaryLines(t, r)
			checkEveryLineOnce(t, nums, before)
			logs := r.rep.Containers[0].Logs
			t.Logf("%d lines in %d files, %d rounds, %q", len(nums), len(logs.Files), logs.Rounds, logs.Error)
		})
	}
}

// TestLogsMissingFolder: no log folder is a finding in the report, not a
// failed session.
func TestLogsMissingFolder(t *testing.T) {
	r := runSnap(t, Config{Request: testRequest(), HostRoot: t.TempDir()})
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if e := r.rep.Containers[0].Logs.Error; !strings.Contains(e, "no log folder") {
		t.Errorf("logs error %q, want no log folder", e)
	}
}

// TestLogsNotRegularFile: something in the folder that is no regular
// file (a FIFO, which would block a reader) is listed as skipped with the
// reason, never opened, and the other files are still collected.
func TestLogsNotRegularFile(t *testing.T) {
	root := t.TempDir()
	k := newFakeKubelet(t, root)
	k.write(10)
	if err := unix.Mkfifo(filepath.Join(k.dir, "0.log.fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runSnap(t, Config{Request: testRequest(), HostRoot: root})
	logs := r.rep.Containers[0].Logs
	checkEveryLineOnce(t, primaryLines(t, r), 10)
	if len(logs.Skipped) != 1 || !strings.Contains(logs.Skipped[0], "0.log.fifo: not a regular file") {
		t.Errorf("skipped %q", logs.Skipped)
	}
}
