package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/mholt/archives"
)

// Report is the outcome of Verify.
type Report struct {
	// File is the bundle that was read.
	File string `json:"file"`
	// Format is the archive format found by content, e.g. ".tar.gz".
	Format string `json:"format"`
	// Root is the bundle's root folder.
	Root string `json:"root"`
	// Entries is the number of files read from the archive.
	Entries int `json:"entries"`
	// Bytes is the number of content bytes read and hashed.
	Bytes int64 `json:"bytes"`
	// Intact is true when every artifact and root file is present with its
	// recorded size and hash, and nothing else is in the archive.
	Intact bool `json:"intact"`
	// Complete is the manifest's own verdict on the collection.
	Complete bool `json:"complete"`
	// Incomplete repeats the manifest's reasons when not complete.
	Incomplete []string `json:"incomplete_reasons,omitempty"`
	// Missing lists artifacts the manifest records as stored but the archive lacks.
	Missing []string `json:"missing,omitempty"`
	// Extra lists archive entries that the manifest does not know.
	Extra []string `json:"extra,omitempty"`
	// Altered lists artifacts whose content differs from the record.
	Altered []Mismatch `json:"altered,omitempty"`
	// Problems lists structural faults: unreadable archive, missing or
	// invalid manifest, SHA256SUMS disagreeing, duplicate entries.
	Problems []string `json:"problems,omitempty"`
	// Manifest is the manifest as read, when it could be read.
	Manifest *Manifest `json:"-"`
	// Custody is custody.json as read, when it could be read.
	Custody *Custody `json:"-"`
}

// Mismatch is one artifact whose stored bytes do not match the record.
type Mismatch struct {
	Path       string `json:"path"`
	WantSize   int64  `json:"want_size"`
	GotSize    int64  `json:"got_size"`
	WantSHA256 string `json:"want_sha256"`
	GotSHA256  string `json:"got_sha256"`
}

type entry struct {
	size int64
	sum  string
}

// rootFileLimit is the most of manifest.json, SHA256SUMS or custody.json
// that Verify holds in memory to parse them. A manifest entry takes some
// 300 bytes, so this is room for about 200 000 artifacts; a larger root
// file is reported as a problem, not read into memory, since Verify also
// reads untrusted bundles.
const rootFileLimit = 64 << 20

// Verify reads the bundle at file in one pass, hashing every entry, and
// compares what it found with manifest.json and SHA256SUMS. An error is
// returned only when the file cannot be opened; every fault found inside
// is in the Report. Memory stays bounded whatever the bundle holds: the
// root files it parses (manifest.json, SHA256SUMS, custody.json) are kept
// up to 64 MiB each, and a larger one is reported as a problem.
func Verify(ctx context.Context, file string) (*Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening bundle %s: %w", file, err)
	}
	defer f.Close()
	return verifyStream(ctx, file, f), nil
}

