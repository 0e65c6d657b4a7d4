// Package containerdroot reads a containerd root (/var/lib/containerd) at
// rest: containers, images and snapshots from the metadata database
// (io.containerd.metadata.v1.bolt/meta.db), layers from the overlayfs
// snapshotter, blobs from the content store, the CRI plugin's status
// files, and the kubelet's pod logs folder when given.
//
// bolt takes a lock on a database it opens, even read-only: each database
// is therefore copied to a temporary file first and the copy is opened;
// the bundle's log and custody record say so. Nothing under the root is
// written.
package containerdroot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
)

const (
	metaDB     = "io.containerd.metadata.v1.bolt/meta.db"
	overlayDir = "io.containerd.snapshotter.v1.overlayfs"
	contentDir = "io.containerd.content.v1.content/blobs"
	criDir     = "io.containerd.grpc.v1.cri/containers"
	maxBlob    = 64 << 20
)

// Root is an opened containerd root.
type Root struct {
	dir   string
	tmp   string
	notes []string
	// copies are the databases copied aside: bundle name => copy.
	copies []dbCopy
	// meta and snap are the copies of the metadata databases, nil when
	// they could not be read.
	meta, snap       *bolt.DB
	metaErr, snapErr error
	version          string
}

// Open opens the containerd root dir, copying its databases aside.
func Open(dir string) (*Root, error) {
	k, err := offline.Detect(dir)
	if err != nil {
		return nil, err
	}
	if k != offline.Containerd {
		return nil, fmt.Errorf("root %s is a %s root, not a containerd root", dir, k)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "forensic-offline-")
	if err != nil {
		return nil, err
	}
	r := &Root{dir: abs, tmp: tmp}
	r.meta, r.metaErr = r.openCopy(metaDB, "meta.db")
	r.snap, r.snapErr = r.openCopy(overlayDir+"/metadata.db", "overlayfs-metadata.db")
	if r.meta != nil {
		_ = view(r.meta, func(tx *bolt.Tx) error {
			if b := tx.Bucket([]byte("v1")); b != nil {
				if v := b.Get([]byte("version")); v != nil {
					if n, k := binary.Varint(v); k > 0 {
						r.version = "metadata schema v1, database version " + strconv.FormatInt(n, 10)
					}
				}
			}
			return nil
		})
	}
	return r, nil
}

// openCopy copies the bolt database rel to the temporary folder and opens
// the copy read-only: the original is never locked.
func (r *Root) openCopy(rel, name string) (*bolt.DB, error) {
	src := filepath.Join(r.dir, rel)
	in, err := offline.OpenFile(src)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", rel, err)
	}
	defer in.Close()
	dst := filepath.Join(r.tmp, name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("copying %s: %w", rel, err)
	}
	r.copies = append(r.copies, dbCopy{rel: rel, name: name, path: dst})
	r.notes = append(r.notes, fmt.Sprintf("%s (%d bytes, sha256 %s) was copied to a temporary file and the copy opened read-only: bolt locks a database it opens, and the original must stay untouched", rel, n, hex.EncodeToString(h.Sum(nil))))
	db, err := openBolt(dst)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	return db, nil
}

// dbCopy is a database of the root copied aside to be read.
type dbCopy struct{ rel, name, path string }

// openBolt opens a bolt file read-only; a corrupt file that makes bolt
// panic is an error.
func openBolt(p string) (db *bolt.DB, err error) {
	defer func() {
		if x := recover(); x != nil {
			db, err = nil, fmt.Errorf("corrupt database: %v", x)
		}
	}()
	return bolt.Open(p, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
}

// view runs fn in a read transaction; a panic from a corrupt page is an
// error.
func view(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("corrupt database: %v", x)
		}
	}()
	return db.View(fn)
}

// Kind is offline.Containerd.
func (r *Root) Kind() offline.Kind { return offline.Containerd }

// Close closes and removes the database copies.
func (r *Root) Close() error {
	for _, db := range []*bolt.DB{r.meta, r.snap} {
		if db != nil {
			db.Close()
		}
	}
	return os.RemoveAll(r.tmp)
}

// Engine describes the root for custody.json.
func (r *Root) Engine() evidence.Engine {
	e := evidence.Engine{Kind: "containerd-offline-root", Host: r.dir, Version: r.version, Extra: map[string]string{"snapshotter": "overlayfs"}}
	if e.Version == "" {
		e.Version = "not recorded (metadata database unreadable)"
	}
	for k, v := range offline.MountInfo(r.dir) {
		e.Extra[k] = v
	}
	return e
}

