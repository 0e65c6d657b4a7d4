package analyze

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/mholt/archives"

	"github.com/forensic-tools/forensic/shared/analyze/content"
	"github.com/forensic-tools/forensic/shared/analyze/gobuild"
	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
	"github.com/forensic-tools/forensic/shared/analyze/secrets"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// record is what is kept of one path of one layer: metadata, never content.
type record struct {
	path  string
	link  string
	size  int64
	mtime int64 // Unix nanoseconds
	mode  uint32
	uid   int32
	gid   int32
	typ   tarscan.Type
	magic content.Magic
	flags uint8
}

const (
	flagText uint8 = 1 << iota
	flagHighEntropy
	flagPacked
)

// executable reports whether the record is a non-empty regular file that
// runs: an execute bit, or a program's format.
func (r *record) executable() bool {
	return r.typ == tarscan.Regular && r.size > 0 && (r.mode&0o111 != 0 || r.magic.Executable())
}

// layerData is everything kept of one tar stream of files: an image layer,
// a container's exported filesystem, or a plain filesystem tarball.
type layerData struct {
	key     string // where it lies in the input
	records []record
	index   map[string]int32
	links   map[string]bool // symbolic links of this layer, for entries written through them
	// findings are the content and archive findings, without a stage yet.
	findings []Finding
	pkgs     map[string][]pkgdb.Package
	osrel    map[string]pkgdb.OS
	// rpm holds the RPM database files of the layer, and their SQLite
	// write-ahead logs, until the layer ends: a log may come after its
	// database in the stream. parseRPM reads them and frees them.
	// rpmKept is what they add up to, at most maxRPMKept.
	rpm     map[string][]byte
	rpmKept int64
	stats   tarscan.Stats
	err     string
	// rawDigest is the SHA-256 of the stream as stored, diffDigest of the
	// uncompressed tar (equal when not compressed).
	rawDigest, diffDigest string
	compression           string
	// hashed is true when the digests cover the whole stream.
	hashed             bool
	mtimeMin, mtimeMax int64
	// perRule counts findings by rule, to cap them (see addFinding).
	perRule map[string]int
}

// maxPerRule bounds the findings of one rule in one layer: a hostile
// archive of a million duplicate entries gives a count, not a million
// findings.
const maxPerRule = 200

// addFinding records a finding of the layer, up to maxPerRule per rule.
func (l *layerData) addFinding(f Finding) {
	if l.perRule == nil {
		l.perRule = map[string]int{}
	}
	l.perRule[f.Rule]++
	if l.perRule[f.Rule] <= maxPerRule {
		l.findings = append(l.findings, f)
	}
}

// capNotes adds one finding per rule that went over maxPerRule, in rule
// order.
func (l *layerData) capNotes() {
	rules := make([]string, 0, len(l.perRule))
	for rule := range l.perRule {
		rules = append(rules, rule)
	}
	sort.Strings(rules)
	for _, rule := range rules {
		if n := l.perRule[rule]; n > maxPerRule {
			// The count keeps the rule's ID but is a note on the archive,
			// whatever the rule's own category and severity.
			f := Finding{Rule: rule, Reason: fmt.Sprintf("%d more findings of rule %s in %s are not listed", n-maxPerRule, rule, l.key)}.ruled()
			f.Category, f.Severity = CategoryArchive, Info
			l.findings = append(l.findings, f)
		}
	}
}

func newLayerData(key string) *layerData {
	return &layerData{key: key, index: map[string]int32{}, pkgs: map[string][]pkgdb.Package{}, osrel: map[string]pkgdb.OS{}}
}

// get returns the layer's record of p.
func (l *layerData) get(p string) (*record, bool) {
	i, ok := l.index[p]
	if !ok {
		return nil, false
	}
	return &l.records[i], true
}

// scanner reads files of layers into layerData. One scanner is used for
// every layer of an analysis, one layer at a time, so that its buffers are
// reused.
type scanner struct {
	a    *analysis
	head []byte
	buf  []byte
	rest []byte
	// br buffers a layer stream; layers are never scanned inside one
	// another, so one reader serves them all.
	br *bufio.Reader
	// sw searches text for secrets on another core; nil until needed.
	sw *secretWorker
}