// verifyStream verifies the bundle read from f, named file in the report.
func verifyStream(ctx context.Context, file string, f io.Reader) *Report {
	r := &Report{File: file}

	format, stream, err := archives.Identify(ctx, "", f)
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("not a readable archive: %v", err))
		return r
	}
	ex, ok := format.(archives.Extractor)
	if !ok {
		r.Problems = append(r.Problems, fmt.Sprintf("not an archive of files (found %s)", format.Extension()))
		return r
	}
	r.Format = format.Extension()

	found := map[string]entry{}
	raw := map[string][]byte{}   // the root files to parse
	tooBig := map[string]int64{} // root files over rootFileLimit, with their size
	buf := make([]byte, copyBufSize)
	walkErr := ex.Extract(ctx, stream, func(ctx context.Context, fi archives.FileInfo) error {
		name := strings.TrimPrefix(path.Clean("/"+fi.NameInArchive), "/")
		if fi.IsDir() {
			return nil
		}
		root, rel, _ := strings.Cut(name, "/")
		if r.Root == "" {
			r.Root = root
		}
		if root != r.Root || rel == "" {
			r.Extra = append(r.Extra, name)
			return nil
		}
		if !fi.Mode().IsRegular() {
			r.Extra = append(r.Extra, rel+" (not a regular file)")
			return nil
		}
		if _, dup := found[rel]; dup {
			r.Problems = append(r.Problems, fmt.Sprintf("%s appears twice in the archive", rel))
		}
		rc, err := fi.Open()
		if err != nil {
			return fmt.Errorf("opening %s: %w", name, err)
		}
		defer rc.Close()
		h := sha256.New()
		var dst io.Writer = h
		var keep *rootBuffer
		if parsed(rel) {
			// A header that claims more than the limit is believed at
			// once; one that claims less is not trusted either.
			keep = &rootBuffer{over: fi.Size() > rootFileLimit}
			dst = io.MultiWriter(h, keep)
		}
		n, err := io.CopyBuffer(writerOnly{dst}, readerOnly{rc}, buf)
		r.Entries++
		r.Bytes += n
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		found[rel] = entry{size: n, sum: hex.EncodeToString(h.Sum(nil))}
		if keep != nil && keep.over {
			tooBig[rel] = n
			delete(raw, rel)
		} else if keep != nil {
			raw[rel] = keep.b
			delete(tooBig, rel)
		}
		return nil
	})
	if walkErr != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("archive is truncated or corrupt after %d entries: %v", r.Entries, walkErr))
	}
	r.compare(found, raw, tooBig)
	r.Intact = len(r.Problems) == 0 && len(r.Missing) == 0 && len(r.Extra) == 0 && len(r.Altered) == 0
	return r
}

// parsed reports whether Verify reads the root file name, not just hashes it.
func parsed(name string) bool {
	return name == ManifestName || name == SumsName || name == CustodyName
}

// rootBuffer keeps a root file to parse, up to rootFileLimit bytes. Past
// the limit it drops what it holds and keeps only the fact.
type rootBuffer struct {
	b    []byte
	over bool
}

func (r *rootBuffer) Write(p []byte) (int, error) {
	if !r.over && int64(len(r.b))+int64(len(p)) > rootFileLimit {
		r.over, r.b = true, nil
	}
	if !r.over {
		r.b = append(r.b, p...)
	}
	return len(p), nil
}

// tooLarge is the problem of a root file over rootFileLimit.
func tooLarge(name string, n int64) string {
	return fmt.Sprintf("%s is %d bytes, more than the limit of %d: not a bundle this tool wrote, or tampered", name, n, int64(rootFileLimit))
}

// compare checks what was found against the manifest and SHA256SUMS.
func (r *Report) compare(found map[string]entry, raw map[string][]byte, tooBig map[string]int64) {
	for name, n := range tooBig {
		r.Problems = append(r.Problems, tooLarge(name, n))
	}
	mb, ok := raw[ManifestName]
	if _, big := tooBig[ManifestName]; big {
		sort.Strings(r.Problems)
		return
	}
	if !ok {
		r.Problems = append(r.Problems, "manifest.json is missing: this is not a complete forensic bundle")
		return
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("manifest.json is not valid JSON: %v", err))
		return
	}
	r.Manifest = &m
	r.Complete = m.Complete
	r.Incomplete = m.Incomplete
	if m.Root != r.Root {
		r.Problems = append(r.Problems, fmt.Sprintf("manifest names root %q but the archive's root is %q", m.Root, r.Root))
	}
	if cb, ok := raw[CustodyName]; ok {
		var c Custody
		if err := json.Unmarshal(cb, &c); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("custody.json is not valid JSON: %v", err))
		} else {
			r.Custody = &c
		}
	}

	known := map[string]bool{ManifestName: true, SumsName: true}
	for _, a := range m.Artifacts {
		if !a.Stored() {
			continue
		}
		known[a.Path] = true
		r.check(a.Path, a.Size, a.SHA256, found)
	}
	for name, sum := range m.Metadata {
		known[name] = true
		got, ok := found[name]
		switch {
		case !ok:
			r.Missing = append(r.Missing, name)
		case got.sum != sum:
			r.Altered = append(r.Altered, Mismatch{Path: name, WantSize: -1, GotSize: got.size, WantSHA256: sum, GotSHA256: got.sum})
		}
	}
	for name := range found {
		if !known[name] {
			r.Extra = append(r.Extra, name)
		}
	}
	r.checkSums(found, raw, tooBig)
	sort.Strings(r.Missing)
	sort.Strings(r.Extra)
	sort.Slice(r.Altered, func(i, j int) bool { return r.Altered[i].Path < r.Altered[j].Path })
}