// record is a container's record in meta.db.
type record struct {
	Namespace   string            `json:"namespace"`
	ID          string            `json:"id"`
	Image       string            `json:"image,omitempty"`
	Runtime     string            `json:"runtime,omitempty"`
	Snapshotter string            `json:"snapshotter,omitempty"`
	SnapshotKey string            `json:"snapshot_key,omitempty"`
	SandboxID   string            `json:"sandbox_id,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
	UpdatedAt   time.Time         `json:"updated_at,omitzero"`
	SpecType    string            `json:"spec_type,omitempty"`
	Spec        json.RawMessage   `json:"-"`
}

func getTime(b *bolt.Bucket, key string) time.Time {
	var t time.Time
	if v := b.Get([]byte(key)); v != nil {
		_ = t.UnmarshalBinary(v)
	}
	return t
}

func getLabels(b *bolt.Bucket, key string) map[string]string {
	lb := b.Bucket([]byte(key))
	if lb == nil {
		return nil
	}
	m := map[string]string{}
	_ = lb.ForEach(func(k, v []byte) error {
		if v != nil {
			m[string(k)] = string(v)
		}
		return nil
	})
	return m
}

// containers reads every container record of every namespace.
func (r *Root) containers() ([]record, error) {
	var out []record
	if r.meta == nil {
		return nil, r.metaErr
	}
	err := view(r.meta, func(tx *bolt.Tx) error {
		v1 := tx.Bucket([]byte("v1"))
		if v1 == nil {
			return errors.New("meta.db has no v1 bucket")
		}
		return v1.ForEach(func(ns, v []byte) error {
			nb := v1.Bucket(ns)
			if v != nil || nb == nil {
				return nil
			}
			cb := nb.Bucket([]byte("containers"))
			if cb == nil {
				return nil
			}
			return cb.ForEach(func(id, v []byte) error {
				b := cb.Bucket(id)
				if b == nil {
					return nil
				}
				rec := record{Namespace: string(ns), ID: string(id), Image: string(b.Get([]byte("image"))),
					Snapshotter: string(b.Get([]byte("snapshotter"))), SnapshotKey: string(b.Get([]byte("snapshotKey"))),
					SandboxID: string(b.Get([]byte("sandboxid"))), Labels: getLabels(b, "labels"),
					CreatedAt: getTime(b, "createdat"), UpdatedAt: getTime(b, "updatedat")}
				if rb := b.Bucket([]byte("runtime")); rb != nil {
					rec.Runtime = string(rb.Get([]byte("name")))
				}
				if spec := b.Get([]byte("spec")); spec != nil {
					rec.SpecType, rec.Spec = decodeAny(spec)
				}
				out = append(out, rec)
				return nil
			})
		})
	})
	return out, err
}

// decodeAny decodes a protobuf Any: 1 type URL, 2 value.
func decodeAny(b []byte) (string, json.RawMessage) {
	var typ string
	var val []byte
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 || key&7 != 2 {
			break
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			break
		}
		v := b[n : n+int(l)]
		b = b[n+int(l):]
		switch key >> 3 {
		case 1:
			typ = string(v)
		case 2:
			val = v
		}
	}
	if json.Valid(val) {
		return typ, json.RawMessage(val)
	}
	return typ, nil
}

// imageRecord is an image's record in meta.db.
type imageRecord struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Digest      string            `json:"target_digest"`
	MediaType   string            `json:"target_media_type"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
}

func (r *Root) images() ([]imageRecord, error) {
	var out []imageRecord
	if r.meta == nil {
		return nil, r.metaErr
	}
	err := view(r.meta, func(tx *bolt.Tx) error {
		v1 := tx.Bucket([]byte("v1"))
		if v1 == nil {
			return nil
		}
		return v1.ForEach(func(ns, v []byte) error {
			nb := v1.Bucket(ns)
			if v != nil || nb == nil || nb.Bucket([]byte("images")) == nil {
				return nil
			}
			ib := nb.Bucket([]byte("images"))
			return ib.ForEach(func(name, v []byte) error {
				b := ib.Bucket(name)
				if b == nil {
					return nil
				}
				img := imageRecord{Namespace: string(ns), Name: string(name), Labels: getLabels(b, "labels"), Annotations: getLabels(b, "annotations"), CreatedAt: getTime(b, "createdat")}
				if tb := b.Bucket([]byte("target")); tb != nil {
					img.Digest, img.MediaType = string(tb.Get([]byte("digest"))), string(tb.Get([]byte("mediatype")))
				}
				out = append(out, img)
				return nil
			})
		})
	})
	return out, err
}

