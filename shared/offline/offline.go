// Package offline reads container engines' data roots at rest — a Docker
// data root (/var/lib/docker) or a containerd root (/var/lib/containerd),
// typically from a mounted disk image — with no daemon, and turns a
// container into the same evidence bundle a live export writes.
//
// Nothing under a root is ever written: files are opened read-only (and
// without touching access times where the kernel allows it), links inside
// layers are never followed, and a database that would take a lock to be
// read is copied to a temporary file first. The backends are
// offline/dockerroot and offline/containerdroot; offline/roots picks one
// by what a folder holds.
package offline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline/overlay"
)

// Kind is the kind of data root.
type Kind string

// The kinds of data root this package reads.
const (
	Docker     Kind = "docker"
	Containerd Kind = "containerd"
)

// ErrUnknownRoot is returned for a folder that is neither a Docker data
// root nor a containerd root.
var ErrUnknownRoot = errors.New("neither a Docker data root (containers/, image/overlay2/, overlay2/, volumes/) nor a containerd root (io.containerd.metadata.v1.bolt/meta.db, io.containerd.snapshotter.v1.overlayfs/)")

// Detect tells by its content what kind of root dir is.
func Detect(dir string) (Kind, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("reading root %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("root %s is not a folder", dir)
	}
	has := func(p string) bool { _, err := os.Lstat(filepath.Join(dir, p)); return err == nil }
	if has("containers") && (has("image/overlay2") || has("overlay2")) {
		return Docker, nil
	}
	if has("io.containerd.metadata.v1.bolt") || has("io.containerd.snapshotter.v1.overlayfs") {
		return Containerd, nil
	}
	return "", fmt.Errorf("root %s: %w", dir, ErrUnknownRoot)
}

// Container is a container as its root records it.
type Container struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Image       string    `json:"image,omitempty"`
	ImageID     string    `json:"image_id,omitempty"`
	ImageDigest string    `json:"image_digest,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	// State is the state recorded when the engine last wrote it: running
	// (the engine never stopped it), exited, created, paused, dead; or
	// unknown when the root does not say.
	State    string    `json:"state"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Namespace is containerd's namespace (k8s.io, default...).
	Namespace string `json:"namespace,omitempty"`
	// Pod, PodNamespace and KubeContainer come from the CRI labels.
	Pod           string `json:"pod,omitempty"`
	PodNamespace  string `json:"pod_namespace,omitempty"`
	PodUID        string `json:"pod_uid,omitempty"`
	KubeContainer string `json:"kube_container,omitempty"`
	// Sandbox marks a pod's infrastructure (pause) container.
	Sandbox bool              `json:"sandbox,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Problems are what could not be read about this container.
	Problems []string `json:"problems,omitempty"`
}

// Label returns the container's best display name.
func (c Container) Label() string {
	if c.Name != "" {
		return c.Name
	}
	return ShortID(c.ID)
}

// ShortID is the first 12 characters of an ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// FromCRILabels fills the Kubernetes names from the CRI labels.
func (c *Container) FromCRILabels() {
	c.Pod = c.Labels["io.kubernetes.pod.name"]
	c.PodNamespace = c.Labels["io.kubernetes.pod.namespace"]
	c.PodUID = c.Labels["io.kubernetes.pod.uid"]
	c.KubeContainer = c.Labels["io.kubernetes.container.name"]
	c.Sandbox = c.Labels["io.cri-containerd.kind"] == "sandbox"
}

// Image is an image a root holds.
type Image struct {
	Name    string    `json:"name,omitempty"`
	ID      string    `json:"id"`
	Digest  string    `json:"digest,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Namespace is containerd's namespace.
	Namespace string `json:"namespace,omitempty"`
}

// Volume is a named volume a root holds.
type Volume struct {
	Name   string `json:"name"`
	Driver string `json:"driver,omitempty"`
	// Path is the volume's data folder inside the root.
	Path string `json:"path"`
}

// Listing is what ls shows.
type Listing struct {
	Kind       Kind        `json:"kind"`
	Root       string      `json:"root"`
	Containers []Container `json:"containers"`
	Images     []Image     `json:"images"`
	Volumes    []Volume    `json:"volumes"`
	// Problems are what could not be read; the rest is listed.
	Problems []string `json:"problems,omitempty"`
}