func (r *Report) check(name string, size int64, sum string, found map[string]entry) {
	got, ok := found[name]
	if !ok {
		r.Missing = append(r.Missing, name)
		return
	}
	if got.sum != sum || got.size != size {
		r.Altered = append(r.Altered, Mismatch{Path: name, WantSize: size, GotSize: got.size, WantSHA256: sum, GotSHA256: got.sum})
	}
}

// checkSums makes sure SHA256SUMS agrees with the content and covers it all,
// since responders check extracted bundles with sha256sum -c.
func (r *Report) checkSums(found map[string]entry, raw map[string][]byte, tooBig map[string]int64) {
	sb, ok := raw[SumsName]
	if _, big := tooBig[SumsName]; big {
		sort.Strings(r.Problems)
		return
	}
	if !ok {
		r.Problems = append(r.Problems, "SHA256SUMS is missing")
		return
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sb))
	for line := 1; sc.Scan(); line++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			r.Problems = append(r.Problems, fmt.Sprintf("SHA256SUMS line %d is malformed", line))
			continue
		}
		listed[name] = true
		if got, ok := found[name]; ok && got.sum != sum {
			r.Problems = append(r.Problems, fmt.Sprintf("SHA256SUMS disagrees with the content of %s", name))
		} else if !ok {
			r.Problems = append(r.Problems, fmt.Sprintf("SHA256SUMS lists %s, which is not in the archive", name))
		}
	}
	for name := range found {
		if name != SumsName && !listed[name] {
			r.Problems = append(r.Problems, fmt.Sprintf("SHA256SUMS does not cover %s", name))
		}
	}
	sort.Strings(r.Problems)
}

// Summary is a one-line verdict suitable for the end of a verify run.
func (r *Report) Summary() string {
	switch {
	case !r.Intact:
		return fmt.Sprintf("bundle %s is NOT intact: %d missing, %d altered, %d extra, %d problems", r.File, len(r.Missing), len(r.Altered), len(r.Extra), len(r.Problems))
	case !r.Complete:
		return fmt.Sprintf("bundle %s is intact (%d files, %d bytes verified) but marked INCOMPLETE: the collection did not get everything", r.File, r.Entries, r.Bytes)
	}
	return fmt.Sprintf("bundle %s is intact and complete (%d files, %d bytes verified)", r.File, r.Entries, r.Bytes)
}

// WriteText writes the report for people: every fault on its own line,
// then the summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.Format != "" {
		fmt.Fprintf(&b, "format:  %s\nroot:    %s\n", r.Format, r.Root)
	}
	if c := r.Custody; c != nil {
		fmt.Fprintf(&b, "target:  %s %s %s\ncollected %s - %s by %s on %s with %s %s\n",
			c.Target.Kind, c.Target.Name, c.Target.ID,
			c.Started.Format("2006-01-02T15:04:05Z"), c.Ended.Format("2006-01-02T15:04:05Z"),
			nonEmpty(c.Examiner, c.OSUser.Name), c.Host, c.Tool.Name, c.Tool.Version)
	}
	for _, p := range r.Missing {
		fmt.Fprintf(&b, "MISSING  %s\n", p)
	}
	for _, m := range r.Altered {
		fmt.Fprintf(&b, "ALTERED  %s: sha256 %s, recorded %s (size %d, recorded %d)\n", m.Path, m.GotSHA256, m.WantSHA256, m.GotSize, m.WantSize)
	}
	for _, p := range r.Extra {
		fmt.Fprintf(&b, "EXTRA    %s\n", p)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "PROBLEM  %s\n", p)
	}
	if r.Intact && !r.Complete {
		for _, p := range r.Incomplete {
			fmt.Fprintf(&b, "INCOMPLETE %s\n", p)
		}
	}
	b.WriteString(r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func nonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ErrNotIntact is wrapped by errors from callers that turn a Report into
// an exit status.
var ErrNotIntact = errors.New("bundle is not intact")