func newScanner(a *analysis) *scanner {
	return &scanner{a: a, head: make([]byte, headSize), rest: make([]byte, 256<<10)}
}

func (s *scanner) issue(l *layerData, is tarscan.Issue) {
	p := is.Path
	if p == "" {
		p = is.Name
	}
	l.addFinding(Finding{Rule: is.Rule, Path: p, Reason: fmt.Sprintf("%s (entry %q)", is.Reason, is.Name)}.ruled())
}

// walker returns a tar walker that reports issues into l.
//
// Every walk shares the scanner's rest buffer to skip content: a walk
// only skips after its handler returned, and handlers use the buffer only
// while they run, so nested walks never use it at the same time.
func (s *scanner) walker(l *layerData) *tarscan.Walker {
	return &tarscan.Walker{Budget: s.a.budget, OnIssue: func(is tarscan.Issue) { s.issue(l, is) }, Buf: s.rest}
}

// scanStream reads one stream that holds a tar, compressed or not, into a
// new layerData, hashing it as stored and as uncompressed.
func (s *scanner) scanStream(ctx context.Context, key string, body io.Reader) *layerData {
	l := newLayerData(key)
	raw := newHasher(body)
	defer raw.close()
	if s.br == nil {
		s.br = bufio.NewReaderSize(raw, 256<<10)
	} else {
		s.br.Reset(raw)
	}
	format, stream, err := archives.Identify(ctx, "", s.br)
	var tarStream io.Reader = stream
	var diff *hasher
	var comp archives.Compression
	switch f := format.(type) {
	case archives.CompressedArchive:
		comp = f.Compression
	case archives.Compression:
		comp = f
	}
	switch {
	case err != nil && !errors.Is(err, archives.NoMatch):
		l.err = fmt.Sprintf("cannot tell the format: %v", err)
		return s.finishStream(ctx, l, raw, nil)
	case comp != nil:
		tf, ok := evidence.CompressedTar(comp)
		if !ok {
			l.err = fmt.Sprintf("a %s stream: not a compression this tool reads", strings.TrimPrefix(comp.Extension(), "."))
			return s.finishStream(ctx, l, raw, nil)
		}
		rc, err := comp.OpenReader(stream)
		if err != nil {
			l.err = fmt.Sprintf("opening %s stream: %v", tf.Compression(), err)
			return s.finishStream(ctx, l, raw, nil)
		}
		defer rc.Close()
		l.compression = tf.Compression()
		diff = newHasher(rc)
		defer diff.close()
		tarStream = diff
	}
	if _, err := s.walk(ctx, l, tarStream); err != nil {
		l.err = err.Error()
	}
	s.flush(l)
	l.parseRPM()
	l.capNotes()
	return s.finishStream(ctx, l, raw, diff)
}

// finishStream reads what is left of the stream so that the digests cover
// all of it, and records them.
func (s *scanner) finishStream(ctx context.Context, l *layerData, raw, diff *hasher) *layerData {
	if ctx.Err() != nil {
		l.err = ctx.Err().Error()
		return l
	}
	if diff != nil {
		if _, err := io.CopyBuffer(io.Discard, readerOnly{diff}, s.rest); err != nil && l.err == "" {
			l.err = fmt.Sprintf("reading the end of the %s stream: %v", l.compression, err)
		}
	}
	_, err := io.CopyBuffer(io.Discard, readerOnly{raw}, s.rest)
	if err != nil && l.err == "" {
		l.err = fmt.Sprintf("reading the end of the stream: %v", err)
	}
	l.hashed = err == nil
	l.rawDigest = raw.digest()
	l.diffDigest = l.rawDigest
	if diff != nil {
		l.diffDigest = diff.digest()
	}
	return l
}