// ExportOptions choose what an export adds beyond the default.
type ExportOptions struct {
	// Volumes adds the contents of named volumes.
	Volumes bool
	// PodLogs is the kubelet's pod logs folder (/var/log/pods) of a
	// containerd root.
	PodLogs string
}

// Root is one data root opened for reading.
type Root interface {
	// Kind says which engine wrote the root.
	Kind() Kind
	// List reads every container, image and volume the root records.
	List(ctx context.Context) (Listing, error)
	// Collectors returns the export of c, a container of List.
	Collectors(c Container, opts ExportOptions) []collect.Collector
	// Engine describes the root for custody.json.
	Engine() evidence.Engine
	// Close removes any temporary copy the root made.
	Close() error
}

// Resolve finds the container ref names: a full ID, a name (with or
// without Docker's leading slash), a pod/container pair
// (NAMESPACE/POD/CONTAINER or POD/CONTAINER), or an unambiguous ID prefix.
func Resolve(l Listing, ref string) (Container, error) {
	for _, c := range l.Containers {
		if c.ID == ref {
			return c, nil
		}
	}
	// Names are unique on a live engine, but not in a root put together
	// by hand or by an attacker: two matches are an ambiguity too.
	var named []Container
	for _, c := range l.Containers {
		if c.Name != "" && strings.TrimPrefix(c.Name, "/") == strings.TrimPrefix(ref, "/") ||
			c.Pod != "" && (ref == c.Pod+"/"+c.KubeContainer || ref == c.PodNamespace+"/"+c.Pod+"/"+c.KubeContainer) {
			named = append(named, c)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
	default:
		return Container{}, fmt.Errorf("container name %q matches %d containers (%s): give the ID", ref, len(named), shortIDs(named))
	}
	var matches []Container
	for _, c := range l.Containers {
		if strings.HasPrefix(c.ID, ref) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return Container{}, fmt.Errorf("no container %q in root %s: list them with offline ls", ref, l.Root)
	}
	return Container{}, fmt.Errorf("container ID prefix %q matches %d containers (%s): give more of the ID", ref, len(matches), shortIDs(matches))
}

func shortIDs(cs []Container) string {
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, ShortID(c.ID))
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// MountInfo describes the filesystem a folder is on, from
// /proc/self/mountinfo: the mount point, its source, type and options.
func MountInfo(dir string) map[string]string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	best := map[string]string{}
	bestLen := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+3 || len(fields) < 6 {
			continue
		}
		mp := unescape(fields[4])
		if !(abs == mp || mp == "/" || strings.HasPrefix(abs, mp+"/")) || len(mp) <= bestLen {
			continue
		}
		bestLen = len(mp)
		best = map[string]string{"mount_point": mp, "filesystem": fields[sep+1], "mount_source": unescape(fields[sep+2]), "mount_options": fields[5]}
	}
	if bestLen < 0 {
		return nil
	}
	return best
}

func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// ReadFile reads a whole file with OpenFile, at most limit bytes.
func ReadFile(p string, limit int64) ([]byte, error) {
	f, err := OpenFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return b, err
}

// CopyFile stores the file at p as artifact m.
func CopyFile(ctx context.Context, sink collect.Sink, m evidence.Meta, p string) error {
	f, err := OpenFile(p)
	if err != nil {
		return sink.Fail(m, err)
	}
	defer f.Close()
	return sink.Stream(ctx, m, f)
}

// Fatal reports whether a sink error means the bundle is unwritable.
func Fatal(err error) bool { return err != nil && !evidence.IsSourceError(err) }

