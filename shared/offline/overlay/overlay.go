package overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Layer is one folder of an overlay stack.
type Layer struct {
	// ID names the layer in errors and reports (a cache ID, a snapshot ID).
	ID string
	// Dir is the layer's folder (overlay2's diff/, a snapshot's fs/).
	Dir string
}

// Stack is a container's layers, the image's lowest first and the
// container's writable layer last.
type Stack struct {
	Layers []Layer
}

// MissingLayerError says that a layer of the chain is not on disk: what is
// rebuilt without it is incomplete.
type MissingLayerError struct {
	Layer Layer
	Err   error
}

func (e *MissingLayerError) Error() string {
	return fmt.Sprintf("layer %s (%s) is missing: %v", e.Layer.ID, e.Layer.Dir, e.Err)
}

func (e *MissingLayerError) Unwrap() error { return e.Err }

// node is one entry of a merged tree.
type node struct {
	name     string
	info     fs.FileInfo
	layer    int    // index into the layers the tree was built from
	rel      string // path inside that layer, slash separated, no leading slash
	link     string
	children map[string]*node
}

func (n *node) isDir() bool { return n.info.IsDir() }

// sorted returns n's children by name.
func (n *node) sorted() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// tree is the merged view of some layers.
type tree struct {
	root   *node
	roots  []*os.Root // one per layer, nil when the layer is missing
	layers []Layer
	errs   []error // missing layers and unreadable entries
}

func (t *tree) close() {
	for _, r := range t.roots {
		if r != nil {
			r.Close()
		}
	}
}

// isWhiteout reports whether info is overlayfs's whiteout: a character
// device 0:0.
func isWhiteout(info fs.FileInfo) bool {
	if info.Mode()&fs.ModeCharDevice == 0 || info.Mode()&fs.ModeDevice == 0 {
		return false
	}
	st, ok := statOf(info)
	return ok && st.rdev == 0
}

// sysStat is the part of an entry's inode the merge and the diff compare,
// filled in per system by statOf.
type sysStat struct {
	dev, ino, nlink, rdev uint64
	mode, uid, gid        uint32
	size                  int64
	mtimeSec, mtimeNsec   int64
}

// build merges layers, lowest first, into one tree: whiteouts delete,
// opaque folders hide what is below them, a later entry replaces an
// earlier one, folders merge.
func build(layers []Layer) *tree {
	t := &tree{layers: layers, roots: make([]*os.Root, len(layers))}
	t.root = &node{name: "", children: map[string]*node{}}
	for i, l := range layers {
		r, err := os.OpenRoot(l.Dir)
		if err != nil {
			t.errs = append(t.errs, &MissingLayerError{Layer: l, Err: err})
			continue
		}
		t.roots[i] = r
		if info, err := r.Lstat("."); err == nil {
			t.root.info, t.root.layer = info, i
		}
		t.walk(i, "", t.root)
	}
	if t.root.info == nil {
		t.root.info = dirInfo{}
	}
	return t
}

// readDir lists the folder rel ("" for the top) of a layer by name,
// opened without following a link. The entries read before an error are
// returned with it; none when the folder cannot be opened.
func readDir(r *os.Root, rel string) ([]os.DirEntry, error) {
	dir := rel
	if dir == "" {
		dir = "."
	}
	f, err := openNoFollow(r, dir)
	if err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	sort.Slice(entries, func(a, b int) bool { return entries[a].Name() < entries[b].Name() })
	return entries, err
}

// walk applies the folder rel of layer i onto parent.
func (t *tree) walk(i int, rel string, parent *node) {
	r := t.roots[i]
	entries, err := readDir(r, rel)
	if err != nil {
		t.errs = append(t.errs, fmt.Errorf("reading layer %s folder /%s: %w", t.layers[i].ID, rel, err))
	}
	for _, e := range entries {
		name := e.Name()
		p := path.Join(rel, name)
		info, err := r.Lstat(p)
		if err != nil {
			t.errs = append(t.errs, fmt.Errorf("reading layer %s entry /%s: %w", t.layers[i].ID, p, err))
			continue
		}
		if isWhiteout(info) {
			delete(parent.children, name)
			continue
		}
		old := parent.children[name]
		if info.IsDir() {
			opaque := isOpaque(t.layers[i].Dir + "/" + p)
			n := old
			if n == nil || !n.isDir() || opaque {
				n = &node{name: name, children: map[string]*node{}}
				parent.children[name] = n
			}
			n.info, n.layer, n.rel = info, i, p
			t.walk(i, p, n)
			continue
		}
		n := &node{name: name, info: info, layer: i, rel: p}
		if info.Mode()&fs.ModeSymlink != 0 {
			if n.link, err = r.Readlink(p); err != nil {
				t.errs = append(t.errs, fmt.Errorf("reading link /%s in layer %s: %w", p, t.layers[i].ID, err))
			}
		}
		parent.children[name] = n
	}
}

// lookup finds the node at slash path p ("a/b"), or nil.
func (t *tree) lookup(p string) *node {
	n := t.root
	for _, part := range strings.Split(p, "/") {
		if part == "" {
			continue
		}
		if n.children == nil {
			return nil
		}
		if n = n.children[part]; n == nil {
			return nil
		}
	}
	return n
}

// open opens a regular file of the tree for reading, without following a
// link and, where allowed, without touching its access time.
func (t *tree) open(n *node) (*os.File, error) {
	return openNoFollow(t.roots[n.layer], n.rel)
}

// dirInfo stands in for the root of a stack whose every layer is missing.
type dirInfo struct{}

func (dirInfo) Name() string       { return "/" }
func (dirInfo) Size() int64        { return 0 }
func (dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (dirInfo) ModTime() time.Time { return time.Time{} }
func (dirInfo) IsDir() bool        { return true }
func (dirInfo) Sys() any           { return nil }

// joinErrs folds a tree's problems into one error, or nil.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// time0 clears a tar header's access and change times.
var time0 time.Time
