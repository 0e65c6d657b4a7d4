//go:build linux

package nodesnap

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Change kinds in diff.json, as Docker's diff names them.
const (
	KindAdded   = "added"
	KindChanged = "changed"
	KindDeleted = "deleted"
)

// Change is one entry of diff.json: a path in the container (from /), its
// kind, and what the layer holds there.
type Change struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Type is file, dir, symlink, hardlink, char, block, fifo, socket or
	// whiteout.
	Type string `json:"type"`
	// Opaque marks a directory whose lower content is hidden.
	Opaque bool `json:"opaque,omitempty"`
}

// maxEntryErrors bounds the per-entry problems kept in the report.
const maxEntryErrors = 100

// layerWriter writes an overlay upper directory as an OCI layer tar: an
// overlay whiteout (a 0/0 character device) becomes .wh.NAME, an opaque
// directory (xattr overlay.opaque=y) gets a .wh..wh..opq entry. Files are
// streamed one at a time; only the list of changes stays in memory.
type layerWriter struct {
	ctx     context.Context
	tw      *tar.Writer
	upper   string   // under the host root
	lowers  []string // under the host root
	links   map[uint64]string
	changes []Change
	// opaqueCache remembers which lower folders are opaque.
	opaqueCache map[string]bool
	entries     int
	bytes       int64
	errs        []string
}

func (lw *layerWriter) entryErr(rel string, err error) {
	if len(lw.errs) < maxEntryErrors {
		lw.errs = append(lw.errs, fmt.Sprintf("/%s: %v", rel, err))
	} else if len(lw.errs) == maxEntryErrors {
		lw.errs = append(lw.errs, "more entry errors left out")
	}
}

