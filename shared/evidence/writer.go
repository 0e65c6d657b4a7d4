package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Options configure a bundle Writer.
type Options struct {
	// Format of the archive. The zero value is TarGz.
	Format Format
	// Root is the folder name inside the archive that holds everything.
	Root string
	// SpoolDir holds temporary files for streams of unknown size (see
	// tarBackend.put). Empty means the output file's folder, so that a full
	// disk shows on the same file system as the bundle.
	SpoolDir string
	// Now returns the current time; nil means time.Now. Times are stored in UTC.
	Now func() time.Time
	// Serial compresses on the writing goroutine alone, with a compressor
	// a fraction of the parallel one's size. Set it when many bundles are
	// written at once (a capture of many pods): the parallelism then comes
	// from the bundles, and the parallel compressors' buffers (megabytes
	// each) would make memory grow with them. The output format is the same.
	Serial bool
}

// Meta describes an artifact to be written.
type Meta struct {
	// Path inside the bundle root, e.g. "container/inspect.json".
	Path        string
	Producer    string
	Description string
	MediaType   string
}

// SourceError is returned by Add when the source failed after the artifact
// was started. What was read before the failure is stored, hashed and
// recorded as partial; the bundle itself is sound and writing can go on.
type SourceError struct {
	Path string
	Err  error
}

func (e *SourceError) Error() string { return fmt.Sprintf("reading %s: %v", e.Path, e.Err) }
func (e *SourceError) Unwrap() error { return e.Err }

// IsSourceError reports whether err is a per-artifact failure after which
// the bundle can still be written to.
func IsSourceError(err error) bool {
	var se *SourceError
	return errors.As(err, &se)
}

// Writer streams artifacts into one bundle archive. It is safe for use by
// several goroutines, but artifacts are written one at a time.
type Writer struct {
	mu       sync.Mutex
	opts     Options
	path     string   // output file, empty when writing to a stream
	file     *os.File // nil when writing to a stream
	out      *countingWriter
	backend  backend
	manifest Manifest
	log      bytes.Buffer
	seen     map[string]bool
	sums     map[string]string
	fatal    error
	finished bool
	// archiveSum is the bundle file's SHA-256, set by Finish.
	archiveSum string
}

// Create creates the bundle file at path and returns a Writer for it. It
// never overwrites: an existing path is an error, returned before anything
// is written. The file is created with mode 0600.
func Create(path string, opts Options) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("output %s already exists: refusing to overwrite evidence, choose another name with -o", path)
		}
		return nil, fmt.Errorf("creating bundle %s: %w", path, err)
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = filepath.Dir(path)
	}
	w, err := newWriter(f, opts)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	w.path, w.file = path, f
	return w, nil
}

// New returns a Writer that writes the bundle to out, e.g. standard output.
func New(out io.Writer, opts Options) (*Writer, error) {
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	return newWriter(out, opts)
}

func newWriter(out io.Writer, opts Options) (*Writer, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Root == "" || opts.Root != filepath.Base(opts.Root) || opts.Root == "." || opts.Root == ".." {
		return nil, fmt.Errorf("bundle root %q must be a plain folder name", opts.Root)
	}
	w := &Writer{
		opts: opts,
		out:  newCountingWriter(out),
		seen: map[string]bool{},
		sums: map[string]string{},
	}
	be, err := newBackend(opts.Format, w.out, opts.SpoolDir, opts.Serial)
	if err != nil {
		return nil, err
	}
	w.backend = be
	w.manifest = Manifest{Schema: Schema, Root: opts.Root, Started: w.now(), Artifacts: []Artifact{}}
	w.logLine("bundle %s started, format %s", opts.Root, opts.Format)
	return w, nil
}

func (w *Writer) now() time.Time { return w.opts.Now().UTC() }

// ArchiveSHA256 returns the SHA-256 of the whole bundle file, as sha256sum
// would print it, once Finish has returned without error; "" before.
func (w *Writer) ArchiveSHA256() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.archiveSum
}

// Path returns the output file's path, or "" when writing to a stream.
func (w *Writer) Path() string { return w.path }

// Root returns the bundle's root folder name.
func (w *Writer) Root() string { return w.opts.Root }

// BytesWritten returns the archive bytes written so far.
func (w *Writer) BytesWritten() int64 { return w.out.n.Load() }

// Add streams r into the bundle as one artifact, hashing it in the same
// pass. It returns the manifest entry. A *SourceError means r failed part
// way: the bytes read so far are stored and recorded as partial, and the
// bundle can still be written to. Any other error is fatal for the bundle
// (for example a full disk): call Abort.
func (w *Writer) Add(m Meta, r io.Reader) (Artifact, error) {
	return w.add(m, -1, r)
}

// AddBytes stores b as one artifact.
func (w *Writer) AddBytes(m Meta, b []byte) (Artifact, error) {
	return w.add(m, int64(len(b)), bytes.NewReader(b))
}