// FilesystemCollectors are the filesystem artifacts of a container whose
// layers are stack, lowest first and its writable layer last; stackErr
// says what is wrong with the chain itself (a layer that could not be
// found), and marks the merged filesystem incomplete.
func FilesystemCollectors(stack overlay.Stack, stackErr error) []collect.Collector {
	withChain := func(err error) error {
		if stackErr == nil {
			return err
		}
		if err == nil {
			return fmt.Errorf("incomplete layer chain: %w", stackErr)
		}
		return errors.Join(fmt.Errorf("incomplete layer chain: %w", stackErr), err)
	}
	return []collect.Collector{
		collect.Func("offline.filesystem", func(ctx context.Context, sink collect.Sink) error {
			m := evidence.Meta{Path: "container/filesystem.tar", MediaType: "application/x-tar",
				Description: "the container's filesystem rebuilt from its layers in order (whiteouts and opaque folders applied), as docker export would give it"}
			if len(stack.Layers) == 0 {
				return sink.Fail(m, withChain(errors.New("no layer found")))
			}
			return StreamFunc(ctx, sink, m, func(w io.Writer) error { return withChain(stack.WriteMerged(ctx, w)) })
		}),
		collect.Func("offline.upper", func(ctx context.Context, sink collect.Sink) error {
			m := evidence.Meta{Path: "container/upper.tar", MediaType: "application/vnd.oci.image.layer.v1.tar",
				Description: "the container's writable layer alone, in OCI layer form (deletions as .wh. files, opaque folders as .wh..wh..opq)"}
			if len(stack.Layers) == 0 {
				return sink.Fail(m, withChain(errors.New("no layer found")))
			}
			return StreamFunc(ctx, sink, m, func(w io.Writer) error { return stack.WriteUpper(ctx, w) })
		}),
		collect.Func("offline.diff", func(ctx context.Context, sink collect.Sink) error {
			m := evidence.Meta{Path: "container/diff.json", MediaType: "application/json",
				Description: "changes to the container's filesystem against its image (as docker diff reports them), with kind added/changed/deleted"}
			if len(stack.Layers) == 0 {
				return sink.Fail(m, withChain(errors.New("no layer found")))
			}
			changes, err := stack.Diff(ctx)
			if changes == nil {
				changes = []overlay.Change{}
			}
			if err = withChain(err); err != nil {
				sink.Logf("diff: %v", err)
				if len(changes) == 0 {
					return sink.Fail(m, err)
				}
				sink.Note("container/diff.json may lack changes: %v", err)
			}
			if err := sink.JSON(m, changes); Fatal(err) {
				return err
			}
			var text strings.Builder
			for _, c := range changes {
				fmt.Fprintf(&text, "%s %s\n", map[string]string{"added": "A", "changed": "C", "deleted": "D"}[c.Kind], c.Path)
			}
			return sink.Bytes(evidence.Meta{Path: "container/diff.txt", MediaType: "text/plain",
				Description: "the same changes as docker diff prints them (A added, C changed, D deleted)"}, []byte(text.String()))
		}),
		collect.Func("offline.drift", func(ctx context.Context, sink collect.Sink) error {
			m := evidence.Meta{Path: "container/drift.json", MediaType: "application/json",
				Description: "drift of the writable layer against the image: added, modified, deleted and new executable files, with SHA-256 of each file"}
			if len(stack.Layers) == 0 {
				return sink.Fail(m, withChain(errors.New("no layer found")))
			}
			d, err := stack.Drift(ctx)
			if err = withChain(err); err != nil {
				sink.Logf("drift: %v", err)
				sink.Note("container/drift.json may be incomplete: %v", err)
			}
			return sink.JSON(m, d)
		}),
	}
}

// VolumeCollector stores each volume's data folder as volumes/NAME.tar.
func VolumeCollector(vols []Volume) collect.Collector {
	return collect.Func("offline.volumes", func(ctx context.Context, sink collect.Sink) error {
		var errs []error
		for _, v := range vols {
			m := evidence.Meta{Path: "volumes/" + SafeName(v.Name) + ".tar", MediaType: "application/x-tar",
				Description: "the contents of named volume " + v.Name + " (" + v.Path + ")"}
			st := overlay.Stack{Layers: []overlay.Layer{{ID: "volume " + v.Name, Dir: v.Path}}}
			err := StreamFunc(ctx, sink, m, func(w io.Writer) error { return st.WriteMerged(ctx, w) })
			if Fatal(err) {
				return err
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// SafeName makes a name safe as one path element of a bundle.
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out == "." || out == ".." {
		out = "_" + out
	}
	return out
}

// StreamFunc stores what produce writes as artifact m; produce's error
// marks the artifact partial. produce runs in its own goroutine, which
// has ended when StreamFunc returns.
func StreamFunc(ctx context.Context, sink collect.Sink, m evidence.Meta, produce func(w io.Writer) error) error {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(produce(pw))
	}()
	err := sink.Stream(ctx, m, pr)
	pr.CloseWithError(errors.New("stream closed by its reader"))
	<-done
	return err
}

// ReadDir lists a folder under a root like os.ReadDir, without following
// a final link and without updating the folder's access time where the
// kernel allows it.
func ReadDir(p string) ([]os.DirEntry, error) {
	f, err := OpenFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, err
}