// walk writes the entries below rel (a slash path relative to the upper
// directory, "" for its top), in name order. Only errors writing the tar
// stop it; a file that cannot be read is noted and skipped.
func (lw *layerWriter) walk(rel string) error {
	ents, err := os.ReadDir(filepath.Join(lw.upper, rel))
	if err != nil {
		if rel == "" {
			return fmt.Errorf("reading the upperdir: %w", err)
		}
		lw.entryErr(rel, err)
		return nil
	}
	for _, e := range ents {
		if err := lw.ctx.Err(); err != nil {
			return err
		}
		if err := lw.entry(path.Join(rel, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (lw *layerWriter) entry(rel string) error {
	p := filepath.Join(lw.upper, rel)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		lw.entryErr(rel, err)
		return nil
	}
	mode := st.Mode & unix.S_IFMT
	if mode == unix.S_IFCHR && st.Rdev == 0 {
		dir, base := path.Split(rel)
		lw.changes = append(lw.changes, Change{Path: "/" + rel, Kind: KindDeleted, Type: "whiteout"})
		return lw.write(&tar.Header{
			Typeflag: tar.TypeReg, Name: dir + ".wh." + base, Mode: 0o600,
			Uid: int(st.Uid), Gid: int(st.Gid), ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
		}, nil)
	}
	hdr := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
	}
	if x := xattrs(p); len(x) > 0 {
		hdr.PAXRecords = map[string]string{}
		for k, v := range x {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	c := Change{Path: "/" + rel, Kind: lw.kind(rel)}
	var body *os.File
	if to, ok := overlayXattr(p, "redirect"); ok {
		lw.entryErr(rel, fmt.Errorf("a folder renamed in the container (overlay redirect from %s): the content it kept from the image is not in this layer", to))
	}
	if _, ok := overlayXattr(p, "metacopy"); ok {
		lw.entryErr(rel, errors.New("a metadata-only copy (overlay metacopy): its data is the image's, not in this layer"))
	}
	switch mode {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name, c.Type = tar.TypeDir, rel+"/", "dir"
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			lw.entryErr(rel, err)
			return nil
		}
		hdr.Typeflag, hdr.Linkname, c.Type = tar.TypeSymlink, target, "symlink"
	case unix.S_IFREG:
		if first, ok := lw.links[st.Ino]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname, c.Type = tar.TypeLink, first, "hardlink"
			break
		}
		if st.Nlink > 1 {
			lw.links[st.Ino] = rel
		}
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if err != nil {
			lw.entryErr(rel, err)
			return nil
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size, c.Type, body = tar.TypeReg, st.Size, "file", f
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag, c.Type = tar.TypeChar, "char"
		if mode == unix.S_IFBLK {
			hdr.Typeflag, c.Type = tar.TypeBlock, "block"
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag, c.Type = tar.TypeFifo, "fifo"
	default:
		lw.entryErr(rel, errors.New("a socket: left out of the layer"))
		return nil
	}
	lw.changes = append(lw.changes, c)
	if err := lw.write(hdr, body); err != nil {
		return err
	}
	if mode != unix.S_IFDIR {
		return nil
	}
	if opaque(p) {
		lw.changes[len(lw.changes)-1].Opaque = true
		if err := lw.write(&tar.Header{
			Typeflag: tar.TypeReg, Name: rel + "/.wh..wh..opq", Mode: 0o600,
			ModTime: hdr.ModTime, Format: tar.FormatPAX,
		}, nil); err != nil {
			return err
		}
	}
	return lw.walk(rel)
}

// write writes a header and, for a regular file, exactly hdr.Size bytes
// of body: a file that shrank while read is padded with zeros and noted.
func (lw *layerWriter) write(hdr *tar.Header, body io.Reader) error {
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing the layer tar at %s: %w", hdr.Name, err)
	}
	lw.entries++
	if body == nil || hdr.Size == 0 {
		return nil
	}
	n, err := io.CopyN(lw.tw, ctxReader{lw.ctx, body}, hdr.Size)
	lw.bytes += n
	if err != nil && (errors.Is(err, io.EOF) || !isWriteErr(err)) {
		lw.entryErr(hdr.Name, fmt.Errorf("read %d of %d bytes: %v; the rest is zeros", n, hdr.Size, err))
		_, err = io.CopyN(lw.tw, zeros{}, hdr.Size-n)
	}
	if err != nil {
		return fmt.Errorf("writing the layer tar at %s: %w", hdr.Name, err)
	}
	return nil
}

// isWriteErr tells a failure of the stream (stop) from one of the file.
func isWriteErr(err error) bool {
	var pe *fs.PathError
	return !errors.As(err, &pe) && !errors.Is(err, context.Canceled)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// kind is changed when the path was visible in the image (the merged
// lower directories), else added. The lower directories are searched from
// the top: a whiteout there, or an opaque folder above the path, hides
// what the layers below hold.
func (lw *layerWriter) kind(rel string) string {
	for _, l := range lw.lowers {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(l, rel), &st); err == nil {
			if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
				return KindAdded // deleted in the image
			}
			return KindChanged
		}
		for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
			if lw.opaqueAt(l, dir) {
				return KindAdded
			}
		}
	}
	return KindAdded
}

// opaqueAt reports, with a cache, whether dir is opaque in a lower layer.
func (lw *layerWriter) opaqueAt(lower, dir string) bool {
	k := lower + "\x00" + dir
	v, ok := lw.opaqueCache[k]
	if !ok {
		v = opaque(filepath.Join(lower, dir))
		if lw.opaqueCache == nil {
			lw.opaqueCache = map[string]bool{}
		}
		lw.opaqueCache[k] = v
	}
	return v
}

// opaque reports whether an upper directory hides its lower content.
func opaque(p string) bool {
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		b := make([]byte, 8)
		n, err := unix.Lgetxattr(p, name, b)
		if err == nil && n == 1 && b[0] == 'y' {
			return true
		}
	}
	return false
}

// overlayXattr reads overlay's own attribute name (trusted.overlay.NAME,
// or user.overlay.NAME in userxattr mounts).
func overlayXattr(p, name string) (string, bool) {
	for _, prefix := range []string{"trusted.overlay.", "user.overlay."} {
		b := make([]byte, 4096)
		if n, err := unix.Lgetxattr(p, prefix+name, b); err == nil {
			return string(b[:n]), true
		}
	}
	return "", false
}

// xattrs returns the extended attributes of p other than overlay's own.
func xattrs(p string) map[string]string {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz <= 0 {
		return nil
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		vsz, err := unix.Lgetxattr(p, name, nil)
		if err != nil || vsz < 0 {
			continue
		}
		v := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(p, name, v); err == nil {
			out[name] = string(v[:vsz])
		}
	}
	return out
}
