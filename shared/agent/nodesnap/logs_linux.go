//go:build linux

package nodesnap

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"golang.org/x/sys/unix"
)

// maxLogRounds bounds the read-and-relist rounds of one log folder.
const maxLogRounds = 8

// logMethod is how a log folder is read while the kubelet may rotate it,
// as the report states it.
const logMethod = "every file opened first (one per inode, a listing repeated until it shows no new inode); " +
	"each open file read to its end; the folder listed again and any new inode added, and every file read on " +
	"from where it was left (a renamed current file can still receive lines until the runtime reopens it), " +
	"until a listing shows no new inode; a .gz whose content equals an uncompressed file also collected is " +
	"kept but not primary, so the primary files hold each line once"

// logFile is one file of a log folder, by inode, open from the moment it
// was first seen: a rotation or deletion after that loses nothing.
type logFile struct {
	f       *os.File
	ino     uint64
	name    string   // name when opened
	renamed []string // other names seen later
	art     *stream.ArtifactWriter
	artName string
	off     int64
	h       hash.Hash
	err     error
}

// logSet is a container's log folder being read.
type logSet struct {
	s       *snap
	dir     string // host path
	ct      string
	files   []*logFile
	byIno   map[uint64]*logFile
	used    map[string]bool // artifact names
	skipped map[string]string
}

// logs collects every file of the container's log folder.
func (s *snap) logs(ctx context.Context, ct Container, cr *ContainerReport) {
	rep := &cr.Logs
	if s.rep.PodLogsDir == "" {
		rep.Error = "the kubelet's pod logs folder is unknown: not in the request, and no kubelet process with a podLogsDir was found"
		return
	}
	req := s.cfg.Request
	rep.Dir = path.Join(s.rep.PodLogsDir, req.Namespace+"_"+req.Pod+"_"+req.PodUID, ct.Name)
	rep.Method = logMethod
	ls := &logSet{s: s, dir: rep.Dir, ct: ct.Name, byIno: map[uint64]*logFile{}, used: map[string]bool{}, skipped: map[string]string{}}
	defer ls.close()
	if _, err := ls.scan(); err != nil {
		rep.Error = err.Error()
		return
	}
	for rep.Rounds = 1; ; rep.Rounds++ {
		for _, f := range ls.files {
			if ctx.Err() != nil || s.dead() {
				break
			}
			ls.read(ctx, f)
		}
		added, err := ls.scan()
		if err != nil {
			rep.Error = err.Error()
			break
		}
		if added == 0 || ctx.Err() != nil || s.dead() {
			break
		}
		if rep.Rounds == maxLogRounds {
			rep.Error = fmt.Sprintf("the folder still changed after %d rounds: files that appeared in the last listing were not read", maxLogRounds)
			break
		}
	}
	rep.Files = ls.finish()
	for name, why := range ls.skipped {
		rep.Skipped = append(rep.Skipped, name+": "+why)
	}
	sort.Strings(rep.Skipped)
	s.cfg.Logf("logs of %s: %d files in %d rounds", ct.Name, len(rep.Files), rep.Rounds)
}

// scan lists the folder and opens every file not yet open, repeating the
// listing until it shows nothing new (a file renamed between listing and
// opening shows up in the next listing). It returns how many files it
// added.
func (ls *logSet) scan() (int, error) {
	added := 0
	for pass := 0; pass < maxLogRounds; pass++ {
		ents, err := os.ReadDir(ls.s.host(ls.dir))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && len(ls.files) == 0 {
				return 0, fmt.Errorf("no log folder %s: %w", ls.dir, err)
			}
			return added, fmt.Errorf("listing %s: %w", ls.dir, err)
		}
		fresh := 0
		for _, e := range ents {
			name := e.Name()
			if !e.Type().IsRegular() {
				ls.skipped[name] = "not a regular file"
				continue
			}
			if strings.HasSuffix(name, ".tmp") {
				// The kubelet writes a compressed copy to NAME.gz.tmp and
				// renames it to NAME.gz when complete; NAME itself stays
				// until then.
				ls.skipped[name] = "a compression in progress (the kubelet's temporary file)"
				continue
			}
			n, err := ls.add(name)
			if err != nil {
				// One unreadable file does not cost the others.
				ls.skipped[name] = err.Error()
				continue
			}
			fresh += n
		}
		added += fresh
		if fresh == 0 {
			return added, nil
		}
	}
	return added, nil
}

