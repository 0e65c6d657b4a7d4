package criu

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Files is a set of named files read at random: a folder, or the regular
// files of an uncompressed tar, located by their offsets in it.
type Files struct {
	ra    io.ReaderAt
	files map[string]span
	close func() error
}

type span struct{ off, size int64 }

// maxTarEntries bounds the entries of a checkpoint tar indexed.
const maxTarEntries = 1 << 20

// OpenDir indexes the regular files of the folder dir (not below it, but
// the files of a checkpoint/ folder inside it too).
func OpenDir(dir string) (*Files, error) {
	fs := &Files{files: map[string]span{}}
	opened := map[string]*os.File{}
	add := func(rel string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("opening %s: %w", p, err)
		}
		opened[rel] = f
		fs.files[rel] = span{0, fi.Size()}
		return nil
	}
	for _, sub := range []string{"", "checkpoint"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if sub == "" {
				return nil, err
			}
			continue
		}
		if len(des) > maxTarEntries {
			return nil, fmt.Errorf("%d files: more than a checkpoint has", len(des))
		}
		for _, de := range des {
			if err := add(path.Join(sub, de.Name())); err != nil {
				for _, f := range opened {
					f.Close()
				}
				return nil, err
			}
		}
	}
	fs.ra = multiFile(opened)
	fs.close = func() error {
		for _, f := range opened {
			f.Close()
		}
		return nil
	}
	return fs, nil
}

// multiFile is a ReaderAt over several files: Files.Open picks the file by
// name, so spans of a folder all start at 0 and the name selects the file.
type multiFile map[string]*os.File

// ReadAt is never called: Open uses the file directly.
func (multiFile) ReadAt([]byte, int64) (int, error) { return 0, errors.ErrUnsupported }

// IndexTar indexes the regular files of the uncompressed tar in f, of the
// given size, by their offsets, reading only the headers (the file's data
// is skipped with Seek). Names are cleaned: "./a" and "a" are the same
// file. When the tar is damaged or truncated, the files before the damage
// are returned with the error; a file cut by the end is cut short.
func IndexTar(f io.ReadSeeker, ra io.ReaderAt, size int64) (*Files, error) {
	fs := &Files{ra: ra, files: map[string]span{}}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	tr := tar.NewReader(f)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(fs.files) == 0 {
				return nil, err
			}
			return fs, fmt.Errorf("reading the tar after %d entries: %w", i, err)
		}
		if i >= maxTarEntries {
			return fs, fmt.Errorf("more than %d entries", maxTarEntries)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA { // sparse files (GNU type S) are not indexed: their data is not contiguous
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if off+h.Size > size {
			fs.files[name] = span{off, max(size-off, 0)}
			return fs, fmt.Errorf("the archive is truncated inside %s", name)
		}
		fs.files[name] = span{off, h.Size}
	}
	return fs, nil
}

// Open returns the named file's content.
func (fs *Files) Open(name string) (*io.SectionReader, bool) {
	s, ok := fs.files[name]
	if !ok {
		return nil, false
	}
	if m, ok := fs.ra.(multiFile); ok {
		return io.NewSectionReader(m[name], 0, s.size), true
	}
	return io.NewSectionReader(fs.ra, s.off, s.size), true
}

// Size returns the named file's size, or -1.
func (fs *Files) Size(name string) int64 {
	if s, ok := fs.files[name]; ok {
		return s.size
	}
	return -1
}

// Names lists the files, sorted.
func (fs *Files) Names() []string {
	out := make([]string, 0, len(fs.files))
	for n := range fs.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes the files of a folder.
func (fs *Files) Close() error {
	if fs.close != nil {
		return fs.close()
	}
	return nil
}

// Layout says which checkpoint layout a set of files has: "kubelet" (a
// CRI checkpoint archive: checkpoint/ with the images and config.dump or
// spec.dump beside it), "criu" (the images at the top) or "" when it is
// not a checkpoint. The images lie below prefix.
func (fs *Files) Layout() (layout, prefix string) {
	_, inv := fs.files["checkpoint/inventory.img"]
	_, cfg := fs.files["config.dump"]
	_, spec := fs.files["spec.dump"]
	switch {
	case inv && (cfg || spec):
		return "kubelet", "checkpoint/"
	case inv:
		return "kubelet", "checkpoint/"
	}
	if _, ok := fs.files["inventory.img"]; ok {
		return "criu", ""
	}
	return "", ""
}

// IsInventory tells whether head starts like a CRIU inventory image.
func IsInventory(head []byte) bool {
	m, err := readMagic(bytes.NewReader(head))
	return err == nil && m == MagicInventory
}
