package overlay

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
)

// header makes the tar header of an entry: its type, mode, owner, size,
// modification time and link target as stored. Owner names are left out:
// the host's user database says nothing about the container's.
func header(name string, info fs.FileInfo, link string) (*tar.Header, error) {
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return nil, err
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time0, time0
	hdr.Format = tar.FormatPAX
	return hdr, nil
}

// WriteMerged writes the stack's merged filesystem, every layer applied in
// order, as a tar to w. Files that share an inode in one layer are stored
// as hard links. A missing layer or an unreadable entry does not stop the
// tar: it is written to the end and the error returned names what is
// missing.
func (s Stack) WriteMerged(ctx context.Context, w io.Writer) error {
	if err := supported(); err != nil {
		return err
	}
	t := build(s.Layers)
	defer t.close()
	tw := tar.NewWriter(w)
	type inode struct {
		layer    int
		dev, ino uint64
	}
	links := map[inode]string{}
	var walk func(n *node, p string) error
	walk = func(n *node, p string) error {
		for _, c := range n.sorted() {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := path.Join(p, c.name)
			hdr, err := header(name, c.info, c.link)
			if err != nil {
				t.errs = append(t.errs, fmt.Errorf("/%s: %w", name, err))
				continue
			}
			var f *os.File
			if c.info.Mode().IsRegular() {
				if st, ok := statOf(c.info); ok && st.nlink > 1 {
					key := inode{c.layer, st.dev, st.ino}
					if first, ok := links[key]; ok {
						hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
						if err := tw.WriteHeader(hdr); err != nil {
							return err
						}
						continue
					}
					links[key] = name
				}
				if f, err = t.open(c); err != nil {
					t.errs = append(t.errs, fmt.Errorf("opening /%s in layer %s: %w", name, t.layers[c.layer].ID, err))
					continue
				}
			}
			if err := tw.WriteHeader(hdr); err != nil {
				if f != nil {
					f.Close()
				}
				return err
			}
			if f != nil {
				err := copyExact(tw, f, hdr.Size)
				f.Close()
				if err != nil {
					return fmt.Errorf("copying /%s from layer %s: %w", name, t.layers[c.layer].ID, err)
				}
			}
			if c.isDir() {
				if err := walk(c, name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(t.root, ""); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return joinErrs(t.errs)
}

// copyExact copies size bytes; a file that became shorter than its stat
// said is an error (the tar would be unreadable otherwise).
func copyExact(w io.Writer, r io.Reader, size int64) error {
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err == nil && n < size {
		err = fmt.Errorf("file ended after %d of %d bytes", n, size)
	}
	return err
}

// WriteUpper writes the writable (top) layer alone in OCI layer form: a
// deleted path becomes an empty ".wh.NAME" file, an opaque folder carries
// a ".wh..wh..opq" entry.
func (s Stack) WriteUpper(ctx context.Context, w io.Writer) error {
	if err := supported(); err != nil {
		return err
	}
	if len(s.Layers) == 0 {
		return errors.New("the stack has no layer")
	}
	top := s.Layers[len(s.Layers)-1]
	r, err := os.OpenRoot(top.Dir)
	if err != nil {
		return &MissingLayerError{Layer: top, Err: err}
	}
	defer r.Close()
	tw := tar.NewWriter(w)
	var errs []error
	var walk func(rel string) error
	walk = func(rel string) error {
		entries, err := readDir(r, rel)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := path.Join(rel, e.Name())
			info, err := r.Lstat(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if isWhiteout(info) {
				hdr := &tar.Header{Name: path.Join(rel, ".wh."+e.Name()), Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime(), Format: tar.FormatPAX}
				if err := tw.WriteHeader(hdr); err != nil {
					return err
				}
				continue
			}
			link := ""
			if info.Mode()&fs.ModeSymlink != 0 {
				if link, err = r.Readlink(p); err != nil {
					errs = append(errs, err)
				}
			}
			hdr, err := header(p, info, link)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			var f *os.File
			if info.Mode().IsRegular() {
				if f, err = openNoFollow(r, p); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			if err := tw.WriteHeader(hdr); err != nil {
				if f != nil {
					f.Close()
				}
				return err
			}
			if f != nil {
				err := copyExact(tw, f, hdr.Size)
				f.Close()
				if err != nil {
					return fmt.Errorf("copying /%s: %w", p, err)
				}
			}
			if info.IsDir() {
				if isOpaque(top.Dir + "/" + p) {
					if err := tw.WriteHeader(&tar.Header{Name: p + "/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime(), Format: tar.FormatPAX}); err != nil {
						return err
					}
				}
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return joinErrs(errs)
}

// Change is one entry of a diff, as docker diff reports it.
type Change struct {
	// Kind is "added", "changed" or "deleted".
	Kind string `json:"kind"`
	// Path is absolute inside the container.
	Path string `json:"path"`
}

// Diff compares the whole stack with the stack without its top layer the
// way the engine's naive differ does (docker diff): a path only on top is
// added, one only below is deleted (a deleted folder is one change), one
// whose type, mode, owner, device or, for non-folders, size or
// modification time differ is changed, and a folder with changes inside
// is changed too.
func (s Stack) Diff(ctx context.Context) ([]Change, error) {
	if err := supported(); err != nil {
		return nil, err
	}
	if len(s.Layers) == 0 {
		return nil, errors.New("the stack has no layer")
	}
	lower := build(s.Layers[:len(s.Layers)-1])
	defer lower.close()
	full := build(s.Layers)
	defer full.close()
	var changes []Change
	var add func(newN, oldN *node, p string, added bool)
	add = func(newN, oldN *node, p string, added bool) {
		start := len(changes)
		var oldChildren map[string]*node
		if oldN != nil {
			oldChildren = map[string]*node{}
			for k, v := range oldN.children {
				oldChildren[k] = v
			}
		}
		for _, c := range newN.sorted() {
			cp := p + "/" + c.name
			var oc *node
			if oldChildren != nil {
				oc = oldChildren[c.name]
			}
			childAdded := false
			if oc == nil {
				changes = append(changes, Change{Kind: "added", Path: cp})
				childAdded = true
			} else {
				if statDifferent(oc.info, c.info) {
					changes = append(changes, Change{Kind: "changed", Path: cp})
					childAdded = true
				}
				delete(oldChildren, c.name)
			}
			if c.isDir() {
				if oc != nil && !oc.isDir() {
					oc = nil
				}
				add(c, oc, cp, childAdded)
			}
		}
		var gone []string
		for name := range oldChildren {
			gone = append(gone, name)
		}
		sort.Strings(gone)
		for _, name := range gone {
			changes = append(changes, Change{Kind: "deleted", Path: p + "/" + name})
		}
		if len(changes) > start && newN.isDir() && !added && p != "" {
			changes = append(changes, Change{})
			copy(changes[start+1:], changes[start:])
			changes[start] = Change{Kind: "changed", Path: p}
		}
	}
	add(full.root, lower.root, "", false)
	errs := append(lower.errs, full.errs...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, joinErrs(dedupe(errs))
}

func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// statDifferent is the engine's test for a changed entry.
func statDifferent(a, b fs.FileInfo) bool {
	sa, okA := statOf(a)
	sb, okB := statOf(b)
	if !okA || !okB {
		return a.Mode() != b.Mode() || (!a.IsDir() && (a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime())))
	}
	if sa.mode != sb.mode || sa.uid != sb.uid || sa.gid != sb.gid || sa.rdev != sb.rdev {
		return true
	}
	if !a.IsDir() {
		return sa.mtimeSec != sb.mtimeSec || sa.mtimeNsec != sb.mtimeNsec || sa.size != sb.size
	}
	return false
}

// DriftEntry is one path the writable layer adds, modifies or deletes
// against the image.
type DriftEntry struct {
	Path string `json:"path"`
	// Type is "file", "dir", "symlink" or "other"; empty for deletions.
	Type string `json:"type,omitempty"`
	Mode string `json:"mode,omitempty"`
	Size int64  `json:"size,omitempty"`
	// SHA256 is the content's digest, for regular files.
	SHA256 string `json:"sha256,omitempty"`
	// Executable is set for a regular file with an execute bit or ELF magic.
	Executable bool   `json:"executable,omitempty"`
	LinkTarget string `json:"link_target,omitempty"`
}

// Drift is what the writable layer changed against the image, like
// container-explorer's drift.
type Drift struct {
	Added    []DriftEntry `json:"added"`
	Modified []DriftEntry `json:"modified"`
	Deleted  []DriftEntry `json:"deleted"`
	// NewExecutables are the added or modified files that can run.
	NewExecutables []DriftEntry `json:"new_executables"`
}

// Drift walks the top layer against the merged layers below it.
func (s Stack) Drift(ctx context.Context) (Drift, error) {
	d := Drift{Added: []DriftEntry{}, Modified: []DriftEntry{}, Deleted: []DriftEntry{}, NewExecutables: []DriftEntry{}}
	if err := supported(); err != nil {
		return d, err
	}
	if len(s.Layers) == 0 {
		return d, errors.New("the stack has no layer")
	}
	lower := build(s.Layers[:len(s.Layers)-1])
	defer lower.close()
	upper := build(s.Layers[len(s.Layers)-1:])
	defer upper.close()
	errs := append([]error(nil), lower.errs...)
	// The top layer's raw entries, whiteouts included: build drops them.
	top := s.Layers[len(s.Layers)-1]
	r := upper.roots[0]
	if r == nil {
		return d, joinErrs(append(errs, upper.errs...))
	}
	var walk func(rel string, hidden bool) error
	walk = func(rel string, hidden bool) error {
		entries, err := readDir(r, rel)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := path.Join(rel, e.Name())
			info, err := r.Lstat(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			below := lower.lookup(p)
			if hidden {
				below = nil
			}
			if isWhiteout(info) {
				if below != nil {
					d.Deleted = append(d.Deleted, DriftEntry{Path: "/" + p})
				}
				continue
			}
			entry := DriftEntry{Path: "/" + p, Type: typeName(info), Mode: info.Mode().String()}
			if info.Mode().IsRegular() {
				entry.Size = info.Size()
				sum, elf, err := hashFile(r, p)
				if err != nil {
					errs = append(errs, fmt.Errorf("reading /%s: %w", p, err))
				}
				entry.SHA256 = sum
				entry.Executable = elf || info.Mode()&0o111 != 0
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				entry.LinkTarget, _ = r.Readlink(p)
			}
			opaque := info.IsDir() && isOpaque(top.Dir+"/"+p)
			switch {
			case below == nil:
				d.Added = append(d.Added, entry)
			case info.IsDir() && below.isDir():
				// A folder copied up because something inside changed.
			default:
				d.Modified = append(d.Modified, entry)
			}
			if entry.Executable && (below == nil || !below.isDir()) {
				d.NewExecutables = append(d.NewExecutables, entry)
			}
			if info.IsDir() {
				if opaque && below != nil {
					for _, c := range below.sorted() {
						if upper.lookup(path.Join(p, c.name)) == nil {
							d.Deleted = append(d.Deleted, DriftEntry{Path: "/" + path.Join(p, c.name)})
						}
					}
				}
				if err := walk(p, hidden || opaque); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk("", false)
	if err == nil {
		err = joinErrs(errs)
	}
	return d, err
}

func typeName(info fs.FileInfo) string {
	switch {
	case info.Mode().IsRegular():
		return "file"
	case info.IsDir():
		return "dir"
	case info.Mode()&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

// hashFile returns the SHA-256 of a layer file and whether it starts with
// the ELF magic.
func hashFile(r *os.Root, rel string) (string, bool, error) {
	f, err := openNoFollow(r, rel)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	h := sha256.New()
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	h.Write(magic[:n])
	if _, err := io.Copy(h, f); err != nil {
		return "", false, err
	}
	return hex.EncodeToString(h.Sum(nil)), n == 4 && string(magic) == "\x7fELF", nil
}