// walk reads a tar stream into l.
func (s *scanner) walk(ctx context.Context, l *layerData, r io.Reader) (tarscan.Stats, error) {
	st, err := s.walker(l).Walk(ctx, r, func(e *tarscan.Entry, body io.Reader) error {
		s.entry(l, e, body)
		return nil
	})
	l.stats.Entries += st.Entries
	l.stats.Bytes += st.Bytes
	return st, err
}

// entry records one entry of l and inspects a regular file's content.
func (s *scanner) entry(l *layerData, e *tarscan.Entry, body io.Reader) {
	rec := record{path: e.Path, link: e.Link, size: e.Size, mtime: e.ModTime.UnixNano(), mode: e.Mode,
		uid: int32(e.UID), gid: int32(e.GID), typ: e.Type}
	if !e.ModTime.IsZero() && e.Type != tarscan.Dir {
		if l.mtimeMin == 0 || rec.mtime < l.mtimeMin {
			l.mtimeMin = rec.mtime
		}
		if rec.mtime > l.mtimeMax {
			l.mtimeMax = rec.mtime
		}
	}
	if len(l.pkgs) > 0 {
		delete(l.pkgs, e.Path) // a later entry of the same path wins
	}
	if len(l.links) > 0 {
		for d := path.Dir(e.Path); d != "/"; d = path.Dir(d) {
			if l.links[d] {
				l.addFinding(Finding{Rule: ruleThroughSymlink, Path: e.Path,
					Reason: fmt.Sprintf("entry is written through %s, a symbolic link of the same archive: a careless extraction writes where the link points", d)}.ruled())
				break
			}
		}
	}
	switch e.Type {
	case tarscan.Symlink:
		if l.links == nil {
			l.links = map[string]bool{}
		}
		l.links[e.Path] = true
	case tarscan.Hardlink:
		if _, ok := l.index[e.Link]; !ok {
			l.addFinding(Finding{Rule: ruleHardlinkMissing, Path: e.Path,
				Reason: fmt.Sprintf("hard link to %s, which is not an earlier entry of this archive", e.Link)}.ruled())
		}
	case tarscan.Regular:
		if e.Size > 0 {
			s.inspect(l, &rec, body)
		}
	}
	if i, dup := l.index[e.Path]; dup && e.Type != tarscan.Dir {
		prev := &l.records[i]
		if prev.typ != tarscan.Dir {
			l.addFinding(Finding{Rule: ruleDuplicateEntry, Path: e.Path,
				Reason: fmt.Sprintf("the archive holds %s twice (a %s, then a %s): the later entry wins on extraction and hides the first from most tools", e.Path, prev.typ, e.Type)}.ruled())
		}
		l.records[i] = rec
		return
	} else if dup {
		l.records[i] = rec
		return
	}
	l.index[e.Path] = int32(len(l.records))
	l.records = append(l.records, rec)
}