// AddJSON stores v, indented, as a JSON artifact.
func (w *Writer) AddJSON(m Meta, v any) (Artifact, error) {
	b, err := marshalJSON(v)
	if err != nil {
		a, rerr := w.Fail(m, fmt.Errorf("encoding JSON: %w", err))
		if rerr != nil {
			return a, rerr
		}
		return a, &SourceError{Path: m.Path, Err: err}
	}
	if m.MediaType == "" {
		m.MediaType = "application/json"
	}
	return w.AddBytes(m, b)
}

// marshalJSON indents v and keeps <, > and & as they are: evidence is read
// by people and by jq, not embedded in HTML.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (w *Writer) add(m Meta, size int64, r io.Reader) (Artifact, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, err := w.begin(m)
	if err != nil {
		return a, err
	}
	var (
		src    io.Reader
		digest func() (int64, hash.Hash, error)
	)
	if size < 0 {
		p := newPump(r)
		src, digest = p, p.stop
	} else {
		hr := &hashingReader{r: r, h: sha256.New()}
		src, digest = hr, func() (int64, hash.Hash, error) { return hr.n, hr.h, hr.err }
	}
	_, err = w.backend.put(w.opts.Root+"/"+a.Path, size, w.now(), src)
	n, h, srcErr := digest()
	a.Ended = w.now()
	var short *shortError
	if errors.As(err, &short) {
		// The source gave less than it announced: a failure of the
		// artifact, not of the bundle. Every stored byte is hashed, the
		// zeros the format needed too, and the error says which bytes
		// are evidence.
		io.CopyN(h, zeroReader{}, short.fill)
		n += short.fill
		srcErr = shortReason(srcErr, short)
		err = nil
	}
	if err != nil {
		w.fatal = fmt.Errorf("writing %s into bundle: %w", a.Path, err)
		a.Error = w.fatal.Error()
		w.manifest.Artifacts = append(w.manifest.Artifacts, a)
		return a, w.fatal
	}
	a.Size = n
	a.SHA256 = hex.EncodeToString(h.Sum(nil))
	if srcErr != nil {
		a.Partial = true
		a.Error = srcErr.Error()
	}
	w.manifest.Artifacts = append(w.manifest.Artifacts, a)
	if a.Partial {
		w.logLine("artifact %s PARTIAL after %d bytes, sha256 %s: %v", a.Path, a.Size, a.SHA256, srcErr)
		return a, &SourceError{Path: a.Path, Err: srcErr}
	}
	w.logLine("artifact %s %d bytes sha256 %s (%s)", a.Path, a.Size, a.SHA256, a.Producer)
	return a, nil
}

// shortReason is the artifact's error when its source ended early: the
// source's own error, if any, and where the evidence ends.
func shortReason(srcErr error, short *shortError) error {
	reason := fmt.Sprintf("the source ended after %d of the %d bytes announced", short.got, short.want)
	if short.fill > 0 {
		reason += fmt.Sprintf("; the %d zero bytes after them only keep the archive readable and are not evidence", short.fill)
	}
	if srcErr != nil {
		return fmt.Errorf("%w; %s", srcErr, reason)
	}
	return errors.New(reason)
}

// begin checks the writer's state and the artifact's path under w.mu.
func (w *Writer) begin(m Meta) (Artifact, error) {
	a := Artifact{Path: m.Path, Producer: m.Producer, Description: m.Description, MediaType: m.MediaType, Started: w.now()}
	if w.finished {
		return a, fmt.Errorf("bundle %s is already finished", w.opts.Root)
	}
	if w.fatal != nil {
		return a, w.fatal
	}
	p, err := CleanPath(m.Path)
	if err != nil {
		return a, err
	}
	if w.seen[p] {
		return a, fmt.Errorf("artifact %s written twice", p)
	}
	w.seen[p] = true
	a.Path = p
	return a, nil
}

// Fail records an artifact that could not be produced at all. Nothing is
// stored for it; the manifest carries the error and the bundle is marked
// incomplete. The returned error is non-nil only when the bundle is unusable.
func (w *Writer) Fail(m Meta, cause error) (Artifact, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, err := w.begin(m)
	if err != nil {
		return a, err
	}
	a.Ended = a.Started
	a.Error = cause.Error()
	w.manifest.Artifacts = append(w.manifest.Artifacts, a)
	w.logLine("artifact %s FAILED (%s): %v", a.Path, a.Producer, cause)
	return a, nil
}

// Logf adds a line to collection.log.
func (w *Writer) Logf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logLine(format, args...)
}

func (w *Writer) logLine(format string, args ...any) {
	fmt.Fprintf(&w.log, "%s %s\n", w.now().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, args...))
}

// MarkIncomplete records a reason why the bundle is not complete, for
// failures that belong to no single artifact (an interrupted run, a step
// that was skipped).
func (w *Writer) MarkIncomplete(reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.manifest.Incomplete = append(w.manifest.Incomplete, reason)
	w.logLine("incomplete: %s", reason)
}

