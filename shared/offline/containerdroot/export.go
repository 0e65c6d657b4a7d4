package containerdroot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
	"github.com/forensic-tools/forensic/shared/offline/overlay"
)

// snapshotRecord is one snapshot of a container's chain.
type snapshotRecord struct {
	Key        string            `json:"key"`
	BackendKey string            `json:"backend_key,omitempty"`
	BackendID  string            `json:"backend_id,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Parent     string            `json:"parent,omitempty"`
	Dir        string            `json:"dir,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	CreatedAt  time.Time         `json:"created_at,omitzero"`
}

// chain follows the container's snapshot to the image's base layer,
// top first.
func (r *Root) chain(rec record) ([]snapshotRecord, error) {
	if r.meta == nil {
		return nil, fmt.Errorf("no snapshot records: %w", r.metaErr)
	}
	if rec.Snapshotter != "" && rec.Snapshotter != "overlayfs" {
		return nil, fmt.Errorf("snapshotter %q is not read (only overlayfs)", rec.Snapshotter)
	}
	var out []snapshotRecord
	var problems []error
	err := view(r.meta, func(tx *bolt.Tx) error {
		sb := bucket(tx, "v1", rec.Namespace, "snapshots", "overlayfs")
		if sb == nil {
			return errors.New("meta.db has no overlayfs snapshots in namespace " + rec.Namespace)
		}
		key := rec.SnapshotKey
		for i := 0; key != "" && i < 1000; i++ {
			b := sb.Bucket([]byte(key))
			if b == nil {
				problems = append(problems, &overlay.MissingLayerError{Layer: overlay.Layer{ID: key}, Err: errors.New("no snapshot record in meta.db")})
				break
			}
			s := snapshotRecord{Key: key, BackendKey: string(b.Get([]byte("name"))), Parent: string(b.Get([]byte("parent"))), Labels: getLabels(b, "labels"), CreatedAt: getTime(b, "createdat")}
			out = append(out, s)
			key = s.Parent
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	for i := range out {
		if r.snap == nil {
			problems = append(problems, fmt.Errorf("snapshot %s: %w", out[i].Key, r.snapErr))
			continue
		}
		err := view(r.snap, func(tx *bolt.Tx) error {
			b := bucket(tx, "v1", "snapshots", out[i].BackendKey)
			if b == nil {
				return &overlay.MissingLayerError{Layer: overlay.Layer{ID: out[i].Key}, Err: errors.New("no record in the overlayfs snapshotter's metadata.db")}
			}
			id, n := binary.Uvarint(b.Get([]byte("id")))
			if n <= 0 {
				return fmt.Errorf("snapshot %s has no ID", out[i].Key)
			}
			out[i].BackendID = strconv.FormatUint(id, 10)
			if k := b.Get([]byte("kind")); len(k) == 1 {
				out[i].Kind = map[byte]string{1: "view", 2: "active", 3: "committed"}[k[0]]
			}
			out[i].Dir = filepath.Join(r.dir, overlayDir, "snapshots", out[i].BackendID, "fs")
			return nil
		})
		if err != nil {
			problems = append(problems, err)
		}
	}
	return out, errors.Join(problems...)
}

func bucket(tx *bolt.Tx, path ...string) *bolt.Bucket {
	b := tx.Bucket([]byte(path[0]))
	for _, p := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(p))
	}
	return b
}

// Collectors returns the export of container c.
func (r *Root) Collectors(c offline.Container, opts offline.ExportOptions) []collect.Collector {
	var rec *record
	if recs, err := r.containers(); err == nil {
		for i := range recs {
			if recs[i].ID == c.ID && recs[i].Namespace == c.Namespace {
				rec = &recs[i]
			}
		}
	}
	var chain []snapshotRecord
	var stack overlay.Stack
	var stackErr error
	if rec == nil {
		stackErr = fmt.Errorf("no container record in %s: the layers cannot be found", metaDB)
	} else {
		chain, stackErr = r.chain(*rec)
		for i := len(chain) - 1; i >= 0; i-- {
			if chain[i].Dir == "" {
				continue
			}
			stack.Layers = append(stack.Layers, overlay.Layer{ID: chain[i].Key, Dir: chain[i].Dir})
		}
	}
	steps := []collect.Collector{
		collect.Func("offline.records", func(ctx context.Context, sink collect.Sink) error {
			for _, n := range r.notes {
				sink.Logf("%s", n)
				sink.Note("%s", n)
			}
			var errs []error
			// The copies that were read, so the manifest holds what was
			// read and its hash (bolt only reads it; the copy is as copied).
			for _, cp := range r.copies {
				err := offline.CopyFile(ctx, sink, evidence.Meta{Path: "engine/" + cp.name, MediaType: "application/x-bolt",
					Description: cp.rel + " as copied to a temporary file before it was read: bolt locks a database it opens, so the original was only read, never opened by bolt"}, cp.path)
				if offline.Fatal(err) {
					return err
				}
				errs = append(errs, err)
			}
			if rec == nil {
				return sink.Fail(evidence.Meta{Path: "container/records/container.json"}, fmt.Errorf("no record of %s in %s", c.ID, metaDB))
			}
			for _, a := range []struct {
				m evidence.Meta
				v any
			}{
				{evidence.Meta{Path: "container/records/container.json", MediaType: "application/json", Description: "the container's record in containerd's meta.db (read from a copy)"}, rec},
				{evidence.Meta{Path: "container/records/snapshots.json", MediaType: "application/json", Description: "the container's snapshot chain, top first: meta.db's records and the overlayfs snapshotter's IDs and folders"}, chain},
			} {
				if err := sink.JSON(a.m, a.v); offline.Fatal(err) {
					return err
				} else {
					errs = append(errs, err)
				}
			}
			if rec.Spec != nil {
				if err := sink.Bytes(evidence.Meta{Path: "container/spec.json", MediaType: "application/json", Description: "the container's OCI runtime spec as meta.db stores it (" + rec.SpecType + ")"}, rec.Spec); offline.Fatal(err) {
					return err
				}
			}
			if imgs, err := r.images(); err == nil {
				for _, i := range imgs {
					if i.Namespace == rec.Namespace && i.Name == rec.Image {
						errs = append(errs, sink.JSON(evidence.Meta{Path: "container/records/image.json", MediaType: "application/json", Description: "the container's image record in meta.db"}, i))
					}
				}
			}
			if _, raw, err := r.criStatus(c.ID); raw != nil {
				errs = append(errs, sink.Bytes(evidence.Meta{Path: "container/records/cri-status.json", MediaType: "application/json", Description: "the CRI plugin's status file of the container as stored"}, raw))
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		}),
		collect.Func("offline.logs", func(ctx context.Context, sink collect.Sink) error { return r.podLogs(ctx, sink, c, opts.PodLogs) }),
	}
	steps = append(steps, offline.FilesystemCollectors(stack, stackErr)...)
	steps = append(steps, collect.Func("offline.image", func(ctx context.Context, sink collect.Sink) error { return r.image(sink, c) }))
	return steps
}

// blob reads a blob of the content store.
func (r *Root) blob(digest string) ([]byte, error) {
	algo, hexd, ok := strings.Cut(digest, ":")
	if !ok || strings.ContainsAny(algo+hexd, "/.\x00") || hexd == "" {
		return nil, fmt.Errorf("%q is not a digest", digest)
	}
	return offline.ReadFile(filepath.Join(r.dir, contentDir, algo, hexd), maxBlob)
}

// image stores the image's config (found through its manifest, for this
// platform in an index) and its history.
func (r *Root) image(sink collect.Sink, c offline.Container) error {
	m := evidence.Meta{Path: "image/config.json", MediaType: "application/vnd.oci.image.config.v1+json", Description: "the container's image config from the content store, byte for byte"}
	if c.ImageDigest == "" {
		return sink.Fail(m, fmt.Errorf("no image record for %q", c.Image))
	}
	digest := c.ImageDigest
	var cfg []byte
	for depth := 0; depth < 4 && cfg == nil; depth++ {
		b, err := r.blob(digest)
		if err != nil {
			return sink.Fail(m, fmt.Errorf("reading blob %s: %w", digest, err))
		}
		var doc struct {
			MediaType string
			Config    *struct{ Digest string }
			Manifests []struct {
				Digest   string
				Platform *struct{ OS, Architecture string }
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return sink.Fail(m, fmt.Errorf("blob %s: %w", digest, err))
		}
		switch {
		case doc.Config != nil:
			if cfg, err = r.blob(doc.Config.Digest); err != nil {
				return sink.Fail(m, fmt.Errorf("reading config blob %s: %w", doc.Config.Digest, err))
			}
		case len(doc.Manifests) > 0:
			next := doc.Manifests[0].Digest
			for _, mf := range doc.Manifests {
				if platformOK(mf.Platform) {
					next = mf.Digest
					break
				}
			}
			digest = next
		default:
			return sink.Fail(m, fmt.Errorf("blob %s is neither a manifest nor an index", digest))
		}
	}
	if err := sink.Bytes(m, cfg); offline.Fatal(err) {
		return err
	}
	var ic struct {
		History []json.RawMessage `json:"history"`
	}
	hm := evidence.Meta{Path: "image/history.json", MediaType: "application/json", Description: "the image's history from its config"}
	if err := json.Unmarshal(cfg, &ic); err != nil {
		return sink.Fail(hm, err)
	}
	if ic.History == nil {
		ic.History = []json.RawMessage{}
	}
	return sink.JSON(hm, ic.History)
}

// podLogs stores the container's files of the kubelet's pod logs folder
// (NAMESPACE_POD_UID/CONTAINER/N.log and its rotations) and the decoded
// streams.
func (r *Root) podLogs(ctx context.Context, sink collect.Sink, c offline.Container, dir string) error {
	if dir == "" {
		sink.Logf("no pod logs folder given (--pod-logs): the container's logs are not in the containerd root")
		return nil
	}
	if c.Pod == "" {
		sink.Logf("the container has no pod labels: no pod logs")
		return nil
	}
	cdir := filepath.Join(dir, c.PodNamespace+"_"+c.Pod+"_"+c.PodUID, c.KubeContainer)
	if strings.ContainsAny(c.PodNamespace+c.Pod+c.PodUID+c.KubeContainer, "/\x00") {
		return sink.Fail(evidence.Meta{Path: "logs/stdout.log"}, errors.New("pod labels hold a path separator"))
	}
	entries, err := offline.ReadDir(cdir)
	if err != nil {
		return sink.Fail(evidence.Meta{Path: "logs/stdout.log"}, fmt.Errorf("reading pod logs folder %s: %w", cdir, err))
	}
	type lf struct {
		name string
		gz   bool
		at   string
	}
	var files []lf
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		files = append(files, lf{name: e.Name(), gz: strings.HasSuffix(e.Name(), ".gz")})
	}
	// Rotated files are N.log.TIMESTAMP[.gz]; the current one N.log.
	sort.Slice(files, func(i, j int) bool {
		ki, kj := files[i].name, files[j].name
		ci, cj := strings.HasSuffix(ki, ".log"), strings.HasSuffix(kj, ".log")
		if ci != cj {
			return !ci
		}
		return ki < kj
	})
	var errs []error
	for _, f := range files {
		err := offline.CopyFile(ctx, sink, evidence.Meta{Path: "logs/files/" + offline.SafeName(f.name), Description: "the kubelet's log file " + filepath.Join(cdir, f.name) + " as stored"}, filepath.Join(cdir, f.name))
		if offline.Fatal(err) {
			return err
		}
		errs = append(errs, err)
	}
	for _, stream := range []string{"stdout", "stderr"} {
		m := evidence.Meta{Path: "logs/" + stream + ".log", MediaType: "text/plain", Description: "container " + stream + " decoded from the kubelet's CRI log files, oldest first, each line prefixed with its timestamp"}
		err := offline.StreamFunc(ctx, sink, m, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			var errs []error
			for _, f := range files {
				errs = append(errs, decodeCRI(bw, filepath.Join(cdir, f.name), f.gz, stream))
			}
			return errors.Join(append(errs, bw.Flush())...)
		})
		if offline.Fatal(err) {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// decodeCRI writes the lines of one stream of a CRI log file
// ("TIME STREAM P|F MESSAGE"), partial lines joined.
func decodeCRI(w *bufio.Writer, p string, gz bool, stream string) error {
	f, err := offline.OpenFile(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var rd io.Reader = f
	if gz {
		z, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		defer z.Close()
		rd = z
	}
	br := bufio.NewReaderSize(rd, 64<<10)
	pending := false
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if !bytes.HasSuffix(line, []byte("\n")) {
				return fmt.Errorf("%s: line %d: truncated entry at the end skipped", filepath.Base(p), n)
			}
			parts := bytes.SplitN(bytes.TrimSuffix(line, []byte("\n")), []byte(" "), 4)
			if len(parts) == 4 && string(parts[1]) == stream {
				if !pending {
					w.Write(parts[0])
					w.WriteByte(' ')
				}
				w.Write(parts[3])
				pending = string(parts[2]) == "P"
				if !pending {
					w.WriteByte('\n')
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