// criStatus is the CRI plugin's status file of a container.
type criStatus struct {
	Pid                              int
	CreatedAt, StartedAt, FinishedAt int64
	ExitCode                         int32
	Reason, Message                  string
}

func (r *Root) criStatus(id string) (*criStatus, []byte, error) {
	if strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return nil, nil, fmt.Errorf("container ID %q is not one path element", id)
	}
	b, err := offline.ReadFile(filepath.Join(r.dir, criDir, id, "status"), 1<<20)
	if err != nil {
		return nil, nil, err
	}
	var s criStatus
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, b, fmt.Errorf("CRI status of %s: %w", offline.ShortID(id), err)
	}
	return &s, b, nil
}

// List reads every container and image of every namespace.
func (r *Root) List(ctx context.Context) (offline.Listing, error) {
	l := offline.Listing{Kind: offline.Containerd, Root: r.dir, Containers: []offline.Container{}, Images: []offline.Image{}, Volumes: []offline.Volume{}}
	recs, err := r.containers()
	if err != nil {
		l.Problems = append(l.Problems, fmt.Sprintf("containers from %s: %v", metaDB, err))
	}
	imgs, err := r.images()
	if err != nil && r.meta != nil {
		l.Problems = append(l.Problems, fmt.Sprintf("images from %s: %v", metaDB, err))
	}
	digest := map[string]string{}
	for _, i := range imgs {
		digest[i.Namespace+"\x00"+i.Name] = i.Digest
		l.Images = append(l.Images, offline.Image{Name: i.Name, ID: i.Digest, Digest: i.Digest, Created: i.CreatedAt, Namespace: i.Namespace})
	}
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.ID] = true
		c := offline.Container{ID: rec.ID, Namespace: rec.Namespace, Image: rec.Image, ImageDigest: digest[rec.Namespace+"\x00"+rec.Image], Created: rec.CreatedAt, Labels: rec.Labels, State: "unknown"}
		c.ImageID = c.ImageDigest
		c.FromCRILabels()
		c.Name = c.KubeContainer
		if c.Sandbox {
			c.Name = c.Pod + "-sandbox"
		}
		r.applyStatus(&c)
		l.Containers = append(l.Containers, c)
	}
	// Without meta.db, the CRI plugin's folders still name its containers.
	if entries, err := offline.ReadDir(filepath.Join(r.dir, criDir)); err == nil {
		for _, e := range entries {
			if !e.IsDir() || seen[e.Name()] {
				continue
			}
			c := offline.Container{ID: e.Name(), State: "unknown", Problems: []string{"no record in " + metaDB}}
			r.applyStatus(&c)
			l.Containers = append(l.Containers, c)
		}
	}
	sort.SliceStable(l.Containers, func(i, j int) bool { return l.Containers[i].Created.Before(l.Containers[j].Created) })
	if r.snapErr != nil {
		l.Problems = append(l.Problems, fmt.Sprintf("overlayfs snapshots: %v", r.snapErr))
	}
	return l, nil
}

func (r *Root) applyStatus(c *offline.Container) {
	s, _, err := r.criStatus(c.ID)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.Problems = append(c.Problems, err.Error())
		}
		return
	}
	ns := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	}
	c.Started, c.Finished = ns(s.StartedAt), ns(s.FinishedAt)
	if c.Created.IsZero() {
		c.Created = ns(s.CreatedAt)
	}
	switch {
	case s.FinishedAt != 0:
		c.State = "exited"
		code := int(s.ExitCode)
		c.ExitCode = &code
	case s.StartedAt != 0:
		c.State = "running"
	default:
		c.State = "created"
	}
}

// platformOK reports whether an index entry's platform is this machine's
// (linux and GOARCH), or has none.
func platformOK(p *struct{ OS, Architecture string }) bool {
	return p == nil || (p.OS == "linux" && p.Architecture == runtime.GOARCH)
}