// Err returns the fatal error that made the bundle unwritable, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// Artifacts returns a copy of the manifest entries written so far.
func (w *Writer) Artifacts() []Artifact {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Artifact(nil), w.manifest.Artifacts...)
}

// Finish writes collection.log, custody.json, manifest.json and SHA256SUMS,
// closes the archive and syncs the file. The bundle is complete when no
// artifact failed and no reason was given to MarkIncomplete. Finish returns
// the final manifest.
func (w *Writer) Finish(custody Custody) (Manifest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return w.manifest, fmt.Errorf("bundle %s is already finished", w.opts.Root)
	}
	if w.fatal != nil {
		return w.manifest, w.fatal
	}
	w.finished = true
	m := &w.manifest
	for _, a := range m.Artifacts {
		if a.Error != "" {
			m.Incomplete = append(m.Incomplete, fmt.Sprintf("%s: %s", a.Path, a.Error))
		}
	}
	m.Complete = len(m.Incomplete) == 0
	m.Ended = w.now()
	custody.Ended = m.Ended
	if custody.Schema == "" {
		custody.Schema = Schema
	}
	if m.Complete {
		w.logLine("bundle complete: %d artifacts", len(m.Artifacts))
	} else {
		w.logLine("bundle INCOMPLETE: %d artifacts, %d problems", len(m.Artifacts), len(m.Incomplete))
	}
	for _, a := range m.Artifacts {
		if a.Stored() {
			w.sums[a.Path] = a.SHA256
		}
	}
	m.Metadata = map[string]string{}
	custodyJSON, err := marshalJSON(custody)
	if err != nil {
		return *m, fmt.Errorf("encoding custody: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{LogName, w.log.Bytes()}, {CustodyName, custodyJSON}} {
		if err := w.putRoot(f.name, f.data); err != nil {
			return *m, err
		}
		m.Metadata[f.name] = w.sums[f.name]
	}
	manifestJSON, err := marshalJSON(m)
	if err != nil {
		return *m, fmt.Errorf("encoding manifest: %w", err)
	}
	if err := w.putRoot(ManifestName, manifestJSON); err != nil {
		return *m, err
	}
	if err := w.putRoot(SumsName, sumsFile(w.sums)); err != nil {
		return *m, err
	}
	if err := w.backend.finish(); err != nil {
		w.fatal = fmt.Errorf("closing bundle archive: %w", err)
		return *m, w.fatal
	}
	w.archiveSum = hex.EncodeToString(w.out.sum())
	if w.file != nil {
		if err := w.file.Sync(); err != nil {
			w.fatal = fmt.Errorf("syncing bundle %s: %w", w.path, err)
			return *m, w.fatal
		}
		if err := w.file.Close(); err != nil {
			w.fatal = fmt.Errorf("closing bundle %s: %w", w.path, err)
			return *m, w.fatal
		}
	}
	return *m, nil
}

// putRoot writes one of the bundle's own root files and remembers its hash.
func (w *Writer) putRoot(name string, data []byte) error {
	sum := sha256.Sum256(data)
	if _, err := w.backend.put(w.opts.Root+"/"+name, int64(len(data)), w.now(), bytes.NewReader(data)); err != nil {
		w.fatal = fmt.Errorf("writing %s into bundle: %w", name, err)
		return w.fatal
	}
	w.sums[name] = hex.EncodeToString(sum[:])
	return nil
}

// Abort gives up on a bundle after a fatal error. What the compressors
// still hold is flushed, the archive is not ended, and nothing the writer
// started is left running. The file, which cannot be finished, is kept for
// examination under the name PATH.partial (never overwriting), and that
// name is returned. A bundle written to a stream is left as it is.
func (w *Writer) Abort() (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = true
	// The compressors flush what they hold and their goroutines end before
	// the archive hashing stops: after that a late write would fail.
	w.backend.abort()
	w.out.sum()
	if w.file == nil {
		return "", nil
	}
	w.file.Close()
	partial := w.path + ".partial"
	// Link, not rename, so that an existing .partial is never replaced.
	if err := os.Link(w.path, partial); err != nil {
		return w.path, fmt.Errorf("keeping partial bundle: %w", err)
	}
	if err := os.Remove(w.path); err != nil {
		return partial, fmt.Errorf("removing %s after keeping it as %s: %w", w.path, partial, err)
	}
	return partial, nil
}

// sumsFile renders the sha256sum(1) check file, sorted by path.
func sumsFile(sums map[string]string) []byte {
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", sums[p], p)
	}
	return b.Bytes()
}

// hashingReader hashes and counts what it reads. A failure of the
// underlying reader is remembered and turned into io.EOF, so that the
// archive backends store a clean, shorter entry and only ever report
// errors of their own (the output side).
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	if err != nil && err != io.EOF {
		h.err = err
		return n, io.EOF
	}
	return n, err
}