// inspect reads as much of a regular file as the checks need: its head
// always, the whole of small text files and package databases, samples of
// large files for their entropy, and all of an ELF program for its Go
// build information (in chunks, never kept).
func (s *scanner) inspect(l *layerData, rec *record, body io.Reader) {
	n, _ := io.ReadFull(body, s.head[:min(int64(len(s.head)), rec.size)])
	head := s.head[:n]
	rec.magic = content.Sniff(head)
	db := pkgdb.Classify(rec.path)
	text := (rec.magic == content.Unknown || rec.magic == content.Script) && content.IsText(head[:min(len(head), 8<<10)])
	if text {
		rec.flags |= flagText
	}
	if rec.magic == content.ELF && content.Packed(head) {
		rec.flags |= flagPacked
	}
	whole := (db != pkgdb.None && rec.size <= pkgdb.MaxSize && (db != pkgdb.RPM || l.rpmKept+rec.size <= maxRPMKept)) ||
		(text && rec.size <= maxTextScan)
	var data []byte
	var ent content.Entropy
	large := rec.size >= largeBlob
	if large {
		ent.Add(head)
	}
	switch {
	case whole && int64(n) < rec.size:
		s.buf = append(s.buf[:0], head...)
		for {
			if len(s.buf) == cap(s.buf) {
				s.buf = append(s.buf, 0)[:len(s.buf)]
			}
			m, err := body.Read(s.buf[len(s.buf):cap(s.buf)])
			s.buf = s.buf[:len(s.buf)+m]
			if err != nil {
				break
			}
		}
		data = s.buf
		if large {
			ent.Sample(data[n:], 4096, 32768)
		}
	case whole:
		data = head
	case rec.magic == content.ELF:
		// Every byte of a program goes past the Go build information
		// scanner (and the entropy sampler when large): the blob lies
		// at the start of the data segment, anywhere in the file.
		var gb gobuild.Scanner
		gb.Write(head)
		for read := int64(n); read < rec.size; {
			m, err := body.Read(s.rest)
			read += int64(m)
			gb.Write(s.rest[:m])
			if large {
				ent.Sample(s.rest[:m], 4096, 32768)
			}
			if err != nil {
				break
			}
		}
		if bi, err := gb.Result(); err == nil {
			l.pkgs[rec.path] = pkgdb.GoModules(rec.path, bi)
		}
	case large:
		for {
			m, err := body.Read(s.rest)
			ent.Sample(s.rest[:m], 4096, 32768)
			if err != nil {
				break
			}
		}
	}
	if large && ent.Len() > 0 {
		bits := ent.Bits()
		switch {
		case rec.magic == content.ELF && (rec.flags&flagPacked != 0 || bits >= 7.4):
			rec.flags |= flagPacked
		case !rec.magic.Dense() && !rec.magic.Executable() && bits >= 7.2:
			rec.flags |= flagHighEntropy
			l.addFinding(Finding{Rule: ruleHighEntropyBlob, Path: rec.path,
				Reason: fmt.Sprintf("%s of data with %.2f bits of entropy per byte and no known compressed format: encrypted or packed content (a payload, a stolen archive, a miner's configuration)", collect.HumanBytes(rec.size), bits)}.ruled())
		}
	}
	if rec.flags&flagPacked != 0 {
		l.addFinding(Finding{Rule: rulePackedExecutable, Path: rec.path,
			Reason: "ELF executable packed (UPX marker or near-random content): packers hide malware and miners from scanners"}.ruled())
	}
	if db == pkgdb.RPM && !whole {
		l.addFinding(Finding{Rule: ruleRPMUnreadable, Path: rec.path,
			Reason: fmt.Sprintf("RPM database file of %s not read: larger than the %s read of a package database (%s for all those of a layer), so its packages are missing from the package list and SBOM",
				collect.HumanBytes(rec.size), collect.HumanBytes(pkgdb.MaxSize), collect.HumanBytes(maxRPMKept))}.ruled())
	}
	if data == nil {
		return
	}
	switch db {
	case pkgdb.None:
	case pkgdb.RPM:
		// Kept until the layer ends; the buffer is handed over rather
		// than copied.
		if l.rpm == nil {
			l.rpm = map[string][]byte{}
		}
		l.rpmKept += int64(len(data))
		if whole && int64(n) < rec.size {
			l.rpm[rec.path], s.buf = data, nil
		} else {
			l.rpm[rec.path] = bytes.Clone(data)
		}
		return
	case pkgdb.OSRelease:
		o := pkgdb.ParseOSRelease(data)
		o.Path = rec.path
		l.osrel[rec.path] = o
	default:
		l.pkgs[rec.path] = pkgdb.Parse(db, rec.path, data)
	}
	if text {
		s.secrets(l, rec.path, data)
		s.pathRules(l, rec, data)
	}
	if cap(s.buf) > 8<<20 {
		s.buf = nil // keep memory flat after a large package database
	}
}

// maxRPMKept bounds the RPM database files a layer keeps until it ends: a
// database and its log of the largest size read.
const maxRPMKept = 2 * pkgdb.MaxSize

