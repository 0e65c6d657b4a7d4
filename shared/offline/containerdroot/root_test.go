package containerdroot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
)

// fakeRoot builds a containerd root in a temporary folder: one container
// with CRI labels on a two-snapshot overlayfs chain, its image's index,
// manifest and config in the content store.
func fakeRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	blob := func(b []byte) string {
		d := fmt.Sprintf("%x", sha256.Sum256(b))
		p := filepath.Join(dir, contentDir, "sha256", d)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
		return "sha256:" + d
	}
	cfg := blob([]byte(`{"architecture":"amd64","os":"linux","history":[{"created_by":"test layer"}]}`))
	manifest := blob([]byte(`{"schemaVersion":2,"config":{"digest":"` + cfg + `"},"layers":[]}`))
	index := blob([]byte(`{"schemaVersion":2,"manifests":[{"digest":"` + manifest + `","platform":{"os":"linux","architecture":"` + runtimeArch() + `"}}]}`))
	now, _ := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC).MarshalBinary()

	os.MkdirAll(filepath.Join(dir, "io.containerd.metadata.v1.bolt"), 0o755)
	db, err := bolt.Open(filepath.Join(dir, metaDB), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		v1, _ := tx.CreateBucket([]byte("v1"))
		v1.Put([]byte("version"), binary.AppendVarint(nil, 4))
		ns, _ := v1.CreateBucket([]byte("k8s.io"))
		cs, _ := ns.CreateBucketIfNotExists([]byte("containers"))
		c, _ := cs.CreateBucket([]byte("c1"))
		c.Put([]byte("image"), []byte("docker.io/x/app:1"))
		c.Put([]byte("snapshotter"), []byte("overlayfs"))
		c.Put([]byte("snapshotKey"), []byte("c1"))
		c.Put([]byte("createdat"), now)
		spec := append([]byte{0x0a, 4}, "spec"...)
		spec = append(spec, 0x12, 2, '{', '}')
		c.Put([]byte("spec"), spec)
		l, _ := c.CreateBucket([]byte("labels"))
		for k, v := range map[string]string{"io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "shop", "io.kubernetes.container.name": "app", "io.kubernetes.pod.uid": "u1"} {
			l.Put([]byte(k), []byte(v))
		}
		is, _ := ns.CreateBucketIfNotExists([]byte("images"))
		img, _ := is.CreateBucket([]byte("docker.io/x/app:1"))
		tg, _ := img.CreateBucket([]byte("target"))
		tg.Put([]byte("digest"), []byte(index))
		tg.Put([]byte("mediatype"), []byte("application/vnd.oci.image.index.v1+json"))
		sb, _ := ns.CreateBucketIfNotExists([]byte("snapshots"))
		ob, _ := sb.CreateBucketIfNotExists([]byte("overlayfs"))
		s1, _ := ob.CreateBucket([]byte("c1"))
		s1.Put([]byte("name"), []byte("k8s.io/2/c1"))
		s1.Put([]byte("parent"), []byte("sha256:base"))
		s0, _ := ob.CreateBucket([]byte("sha256:base"))
		s0.Put([]byte("name"), []byte("k8s.io/1/sha256:base"))
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, overlayDir, "snapshots/1/fs/etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, overlayDir, "snapshots/2/fs"), 0o755)
	os.WriteFile(filepath.Join(dir, overlayDir, "snapshots/1/fs/etc/os-release"), []byte("base\n"), 0o644)
	os.WriteFile(filepath.Join(dir, overlayDir, "snapshots/2/fs/new"), []byte("new\n"), 0o755)
	sdb, err := bolt.Open(filepath.Join(dir, overlayDir, "metadata.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = sdb.Update(func(tx *bolt.Tx) error {
		v1, _ := tx.CreateBucket([]byte("v1"))
		ss, _ := v1.CreateBucket([]byte("snapshots"))
		a, _ := ss.CreateBucket([]byte("k8s.io/1/sha256:base"))
		a.Put([]byte("id"), binary.AppendUvarint(nil, 1))
		a.Put([]byte("kind"), []byte{3})
		b, _ := ss.CreateBucket([]byte("k8s.io/2/c1"))
		b.Put([]byte("id"), binary.AppendUvarint(nil, 2))
		b.Put([]byte("kind"), []byte{2})
		b.Put([]byte("parent"), []byte("k8s.io/1/sha256:base"))
		return nil
	})
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func runtimeArch() string { return runtime.GOARCH }

// state is every file under dir with its size, mode, times and content.
func state(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		l := fmt.Sprintf("%s %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			l += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, l)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// export runs the collectors of c into a tar.gz bundle in memory and
// returns its files.
func export(t *testing.T, r *Root, c offline.Container) (map[string][]byte, evidence.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	w, err := evidence.New(&buf, evidence.Options{Format: evidence.TarGz, Root: "b"})
	if err != nil {
		t.Fatal(err)
	}
	res := (&collect.Runner{Bundle: w, Custody: evidence.NewCustody(evidence.Tool{Name: "test"}, time.Now())}).Run(context.Background(), r.Collectors(c, offline.ExportOptions{}))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "b/")] = b
	}
	return files, res.Manifest
}

