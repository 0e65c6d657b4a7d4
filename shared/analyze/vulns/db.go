package vulns

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxRecord bounds what is read of one record. The largest records of
// osv.dev's exports (kernel advisories with long version lists) are a few
// MiB; anything above this is skipped with a note.
const MaxRecord = 16 << 20

// DB is a set of OSV database files, opened and hashed.
type DB struct {
	files []*dbFile
}

type dbFile struct {
	info File
	zr   *zip.ReadCloser
}

// File is the identity of one database file, for the report.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Records counts the records read; Skipped those that could not be.
	Records int `json:"records"`
	Skipped int `json:"skipped,omitempty"`
	// Withdrawn counts withdrawn records, never matched.
	Withdrawn int `json:"withdrawn,omitempty"`
	// Newest is the latest "modified" time of its records: how recent
	// the database is.
	Newest *time.Time `json:"newest_modified,omitempty"`
}

// Open opens OSV database files: each path is an OSV zip export
// (osv.dev's all.zip) or a folder, searched for *.zip files. Each file is
// hashed and its zip directory read; a file that is not a readable zip
// (corrupt, truncated) is an error that names it.
func Open(paths []string) (*DB, error) {
	var names []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("opening the OSV database %s: %w", p, err)
		}
		if !fi.IsDir() {
			names = append(names, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(q), ".zip") {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading the OSV database folder %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("the OSV database folder %s holds no .zip file: give osv.dev's all.zip exports (https://osv-vulnerabilities.storage.googleapis.com/ECOSYSTEM/all.zip)", p)
		}
		sort.Strings(found)
		names = append(names, found...)
	}
	db := &DB{}
	seen := map[string]bool{}
	for _, n := range names {
		f, err := openFile(n)
		if err != nil {
			db.Close()
			return nil, err
		}
		if seen[f.info.SHA256] {
			// The same export given twice: read it once.
			f.zr.Close()
			continue
		}
		seen[f.info.SHA256] = true
		db.files = append(db.files, f)
	}
	return db, nil
}

func openFile(name string) (*dbFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening the OSV database %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the OSV database %s: %w", name, err)
	}
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, fmt.Errorf("reading the OSV database %s: %w: it is not a complete zip file, download it again", name, err)
	}
	return &dbFile{info: File{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, zr: zr}, nil
}

// Close closes the database files.
func (db *DB) Close() error {
	for _, f := range db.files {
		f.zr.Close()
	}
	return nil
}

// Files returns the identity of each file; the record counts and newest
// times are known once Match has run.
func (db *DB) Files() []File {
	out := make([]File, len(db.files))
	for i, f := range db.files {
		out[i] = f.info
	}
	return out
}

// header is what is read of every record: enough to count it, date it,
// and tell whether it names a package of the image. Only the records
// that do are read in full (ParseRecord).
type header struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Affected  []struct {
		Package AffectedPackage `json:"package"`
	} `json:"affected"`
}

// parsed is one zip entry, read by a worker.
type parsed struct {
	name string
	hdr  header
	rec  *Record // nil when the record names no package of interest
	err  error
}

// Batches of entries are read in parallel, then handed over in zip order,
// so that the outcome does not depend on scheduling. A batch holds at
// most batchEntries entries and batchBytes of uncompressed records (the
// zip headers' sizes, which the zip reader holds each entry to).
const (
	batchEntries = 512
	batchBytes   = 64 << 20
)

// each calls fn with every record of every file that relevant says names
// a package of interest, in file then zip order. Bad records are given to
// bad, with the file and entry they are in.
func (db *DB) each(ctx context.Context, relevant func(*header) bool, fn func(fi *File, r *Record), bad func(fi *File, entry string, err error)) error {
	workers := min(runtime.GOMAXPROCS(0), 8)
	bufs := make([][]byte, workers)
	for _, f := range db.files {
		fi := &f.info
		fi.Records, fi.Skipped, fi.Withdrawn, fi.Newest = 0, 0, 0, nil
		var entries []*zip.File
		for _, ze := range f.zr.File {
			if !ze.FileInfo().IsDir() && strings.EqualFold(filepath.Ext(ze.Name), ".json") {
				entries = append(entries, ze)
			}
		}
		out := make([]parsed, 0, batchEntries)
		for start := 0; start < len(entries); {
			if err := ctx.Err(); err != nil {
				return err
			}
			end, size := start, uint64(0)
			for end < len(entries) && end-start < batchEntries && (end == start || size+min(entries[end].UncompressedSize64, MaxRecord) <= batchBytes) {
				size += min(entries[end].UncompressedSize64, MaxRecord)
				end++
			}
			out = out[:end-start]
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := w; k < end-start; k += workers {
						out[k] = readRecord(entries[start+k], &bufs[w], relevant)
					}
				}()
			}
			wg.Wait()
			for k := range out {
				p := &out[k]
				if p.err != nil {
					fi.Skipped++
					bad(fi, p.name, p.err)
					continue
				}
				fi.Records++
				if m := p.hdr.Modified; !m.IsZero() && (fi.Newest == nil || m.After(*fi.Newest)) {
					t := m.UTC()
					fi.Newest = &t
				}
				if p.hdr.Withdrawn != nil {
					fi.Withdrawn++
				}
				if p.rec != nil {
					fn(fi, p.rec)
				}
				*p = parsed{}
			}
			start = end
		}
	}
	return nil
}

// readRecord reads and parses one entry: its header always, the whole
// record when relevant says it names a package of interest.
func readRecord(ze *zip.File, buf *[]byte, relevant func(*header) bool) parsed {
	p := parsed{name: ze.Name}
	if ze.UncompressedSize64 > MaxRecord {
		p.err = fmt.Errorf("the record is %d bytes, more than the %d read of one record", ze.UncompressedSize64, MaxRecord)
		return p
	}
	data, err := readEntry(ze, (*buf)[:0])
	if err != nil {
		p.err = err
		return p
	}
	*buf = data
	if err := json.Unmarshal(data, &p.hdr); err != nil {
		p.err = fmt.Errorf("%w: %w", ErrNotOSV, err)
		return p
	}
	if strings.TrimSpace(p.hdr.ID) == "" {
		p.err = fmt.Errorf("%w: no id", ErrNotOSV)
		return p
	}
	if relevant(&p.hdr) {
		p.rec, p.err = ParseRecord(data)
	}
	return p
}

// readEntry reads one zip entry, at most MaxRecord bytes whatever its
// header says, into buf.
func readEntry(ze *zip.File, buf []byte) ([]byte, error) {
	rc, err := ze.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lr := &io.LimitedReader{R: rc, N: MaxRecord + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > MaxRecord {
		return nil, fmt.Errorf("the record is larger than the %d bytes read of one record (its zip header says %d)", MaxRecord, ze.UncompressedSize64)
	}
	return buf, nil
}