// parseRPM reads the RPM databases of the layer, each with the SQLite
// write-ahead log beside it when the layer has one, and frees their
// bytes. A database that cannot be read in full is a finding, so that no
// package goes missing unsaid.
func (l *layerData) parseRPM() {
	paths := make([]string, 0, len(l.rpm))
	for p := range l.rpm {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if db, ok := strings.CutSuffix(p, pkgdb.RPMLogSuffix); ok {
			if _, ok := l.rpm[db]; !ok && len(l.rpm[p]) > 0 {
				l.addFinding(Finding{Rule: ruleRPMUnreadable, Path: p,
					Reason: fmt.Sprintf("SQLite write-ahead log of the RPM database changed in this layer without %s: the transactions it holds are not in the package list and SBOM", db)}.ruled())
			}
			continue
		}
		pkgs, err := pkgdb.ParseRPM(p, l.rpm[p], l.rpm[p+pkgdb.RPMLogSuffix])
		l.pkgs[p] = pkgs
		if err != nil {
			l.addFinding(Finding{Rule: ruleRPMUnreadable, Path: p,
				Reason: fmt.Sprintf("RPM database not read in full (%d packages read), so packages may be missing from the package list and SBOM: %v", len(pkgs), oneLine(strings.ReplaceAll(err.Error(), "\n", "; "), 500))}.ruled())
		}
	}
	l.rpm, l.rpmKept = nil, 0
}

// noisyDir reports files whose keys and passwords are usually test
// fixtures, documentation examples or third-party code: test folders and
// files, examples, documentation, and the libraries and shared data of
// the distribution and of language package managers.
func noisyDir(p string) bool {
	for _, d := range []string{"/test/", "/tests/", "/testdata/", "/testing/", "/examples/", "/example/", "/fixtures/", "/doc/", "/docs/",
		"/usr/share/", "/usr/lib/", "/site-packages/", "/dist-packages/", "/node_modules/", "/go/pkg/mod/", "/vendor/", "/gems/"} {
		if strings.Contains(p, d) {
			return true
		}
	}
	base := path.Base(p)
	return strings.Contains(base, "_test.") || strings.HasPrefix(base, "test_") || strings.Contains(base, ".test.") ||
		strings.Contains(base, ".spec.") || strings.Contains(base, "example")
}

// secrets hands a text file to the secret worker, which searches it on
// another core while the layer is read on; flush collects the results.
func (s *scanner) secrets(l *layerData, p string, data []byte) {
	if len(data) > maxTextScan {
		return
	}
	if s.sw == nil {
		s.sw = newSecretWorker(s.a)
	}
	s.sw.submit(l, p, data)
}

// flush waits for the secret worker to finish the files of l and adds
// their findings to l, in the order the files were read.
func (s *scanner) flush(l *layerData) {
	if s.sw == nil {
		return
	}
	for _, f := range s.sw.results(l) {
		l.addFinding(f)
	}
}

// close stops the secret worker.
func (s *scanner) close() {
	if s.sw != nil {
		close(s.sw.jobs)
		<-s.sw.done
		s.sw = nil
	}
}

// secretWorker searches text files for secrets in a goroutine of its
// own. Files are copied into a few reusable buffers (text files are at
// most maxTextScan bytes), so memory stays bounded.
type secretWorker struct {
	a    *analysis
	jobs chan secretJob
	free chan []byte
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	out  map[*layerData][]Finding
}

type secretJob struct {
	l    *layerData
	path string
	data []byte
}

const secretBuffers = 8

func newSecretWorker(a *analysis) *secretWorker {
	w := &secretWorker{a: a, jobs: make(chan secretJob, secretBuffers), free: make(chan []byte, secretBuffers), done: make(chan struct{}), out: map[*layerData][]Finding{}}
	for range secretBuffers {
		w.free <- nil
	}
	go w.run()
	return w
}

func (w *secretWorker) submit(l *layerData, p string, data []byte) {
	buf := append((<-w.free)[:0], data...)
	w.wg.Add(1)
	w.jobs <- secretJob{l: l, path: p, data: buf}
}