// add opens name unless its inode is already open; it returns 1 when it
// added a file. A file gone since the listing is no error: the next
// listing shows its new name.
func (ls *logSet) add(name string) (int, error) {
	p := path.Join(ls.dir, name)
	var st unix.Stat_t
	if err := unix.Lstat(ls.s.host(p), &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 1, nil
		}
		return 0, fmt.Errorf("reading %s: %w", p, err)
	}
	if f := ls.byIno[st.Ino]; f != nil {
		f.seen(name)
		return 0, nil
	}
	fh, err := os.Open(ls.s.host(p))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 1, nil
		}
		return 0, fmt.Errorf("opening %s: %w", p, err)
	}
	if err := unix.Fstat(int(fh.Fd()), &st); err != nil {
		fh.Close()
		return 0, fmt.Errorf("reading %s: %w", p, err)
	}
	if f := ls.byIno[st.Ino]; f != nil {
		fh.Close()
		f.seen(name)
		return 0, nil
	}
	f := &logFile{f: fh, ino: st.Ino, name: name, h: sha256.New()}
	ls.byIno[st.Ino] = f
	ls.files = append(ls.files, f)
	if ls.s.cfg.logHook != nil {
		ls.s.cfg.logHook("open", name)
	}
	return 1, nil
}

func (f *logFile) seen(name string) {
	if name != f.name && !slices.Contains(f.renamed, name) {
		f.renamed = append(f.renamed, name)
	}
}

// read copies f from where it was left to its end, opening its artifact
// on the first read.
func (ls *logSet) read(ctx context.Context, f *logFile) {
	if f.err != nil {
		return
	}
	if f.art == nil {
		f.artName = ContainerArtifact(ls.ct, "logs/"+f.name)
		if ls.used[f.artName] {
			// A newer file took the name of one renamed since it was opened.
			f.artName = fmt.Sprintf("%s.inode-%d", f.artName, f.ino)
		}
		ls.used[f.artName] = true
		a, err := ls.s.open(f.artName, stream.Meta{"host_path": path.Join(ls.dir, f.name), "inode": f.ino})
		if err != nil {
			f.err = err
			return
		}
		f.art = a
	}
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, err := f.f.Read(buf)
		if n > 0 {
			if _, werr := f.art.Write(buf[:n]); werr != nil {
				f.err = werr
				return
			}
			f.h.Write(buf[:n])
			f.off += int64(n)
			if ls.s.cfg.logHook != nil {
				ls.s.cfg.logHook("read", f.name)
			}
		}
		if err == io.EOF {
			if ls.s.cfg.logHook != nil {
				ls.s.cfg.logHook("eof", f.name)
			}
			return
		}
		if err != nil {
			f.err = fmt.Errorf("reading %s: %w", path.Join(ls.dir, f.name), err)
			return
		}
	}
	f.err = fmt.Errorf("stopped after %d bytes of %s: %w", f.off, path.Join(ls.dir, f.name), ctx.Err())
}

// finish closes every artifact and decides which files are primary.
func (ls *logSet) finish() []LogFileReport {
	reps := make([]LogFileReport, 0, len(ls.files))
	plain := map[string]string{} // sha256 of an uncompressed file → its artifact
	for _, f := range ls.files {
		r := LogFileReport{
			Artifact: f.artName, HostPath: path.Join(ls.dir, f.name), RenamedTo: f.renamed,
			Inode: f.ino, Bytes: f.off, SHA256: hex.EncodeToString(f.h.Sum(nil)), Primary: true,
		}
		if f.art == nil && f.err == nil {
			// Found by the last listing of a folder that kept changing.
			r.Primary, r.SHA256, r.Error = false, "", "not read: it appeared after the last round"
			reps = append(reps, r)
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(int(f.f.Fd()), &st) == nil {
			r.ModTime = time.Unix(st.Mtim.Unix()).UTC()
		}
		if isGzip(f.f) {
			r.Gzip = true
			sum, err := gunzipSHA256(f.f)
			if err != nil {
				r.Error = errText(errors.Join(f.err, fmt.Errorf("reading %s as gzip: %w", r.HostPath, err)))
			}
			r.UncompressedSHA256 = sum
		} else if f.err == nil {
			plain[r.SHA256] = r.Artifact
		}
		if f.err != nil && r.Error == "" {
			r.Error = f.err.Error()
		}
		if f.art != nil {
			ls.s.finish(f.art, stream.Meta{
				"bytes": f.off, "renamed_to": f.renamed, "mtime": r.ModTime, "gzip": r.Gzip,
			}, f.err)
		}
		reps = append(reps, r)
	}
	for i := range reps {
		if of, ok := plain[reps[i].UncompressedSHA256]; ok && reps[i].Gzip && reps[i].UncompressedSHA256 != "" {
			reps[i].Primary, reps[i].CompressedFormOf = false, of
		}
	}
	return reps
}

func (ls *logSet) close() {
	for _, f := range ls.files {
		f.f.Close()
	}
}

// isGzip reports whether the file starts with the gzip magic.
func isGzip(f *os.File) bool {
	var b [2]byte
	n, _ := f.ReadAt(b[:], 0)
	return n == 2 && b[0] == 0x1f && b[1] == 0x8b
}

// gunzipSHA256 returns the SHA-256 of the file's decompressed content,
// read again from its start through the open descriptor.
func gunzipSHA256(f *os.File) (string, error) {
	zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