func TestListAndExportFromAFakeRoot(t *testing.T) {
	dir := fakeRoot(t)
	before := state(t, dir)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := r.List(context.Background())
	if err != nil || len(l.Problems) != 0 {
		t.Fatalf("List: %v, problems %v", err, l.Problems)
	}
	if len(l.Containers) != 1 {
		t.Fatalf("containers %+v", l.Containers)
	}
	c := l.Containers[0]
	if c.ID != "c1" || c.Pod != "web-0" || c.PodNamespace != "shop" || c.KubeContainer != "app" || c.Namespace != "k8s.io" || !strings.HasPrefix(c.ImageDigest, "sha256:") {
		t.Errorf("container %+v", c)
	}
	files, m := export(t, r, c)
	if !m.Complete {
		t.Errorf("bundle incomplete: %v", m.Incomplete)
	}
	fs := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(files["container/filesystem.tar"]))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		fs[h.Name] = true
	}
	if !fs["etc/os-release"] || !fs["new"] {
		t.Errorf("merged filesystem %v lacks a layer's file", fs)
	}
	if !bytes.Contains(files["image/history.json"], []byte("test layer")) {
		t.Errorf("image/history.json = %s", files["image/history.json"])
	}
	var snaps []struct {
		Key       string
		BackendID string `json:"backend_id"`
	}
	json.Unmarshal(files["container/records/snapshots.json"], &snaps)
	if len(snaps) != 2 || snaps[0].BackendID != "2" || snaps[1].BackendID != "1" {
		t.Errorf("snapshots.json %s", files["container/records/snapshots.json"])
	}
	if string(files["container/spec.json"]) != "{}" {
		t.Errorf("spec.json = %q", files["container/spec.json"])
	}
	r.Close()
	if after := state(t, dir); after != before {
		t.Errorf("the root changed:\n%s\n----\n%s", before, after)
	}
}

func TestMissingSnapshotRecordMarksTheFilesystemIncomplete(t *testing.T) {
	dir := fakeRoot(t)
	sdb, err := bolt.Open(filepath.Join(dir, overlayDir, "metadata.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	sdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("v1")).Bucket([]byte("snapshots")).DeleteBucket([]byte("k8s.io/1/sha256:base"))
	})
	sdb.Close()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, _ := r.List(context.Background())
	files, m := export(t, r, l.Containers[0])
	if m.Complete {
		t.Fatal("bundle complete with a snapshot missing")
	}
	var fsErr string
	for _, a := range m.Artifacts {
		if a.Path == "container/filesystem.tar" {
			fsErr = a.Error
		}
	}
	if !strings.Contains(fsErr, "sha256:base") {
		t.Errorf("filesystem.tar error %q does not name the missing snapshot", fsErr)
	}
	if !bytes.Contains(files["container/filesystem.tar"], []byte("new")) {
		t.Errorf("the writable layer was not exported beside the missing one")
	}
}
