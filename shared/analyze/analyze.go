package analyze

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/mholt/archives"

	"github.com/forensic-tools/forensic/shared/analyze/imagecfg"
	"github.com/forensic-tools/forensic/shared/analyze/secrets"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// analysis is the state of one Analyze call.
type analysis struct {
	opts   Options
	budget *tarscan.Budget
	scan   *scanner
	rep    *Report
	kept   int64
}

func (a *analysis) problem(format string, args ...any) {
	a.rep.Problems = append(a.rep.Problems, fmt.Sprintf(format, args...))
}

func (a *analysis) note(format string, args ...any) {
	a.rep.Notes = append(a.rep.Notes, fmt.Sprintf(format, args...))
}

// Analyze reads the image tarball, filesystem tarball or evidence bundle
// at file and reports what is in it. The kind of input is found from its
// content, not its name. An error is returned only when nothing could be
// analysed (the file cannot be opened, is not an archive, or ctx was
// cancelled); everything wrong inside the input is in the Report's
// Problems and Findings, and Report.Complete is false when the input
// could not be read in full.
func Analyze(ctx context.Context, file string, opts Options) (*Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	a := &analysis{opts: opts}
	a.rep = &Report{
		Schema: Schema, Tool: opts.Tool, Analyzed: opts.now(),
		Input:    Input{Path: file, Size: fi.Size()},
		Timeline: []Stage{}, Findings: []Finding{}, Packages: []Package{},
	}
	a.scan = newScanner(a)
	defer a.scan.close()
	// Checkpoints and cores are read at random (memory.go), not streamed.
	if files, damage, ok := openCheckpoint(file, fi, f); ok {
		if files == nil {
			return nil, fmt.Errorf("reading %s: %w", file, damage)
		}
		defer files.Close()
		if damage != nil {
			a.problem("%s: %v; the report covers what was read", filepath.Base(file), damage)
		}
		a.rep.Input.Format = evidence.Tar.Extension()
		if fi.IsDir() {
			a.rep.Input.Format = "folder"
		}
		a.budget = a.opts.budget(func() int64 { return 0 })
		if err := a.checkpoint(ctx, files, filepath.Base(file)); err != nil {
			return nil, err
		}
		a.finish()
		return a.rep, nil
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a folder but not a CRIU checkpoint (no inventory.img): give an image tarball, a filesystem tarball, an evidence bundle, a checkpoint or a core", file)
	}
	if isCore(f) {
		a.budget = a.opts.budget(func() int64 { return 0 })
		if err := a.core(ctx, f, fi.Size()); err != nil {
			return nil, err
		}
		a.finish()
		return a.rep, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}

	format, bundleLike, err := sniff(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	a.rep.Input.Format = format
	if bundleLike {
		vr, err := evidence.Verify(ctx, file)
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if vr.Manifest != nil {
			if err := a.bundle(ctx, f, vr); err != nil {
				return nil, err
			}
			a.finish()
			return a.rep, nil
		}
		if format == evidence.Zip.Extension() {
			return nil, fmt.Errorf("%s is a zip archive without a bundle manifest: only evidence bundles are read from zip files", file)
		}
	}

	if opts.Memory.CoreDir != "" || opts.Memory.Literal != "" || opts.Memory.Regex != nil {
		return nil, fmt.Errorf("%s is neither a checkpoint nor a core nor a bundle holding one: --search, --search-regex and --core-dir read process memory", file)
	}
	in, err := a.open(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	defer in.Close()
	t := a.scanTarball(ctx, filepath.Base(file), in)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.fromTarball(t, "")
	a.finish()
	return a.rep, nil
}

// counter counts the bytes read from the input file, for the Budget's
// compression-ratio check.
type counter struct {
	r io.Reader
	n atomic.Int64
}

// Read implements io.Reader.
func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// open rewinds f and returns the tar stream in it, decompressed, and sets
// up the Budget against the bytes read from f.
func (a *analysis) open(ctx context.Context, f *os.File) (io.ReadCloser, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	c := &counter{r: f}
	a.budget = a.opts.budget(c.n.Load)
	rc, _, err := tarStream(ctx, bufio.NewReaderSize(c, 1<<20))
	return rc, err
}

// tarStream identifies the format of r by content and returns the tar
// stream inside it, decompressed, with the format's extension from the
// format table (evidence.Formats).
func tarStream(ctx context.Context, r io.Reader) (io.ReadCloser, string, error) {
	format, stream, err := archives.Identify(ctx, "", r)
	if err != nil {
		if errors.Is(err, archives.NoMatch) {
			return nil, "", fmt.Errorf("not a tar archive (compressed or not) nor a zip bundle")
		}
		return nil, "", err
	}
	var comp archives.Compression
	switch f := format.(type) {
	case archives.CompressedArchive:
		if _, ok := f.Extraction.(archives.Tar); !ok {
			return nil, "", fmt.Errorf("a %s archive: only tar archives are read, and zip for bundles", format.Extension())
		}
		comp = f.Compression
	case archives.Compression:
		comp = f // a compressed stream whose content did not look like tar; let tar judge
	case archives.Tar:
		return io.NopCloser(stream), evidence.Tar.Extension(), nil
	case archives.Zip:
		return nil, evidence.Zip.Extension(), fmt.Errorf("a zip archive: zip is read only for evidence bundles")
	default:
		return nil, "", fmt.Errorf("a %s archive: only tar archives are read, and zip for bundles", format.Extension())
	}
	tf, ok := evidence.CompressedTar(comp)
	if !ok {
		return nil, "", fmt.Errorf("a %s stream: not a compression this tool reads", comp.Extension())
	}
	rc, err := comp.OpenReader(stream)
	if err != nil {
		return nil, "", fmt.Errorf("opening the %s stream: %w", comp.Extension(), err)
	}
	return rc, tf.Extension(), nil
}

// sniff tells the input's format and whether its first entries look like
// an evidence bundle's: everything below one root folder that is neither
// "." nor "blobs" nor an image layer's folder, with regular files below
// it. Folder entries are allowed, since a bundle extracted and archived
// again with tar(1) has them. Bundles are confirmed by their manifest
// when verified; anything else that looks like one costs one extra pass.
func sniff(ctx context.Context, f *os.File) (format string, bundleLike bool, err error) {
	rc, format, err := tarStream(ctx, bufio.NewReader(f))
	if format == evidence.Zip.Extension() {
		return format, true, nil
	}
	if err != nil {
		return "", false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	root, files := "", 0
	for i := 0; i < 16; i++ {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		first, rest, nested := strings.Cut(name, "/")
		switch {
		case first == "" || first == "." || first == "blobs" || imagecfg.ValidDigest("sha256:"+first):
			return format, false, nil
		case root != "" && first != root:
			return format, false, nil
		case !nested && h.Typeflag != tar.TypeDir:
			return format, false, nil
		}
		root = first
		if nested && rest != "" && (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) {
			files++
		}
	}
	return format, files > 0, nil
}

// secretFinding turns a secrets.Match found in the file at p into a Finding.
func (a *analysis) secretFinding(m secrets.Match, p string) Finding {
	f := Finding{Rule: m.Rule, Severity: Severity(m.Severity), Path: p, Secret: a.secret(m)}.ruled()
	f.Reason = m.Description
	if m.Key != "" && m.Rule != secrets.RulePasswordHash {
		f.Reason += fmt.Sprintf(" assigned to %s", m.Key)
	}
	if m.Line > 0 {
		f.Reason += fmt.Sprintf(" on line %d", m.Line)
	}
	return f
}

func (a *analysis) secret(m secrets.Match) *Secret {
	s := &Secret{Kind: m.Description, Key: m.Key, Value: m.Masked(), Masked: true, Fingerprint: m.Fingerprint(), Line: m.Line}
	if a.opts.ShowSecrets {
		s.Value, s.Masked = m.Value, false
	}
	return s
}

// redact replaces the secrets found in s by their masked form, unless
// secrets are shown.
func (a *analysis) redact(s string, ms []secrets.Match) string {
	if a.opts.ShowSecrets {
		return s
	}
	for _, m := range ms {
		if m.Value != "" {
			s = strings.ReplaceAll(s, m.Value, m.Masked())
		}
	}
	return s
}

// finish sorts the findings, attributes them to stages and fills in the summary.
func (a *analysis) finish() {
	r := a.rep
	sort.SliceStable(r.Findings, func(i, j int) bool {
		fi, fj := r.Findings[i], r.Findings[j]
		if fi.Severity.Rank() != fj.Severity.Rank() {
			return fi.Severity.Rank() > fj.Severity.Rank()
		}
		si, sj := stageKey(fi.Stage), stageKey(fj.Stage)
		if si != sj {
			return si < sj
		}
		if fi.Path != fj.Path {
			return fi.Path < fj.Path
		}
		return fi.Rule < fj.Rule
	})
	s := Summary{Stages: len(r.Timeline), Findings: map[Severity]int{}}
	for i := range r.Timeline {
		st := &r.Timeline[i]
		st.Findings = 0
		if st.Kind == StageLayer {
			s.Layers++
		}
		s.Entries += st.Entries
		s.Bytes += st.Bytes
	}
	for _, f := range r.Findings {
		s.Findings[f.Severity]++
		if f.Stage != nil && *f.Stage < len(r.Timeline) {
			r.Timeline[*f.Stage].Findings++
		}
		switch f.Category {
		case CategorySecret:
			s.Secrets++
		case CategorySuspicious:
			s.Suspicious++
		case CategoryIntegrity:
			s.Integrity++
		case CategoryArchive:
			s.Archive++
		}
	}
	s.Packages = len(r.Packages)
	r.Summary = s
	r.Complete = len(r.Problems) == 0
}

func stageKey(p *int) int {
	if p == nil {
		return 1 << 30
	}
	return *p
}