func (w *secretWorker) run() {
	defer close(w.done)
	for j := range w.jobs {
		var fs []Finding
		for _, m := range secrets.Text(j.path, j.data) {
			f := w.a.secretFinding(m, j.path)
			if noisyDir(j.path) && f.Severity.Rank() > Low.Rank() {
				f.Severity = Low
				f.Reason += "; in a test, example, documentation or third-party package folder, so likely a fixture"
			}
			fs = append(fs, f)
		}
		if len(fs) > 0 {
			w.mu.Lock()
			w.out[j.l] = append(w.out[j.l], fs...)
			w.mu.Unlock()
		}
		w.free <- j.data
		w.wg.Done()
	}
}

// results waits until every submitted file is searched and returns, and
// forgets, the findings of l.
func (w *secretWorker) results(l *layerData) []Finding {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	fs := w.out[l]
	delete(w.out, l)
	return fs
}

// pathRules are the checks that depend on a text file's location.
func (s *scanner) pathRules(l *layerData, rec *record, data []byte) {
	switch {
	case rec.path == "/etc/ld.so.preload" && len(strings.TrimSpace(string(data))) > 0:
		l.addFinding(Finding{Rule: ruleLDPreload, Path: rec.path,
			Reason: fmt.Sprintf("/etc/ld.so.preload loads %q into every program: a classic rootkit and credential-stealer hook", strings.TrimSpace(firstLine(data)))}.ruled())
	case path.Base(rec.path) == "authorized_keys" || path.Base(rec.path) == "authorized_keys2":
		keys := 0
		for _, line := range strings.Split(string(data), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				keys++
			}
		}
		if keys > 0 {
			l.addFinding(Finding{Rule: ruleSSHAuthorizedKeys, Path: rec.path,
				Reason: fmt.Sprintf("%d SSH public key(s) allowed to log in: check that each belongs to someone expected (a common persistence method)", keys)}.ruled())
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// hasher is a reader that hashes what passes through it. SHA-256 costs
// about as much as everything else the analysis does per byte, so it runs
// on another core: read data is copied into a few chunk buffers that a
// goroutine hashes while the caller goes on parsing.
type hasher struct {
	r       io.Reader
	h       hash.Hash
	pending []byte      // data read but not yet sent, up to hashChunk
	work    chan []byte // chunks to hash
	free    chan []byte // hashed chunks, to reuse
	done    chan struct{}
	sum     string
}

const (
	hashChunk  = 1 << 20
	hashChunks = 4
)

func newHasher(r io.Reader) *hasher {
	h := &hasher{r: r, h: sha256.New(), work: make(chan []byte, hashChunks), free: make(chan []byte, hashChunks+1), done: make(chan struct{})}
	for range hashChunks + 1 {
		h.free <- make([]byte, 0, hashChunk)
	}
	h.pending = <-h.free
	go func() {
		defer close(h.done)
		for b := range h.work {
			h.h.Write(b)
			h.free <- b[:0]
		}
	}()
	return h
}

// Read implements io.Reader, queueing what it read for hashing.
func (h *hasher) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	for data := p[:n]; len(data) > 0; {
		k := min(len(data), hashChunk-len(h.pending))
		h.pending = append(h.pending, data[:k]...)
		data = data[k:]
		if len(h.pending) == hashChunk {
			h.work <- h.pending
			h.pending = <-h.free
		}
	}
	return n, err
}

// digest waits for the hashing to end and returns "sha256:<hex>". Reading
// after digest is not allowed.
func (h *hasher) digest() string {
	if h.sum == "" {
		if len(h.pending) > 0 {
			h.work <- h.pending
			h.pending = nil
		}
		close(h.work)
		<-h.done
		h.sum = "sha256:" + hex.EncodeToString(h.h.Sum(nil))
	}
	return h.sum
}

// close stops the hashing goroutine if digest was not called.
func (h *hasher) close() { h.digest() }

// readerOnly hides WriteTo so that io.CopyBuffer uses the given buffer.
type readerOnly struct{ io.Reader }
