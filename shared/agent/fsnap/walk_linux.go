//go:build linux

package fsnap

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Options configure a walk.
type Options struct {
	// Root is the directory to archive, such as /proc/<pid>/root.
	Root string
	// Mounts are the target's mounts (ParseMountInfo); those marked
	// Skipped are left out. Nil skips nothing.
	Mounts []Mount
	// MaxDepth bounds directory nesting; 0 means 1024.
	MaxDepth int

	// beforeOpen, in tests, runs before an entry is opened.
	beforeOpen func(rel string)
}

// Report is what the walk did besides the tar: the fs/report.json side
// artifact.
type Report struct {
	Root     string    `json:"root"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Complete is false when the walk was cut short; Error says why.
	Complete bool   `json:"complete"`
	Error    string `json:"error,omitempty"`
	Counts   Counts `json:"counts"`
	// Skipped lists what the tar leaves out on purpose: pseudo filesystem
	// mounts, sockets, loops.
	Skipped []Skipped `json:"skipped"`
	// Errors lists entries that vanished or could not be read.
	Errors []EntryError `json:"errors"`
}

// Counts count the tar's entries by type; Bytes is file content.
type Counts struct {
	Files     int64 `json:"files"`
	Dirs      int64 `json:"dirs"`
	Symlinks  int64 `json:"symlinks"`
	Hardlinks int64 `json:"hardlinks"`
	Devices   int64 `json:"devices"`
	FIFOs     int64 `json:"fifos"`
	Sockets   int64 `json:"sockets"`
	Bytes     int64 `json:"bytes"`
}

// Skipped is an entry left out on purpose.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// EntryError is an entry that could not be archived (whole or in part).
type EntryError struct {
	Path  string `json:"path"`
	Op    string `json:"op"`
	Error string `json:"error"`
}

type devIno struct{ dev, ino uint64 }

type walker struct {
	ctx       context.Context
	o         Options
	tw        *tar.Writer
	rep       *Report
	skip      map[string]Mount
	links     map[devIno]string
	ancestors []devIno
	ancPaths  []string
	buf       []byte
	zeros     []byte
}

// noatime is cleared once O_NOATIME is refused (EPERM: not the owner and
// no CAP_FOWNER), to stop asking.
var noatime atomic.Bool

func init() { noatime.Store(true) }

// Walk writes a tar of o.Root to out and returns the report. The tar is
// valid (closed) even when the walk is cut short by ctx or by an error
// writing out; the report then says so and the error is returned.
func Walk(ctx context.Context, out io.Writer, o Options) (*Report, error) {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 1024
	}
	rep := &Report{Root: o.Root, Started: time.Now().UTC(), Skipped: []Skipped{}, Errors: []EntryError{}}
	bw := bufio.NewWriterSize(out, 256<<10)
	w := &walker{
		ctx:   ctx,
		o:     o,
		tw:    tar.NewWriter(bw),
		rep:   rep,
		skip:  map[string]Mount{},
		links: map[devIno]string{},
		buf:   make([]byte, 256<<10),
	}
	for _, m := range o.Mounts {
		rel := strings.TrimPrefix(path.Clean(m.MountPoint), "/")
		if rel == "" {
			continue // never skip the root itself
		}
		if m.Skipped {
			w.skip[rel] = m
		} else {
			delete(w.skip, rel) // a later mount covers an earlier one
		}
	}

	err := w.walkRoot()
	if cerr := w.tw.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("finishing tar: %w", cerr)
	}
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("writing tar: %w", ferr)
	}
	rep.Finished = time.Now().UTC()
	rep.Complete = err == nil
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

func (w *walker) walkRoot() error {
	fd, err := unix.Open(w.o.Root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening root %s: %w", w.o.Root, err)
	}
	dir := os.NewFile(uintptr(fd), w.o.Root)
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("opening root %s: %w", w.o.Root, err)
	}
	w.ancestors = append(w.ancestors, devIno{st.Dev, st.Ino})
	w.ancPaths = append(w.ancPaths, "/")
	return w.walkDir(dir, "", 1)
}

func (w *walker) noteErr(rel, op string, err error) {
	w.rep.Errors = append(w.rep.Errors, EntryError{Path: "/" + rel, Op: op, Error: err.Error()})
}

func (w *walker) noteSkip(rel, reason string) {
	w.rep.Skipped = append(w.rep.Skipped, Skipped{Path: "/" + rel, Reason: reason})
}

// walkDir archives the entries of dir, whose path in the tar is rel.
// Errors with entries are noted and skipped; a returned error (writing the
// tar, cancellation) ends the walk.
func (w *walker) walkDir(dir *os.File, rel string, depth int) error {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		w.noteErr(rel, "listing", err)
		// Whatever was listed is still archived.
	}
	sort.Strings(names)
	dirfd := int(dir.Fd())
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("walking %s: %w", w.o.Root, err)
		}
		child := name
		if rel != "" {
			child = rel + "/" + name
		}
		if err := w.entry(dirfd, name, child, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) entry(dirfd int, name, rel string, depth int) error {
	if w.o.beforeOpen != nil {
		w.o.beforeOpen(rel)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.noteErr(rel, "stat", vanished(err))
		return nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return w.dir(dirfd, name, rel, depth, &st)
	case unix.S_IFREG:
		return w.file(dirfd, name, rel, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(dirfd, name)
		if err != nil {
			w.noteErr(rel, "readlink", vanished(err))
			return nil
		}
		h := w.header(rel, tar.TypeSymlink, &st)
		h.Linkname = target
		w.rep.Counts.Symlinks++
		return w.write(h, nil)
	case unix.S_IFCHR, unix.S_IFBLK:
		typ := byte(tar.TypeChar)
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			typ = tar.TypeBlock
		}
		h := w.header(rel, typ, &st)
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		w.rep.Counts.Devices++
		return w.write(h, nil)
	case unix.S_IFIFO:
		w.rep.Counts.FIFOs++
		return w.write(w.header(rel, tar.TypeFifo, &st), nil)
	case unix.S_IFSOCK:
		w.rep.Counts.Sockets++
		w.noteSkip(rel, "unix socket: tar has no socket type")
		return nil
	}
	w.noteSkip(rel, fmt.Sprintf("unknown file type %#o", st.Mode&unix.S_IFMT))
	return nil
}

func (w *walker) dir(dirfd int, name, rel string, depth int, st *unix.Stat_t) error {
	if m, ok := w.skip[rel]; ok {
		w.noteSkip(rel, fmt.Sprintf("mount point of %s (%s): contents left out", m.FSType, m.Kind))
		w.rep.Counts.Dirs++
		return w.write(w.header(rel, tar.TypeDir, st), nil)
	}
	id := devIno{st.Dev, st.Ino}
	for i, a := range w.ancestors {
		if a == id {
			w.noteSkip(rel, fmt.Sprintf("directory loop: same directory as its ancestor %s", w.ancPaths[i]))
			w.rep.Counts.Dirs++
			return w.write(w.header(rel, tar.TypeDir, st), nil)
		}
	}
	if depth >= w.o.MaxDepth {
		w.noteSkip(rel, fmt.Sprintf("deeper than %d directories: contents left out", w.o.MaxDepth))
		w.rep.Counts.Dirs++
		return w.write(w.header(rel, tar.TypeDir, st), nil)
	}
	fd, err := w.openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		// Keep the directory's own entry: its metadata is known.
		w.noteErr(rel, "opening directory", vanished(err))
		w.rep.Counts.Dirs++
		return w.write(w.header(rel, tar.TypeDir, st), nil)
	}
	dir := os.NewFile(uintptr(fd), rel)
	defer dir.Close()
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err == nil {
		if now.Ino != st.Ino || now.Dev != st.Dev {
			w.noteErr(rel, "opening directory", errors.New("replaced while walked; archived as found when opened"))
		}
		st = &now
	}
	h := w.header(rel, tar.TypeDir, st)
	w.xattrs(fd, h)
	w.rep.Counts.Dirs++
	if err := w.write(h, nil); err != nil {
		return err
	}
	w.ancestors = append(w.ancestors, devIno{st.Dev, st.Ino})
	w.ancPaths = append(w.ancPaths, "/"+rel)
	err = w.walkDir(dir, rel, depth+1)
	w.ancestors = w.ancestors[:len(w.ancestors)-1]
	w.ancPaths = w.ancPaths[:len(w.ancPaths)-1]
	return err
}

func (w *walker) file(dirfd int, name, rel string, st *unix.Stat_t) error {
	id := devIno{st.Dev, st.Ino}
	if st.Nlink > 1 {
		if first, ok := w.links[id]; ok {
			h := w.header(rel, tar.TypeLink, st)
			h.Linkname = first
			w.rep.Counts.Hardlinks++
			return w.write(h, nil)
		}
	}
	f, fst, err := w.openRegular(dirfd, name, st)
	if err != nil {
		w.noteErr(rel, "opening", vanished(err))
		return nil
	}
	defer f.Close()
	h := w.header(rel, tar.TypeReg, fst)
	h.Size = fst.Size
	w.xattrs(int(f.Fd()), h)
	if st.Nlink > 1 {
		w.links[id] = rel
	}
	w.rep.Counts.Files++
	return w.write(h, f)
}

// openRegular opens a regular file for reading without ever opening
// anything else: an O_PATH descriptor is checked to be the listed regular
// file, then reopened through /proc/self/fd.
func (w *walker) openRegular(dirfd int, name string, st *unix.Stat_t) (*os.File, *unix.Stat_t, error) {
	pfd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(pfd)
	var pst unix.Stat_t
	if err := unix.Fstat(pfd, &pst); err != nil {
		return nil, nil, err
	}
	if pst.Mode&unix.S_IFMT != unix.S_IFREG || pst.Ino != st.Ino || pst.Dev != st.Dev {
		return nil, nil, errors.New("replaced by another file while walked")
	}
	fd, err := w.openat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, nil, err
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Ino != pst.Ino || fst.Dev != pst.Dev {
		unix.Close(fd)
		if err == nil {
			err = errors.New("replaced by another file while opened")
		}
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), name), &fst, nil
}

// openat opens with O_NOATIME while the kernel allows it.
func (w *walker) openat(dirfd int, name string, flags int) (int, error) {
	if noatime.Load() {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
		if !errors.Is(err, unix.EPERM) {
			return fd, err
		}
		noatime.Store(false)
	}
	return unix.Openat(dirfd, name, flags, 0)
}

func (w *walker) header(rel string, typ byte, st *unix.Stat_t) *tar.Header {
	name := rel
	if typ == tar.TypeDir {
		name += "/"
	}
	return &tar.Header{
		Typeflag:   typ,
		Name:       name,
		Mode:       int64(st.Mode & 0o7777),
		Uid:        int(st.Uid),
		Gid:        int(st.Gid),
		ModTime:    time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		AccessTime: time.Unix(st.Atim.Sec, st.Atim.Nsec),
		ChangeTime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec),
		Format:     tar.FormatPAX,
	}
}

// write writes a header and, for regular files, exactly h.Size bytes of
// content: a file that shrank while read is padded with zeros, one that
// grew is cut at the size its header declared; both are noted.
func (w *walker) write(h *tar.Header, r io.Reader) error {
	if !utf8.ValidString(h.Name) || !utf8.ValidString(h.Linkname) {
		// PAX wants UTF-8 names; this says the bytes are raw, as found.
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["hdrcharset"] = "BINARY"
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing tar header of /%s: %w", h.Name, err)
	}
	if r == nil {
		return nil
	}
	rel := strings.TrimSuffix(h.Name, "/")
	src := &readErr{r: io.LimitReader(r, h.Size)}
	n, err := io.CopyBuffer(w.tw, src, w.buf)
	w.rep.Counts.Bytes += n
	if err != nil && src.err == nil {
		return fmt.Errorf("writing tar content of /%s: %w", rel, err)
	}
	if n < h.Size {
		if src.err != nil {
			w.noteErr(rel, "reading", fmt.Errorf("%w; padded with zeros from byte %d", src.err, n))
		} else {
			w.noteErr(rel, "reading", fmt.Errorf("file shrank from %d to %d bytes while read; padded with zeros", h.Size, n))
		}
		if perr := w.pad(h.Size - n); perr != nil {
			return fmt.Errorf("writing tar content of /%s: %w", rel, perr)
		}
		return nil
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		w.noteErr(rel, "reading", fmt.Errorf("file grew past %d bytes while read; cut at that size", h.Size))
	}
	return nil
}

// readErr remembers the error of the reader it wraps, to tell a file that
// cannot be read from a stream that cannot be written.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (w *walker) pad(n int64) error {
	if w.zeros == nil {
		w.zeros = make([]byte, 64<<10)
	}
	for n > 0 {
		k := int64(len(w.zeros))
		if n < k {
			k = n
		}
		if _, err := w.tw.Write(w.zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// xattrs adds the extended attributes of an open file as SCHILY.xattr
// records. Filesystems without xattrs and unreadable ones add nothing.
func (w *walker) xattrs(fd int, h *tar.Header) {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz <= 0 {
		return
	}
	list := make([]byte, sz)
	sz, err = unix.Flistxattr(fd, list)
	if err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		vsz, err := unix.Fgetxattr(fd, name, nil)
		if err != nil || vsz < 0 {
			continue
		}
		val := make([]byte, vsz)
		if vsz, err = unix.Fgetxattr(fd, name, val); err != nil {
			continue
		}
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+name] = string(val[:vsz])
	}
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}

// vanished rewords ENOENT, the usual race with a live container.
func vanished(err error) error {
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("vanished during the walk: %w", err)
	}
	return err
}
