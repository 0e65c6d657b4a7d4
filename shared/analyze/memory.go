package analyze

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/criu"
	"github.com/forensic-tools/forensic/shared/analyze/elfcore"
	"github.com/forensic-tools/forensic/shared/analyze/memscan"
)

// Input kinds of checkpoints and cores.
const (
	KindCheckpoint = "checkpoint"
	KindCore       = "core"
)

// Search is the outcome of --search or --search-regex.
type Search struct {
	Query string        `json:"query"`
	Regex bool          `json:"regex"`
	Hits  []memscan.Hit `json:"hits"`
	// Truncated is true when the hit limit stopped the search.
	Truncated bool `json:"truncated,omitempty"`
}

// SearchOptions are the memory search and core writing options.
type SearchOptions struct {
	// Literal or Regex is searched for in memory, with Context bytes
	// around each hit.
	Literal string
	Regex   *regexp.Regexp
	Context int
	// CoreDir, when set, receives one ELF core per process of a checkpoint.
	CoreDir string
}

// openCheckpoint tells whether file is a checkpoint (a folder of CRIU
// images, or an uncompressed tar of one or a kubelet checkpoint archive)
// and returns its files.
func openCheckpoint(file string, fi os.FileInfo, f *os.File) (files *criu.Files, damage error, ok bool) {
	if fi.IsDir() {
		fs, err := criu.OpenDir(file)
		if err != nil {
			return nil, nil, false
		}
		files = fs
	} else {
		fs, err := criu.IndexTar(f, f, fi.Size())
		if fs == nil {
			return nil, nil, false
		}
		files, damage = fs, err
	}
	if l, _ := files.Layout(); l == "" {
		files.Close()
		if damage != nil && looksLikeCheckpoint(files) {
			// Truncated before the inventory: say so rather than read it as a plain tarball.
			return nil, fmt.Errorf("a checkpoint archive cut short (%v) before its inventory.img: nothing of it can be read", damage), true
		}
		return nil, nil, false
	}
	return files, damage, true
}

func looksLikeCheckpoint(files *criu.Files) bool {
	for _, n := range files.Names() {
		if strings.HasPrefix(n, "checkpoint/") || strings.HasSuffix(n, ".img") {
			return true
		}
	}
	return false
}

// isCore tells whether f starts like an ELF core.
func isCore(f *os.File) bool {
	head := make([]byte, 18)
	n, _ := f.ReadAt(head, 0)
	return elfcore.IsCore(head[:n])
}

// checkpoint reports the checkpoint in files: the container, processes,
// the writable layer in the timeline, and findings over memory.
func (a *analysis) checkpoint(ctx context.Context, files *criu.Files, name string) error {
	c, err := criu.Open(files)
	if err != nil {
		return fmt.Errorf("reading the checkpoint %s: %w", name, err)
	}
	a.rep.Input.Kind = KindCheckpoint
	a.rep.Input.Layout = c.Layout
	for _, p := range c.Problems {
		a.problem("checkpoint %s: %s", name, p)
	}
	if ct := c.Container; ct != nil {
		ct.Env = a.env(ct.Env, "container environment (spec.dump)")
		ct.Args = a.command(ct.Args, "container command (spec.dump)")
	}
	var procs []memscan.Process
	for _, p := range c.Processes {
		where := fmt.Sprintf("pid %d (%s)", p.PID, p.Comm)
		p.Env = a.env(p.Env, where+" environment")
		p.Cmdline = a.command(p.Cmdline, where+" command line")
		if strings.HasSuffix(p.Exe, " (deleted)") {
			a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleDeletedExe, Path: strings.TrimSuffix(p.Exe, " (deleted)"), Where: where,
				Reason: "the process runs a program that was deleted after it started"}.ruled())
		}
		for _, m := range p.Mappings {
			a.mappingFinding(where, m.Start, m.End, m.Perms, m.File, m.Deleted, p.Exe)
		}
		if mem := p.Memory(); mem != nil {
			mp := memscan.Process{PID: int(p.PID), Comm: p.Comm, ReadAt: mem.ReadAt, MappingAt: p.MappingAt}
			for _, r := range mem.Runs {
				if r.Off >= 0 {
					mp.Ranges = append(mp.Ranges, memscan.Range{Start: r.Addr, End: r.End()})
				}
			}
			procs = append(procs, mp)
		}
	}
	a.rep.Checkpoint = c
	if rd, ok := c.RootfsDiff(); ok {
		// containerd writes it gzip-compressed, CRI-O and Podman plain.
		rc, _, err := tarStream(ctx, rd)
		if err != nil {
			a.problem("%s: rootfs-diff.tar: %v", name, err)
			rc = io.NopCloser(strings.NewReader(""))
		}
		defer rc.Close()
		t := a.scanTarball(ctx, "rootfs-diff.tar", rc)
		if err := ctx.Err(); err != nil {
			return err
		}
		b := a.fromTarball(t, name+": ")
		_ = b
		a.rep.Input.Kind = KindCheckpoint
		changed := map[string]bool{}
		for _, st := range a.rep.Timeline {
			for _, f := range st.Added {
				changed[f.Path] = true
			}
			for _, f := range st.Newest {
				changed[f.Path] = true
			}
		}
		for _, p := range c.Processes {
			if _, inDiff := t.fs.get(strings.TrimPrefix(p.Exe, "/")); p.Exe != "" && (changed[p.Exe] || inDiff) {
				a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleExeChanged, Path: p.Exe, Where: fmt.Sprintf("pid %d (%s)", p.PID, p.Comm),
					Reason: "the running program is not the image's: it was added or changed in the container's writable layer (rootfs-diff.tar)"}.ruled())
			}
		}
	}
	if del := c.DeletedFiles(); len(del) > 0 {
		a.note("checkpoint %s: the container deleted %d paths of its image (deleted.files): %s", name, len(del), strings.Join(first(del, 10), ", "))
	}
	return a.memory(ctx, procs, func(p memscan.Process) string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm) }, c)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// mappingFinding judges one mapping: executable anonymous memory, or a
// deleted file mapped executable.
func (a *analysis) mappingFinding(where string, start, end uint64, perms, file string, deleted bool, exe string) {
	if !strings.Contains(perms, "x") {
		return
	}
	switch {
	case file == "" || file == "[heap]" || file == "[stack]" || strings.HasPrefix(file, "/dev/zero") || file == "memfd":
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleExecAnonymous, Where: where, Path: file,
			Reason: fmt.Sprintf("executable memory not backed by a file at %#x-%#x (%s): injected or unpacked code, or a JIT", start, end, perms)}.ruled())
	case deleted && file+" (deleted)" != exe:
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleDeletedExe, Where: where, Path: file,
			Reason: fmt.Sprintf("a deleted file is mapped executable at %#x-%#x", start, end)}.ruled())
	}
}

// memory runs the secret scanners, the search and the core writing over
// the processes' memory.
func (a *analysis) memory(ctx context.Context, procs []memscan.Process, where func(memscan.Process) string, c *criu.Checkpoint) error {
	// One pass over the memory for the secret scanners and the search.
	o := a.opts.Memory
	var q *memscan.Query
	if o.Literal != "" || o.Regex != nil {
		q = &memscan.Query{Literal: []byte(o.Literal), Regexp: o.Regex, Context: o.Context}
	}
	res, err := memscan.Scan(ctx, procs, q, true)
	if err != nil {
		return err
	}
	for _, s := range res.Secrets {
		f := Finding{Rule: s.Match.Rule, Severity: Severity(s.Match.Severity),
			Where:  fmt.Sprintf("memory of pid %d (%s) at %#x %s", s.PID, s.Comm, s.Address, s.Mapping),
			Reason: s.Match.Description + " in process memory", Secret: a.secret(s.Match)}.ruled()
		a.rep.Findings = append(a.rep.Findings, f)
	}
	if q != nil {
		s := &Search{Query: o.Literal, Hits: []memscan.Hit{}, Truncated: res.Truncated}
		if o.Regex != nil {
			s.Query, s.Regex = o.Regex.String(), true
		}
		if res.Hits != nil {
			s.Hits = res.Hits
		}
		if prev := a.rep.Search; prev != nil { // a bundle's second memory source
			s.Hits = append(prev.Hits, s.Hits...)
			s.Truncated = s.Truncated || prev.Truncated
		}
		a.rep.Search = s
	}
	if o.CoreDir != "" {
		if c == nil {
			return fmt.Errorf("--core-dir writes cores from a checkpoint, and %s is not one", a.rep.Input.Path)
		}
		if err := a.writeCores(c, o.CoreDir); err != nil {
			return err
		}
	}
	return nil
}

// writeCores writes one core per process of c into dir, which is created
// and must not exist with files in it.
func (a *analysis) writeCores(c *criu.Checkpoint, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, p := range c.Processes {
		cp, err := c.CoreProcess(p)
		if err != nil {
			a.problem("no core for pid %d: %v", p.PID, err)
			continue
		}
		name := filepath.Join(dir, fmt.Sprintf("core.%d", p.PID))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("writing the core of pid %d: %w", p.PID, err)
		}
		err = elfcore.Write(f, cp)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return fmt.Errorf("writing the core of pid %d: %w", p.PID, err)
		}
		a.rep.Cores = append(a.rep.Cores, name)
	}
	return nil
}

// core reports the ELF core in f.
func (a *analysis) core(ctx context.Context, f *os.File, size int64) error {
	c, err := elfcore.Read(f, size)
	if err != nil {
		return fmt.Errorf("reading the core %s: %w", f.Name(), err)
	}
	a.rep.Input.Kind = KindCore
	a.rep.Input.Format = "elf-core"
	for _, p := range c.Problems {
		a.problem("core: %s", p)
	}
	a.rep.Core = c
	where := fmt.Sprintf("pid %d (%s)", c.PID, c.Comm)
	exe := ""
	for _, m := range c.Mappings {
		a.mappingFinding(where, m.Start, m.End, m.Perms, m.File, m.Deleted, exe)
	}
	mp := memscan.Process{PID: c.PID, Comm: c.Comm, ReadAt: c.ReadAt, MappingAt: c.MappingAt}
	for _, r := range c.Dumped() {
		mp.Ranges = append(mp.Ranges, memscan.Range{Start: r[0], End: r[1]})
	}
	return a.memory(ctx, []memscan.Process{mp}, nil, nil)
}

// memoryArtifact tells whether a bundle member is a checkpoint
// (checkpoint/NAME.tar, from docker forensic export --checkpoint or the
// kubelet) or a process core (memory/*.core, from --memory).
func memoryArtifact(rel string) bool {
	return (strings.HasPrefix(rel, "checkpoint/") && strings.HasSuffix(rel, ".tar")) ||
		(strings.HasPrefix(rel, "memory/") && strings.HasSuffix(rel, ".core"))
}

// memoryMember analyses a checkpoint or core of a bundle. The member is
// copied to a temporary file first, read once from the bundle's stream:
// a checkpoint's pages are found through its pagemap and a core's
// segments through its program headers, both at random offsets, which a
// compressed bundle cannot give. The copy is bounded by --max-bytes and
// removed when done. The first checkpoint and the first core are
// reported; others are named in the notes.
func (a *analysis) memoryMember(ctx context.Context, rel string, size int64, body io.Reader) {
	isCheckpoint := strings.HasPrefix(rel, "checkpoint/")
	if (isCheckpoint && a.rep.Checkpoint != nil) || (!isCheckpoint && a.rep.Core != nil) {
		a.note("%s is not analysed: one checkpoint and one core are reported per bundle; run analyze on it after extracting it", rel)
		return
	}
	if size > a.budget.MaxBytes {
		a.problem("%s: %d bytes, more than --max-bytes allows", rel, size)
		return
	}
	tmp, err := os.CreateTemp("", "forensic-analyze-*")
	if err != nil {
		a.problem("%s: spooling it: %v", rel, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.LimitReader(body, size)); err != nil {
		a.problem("%s: spooling it: %v", rel, err)
		return
	}
	kind, layout := a.rep.Input.Kind, a.rep.Input.Layout
	defer func() { a.rep.Input.Kind, a.rep.Input.Layout = kind, layout }()
	fi, err := tmp.Stat()
	if err != nil {
		a.problem("%s: %v", rel, err)
		return
	}
	if !isCheckpoint {
		if !isCore(tmp) {
			a.problem("%s is not an ELF core", rel)
			return
		}
		if err := a.core(ctx, tmp, fi.Size()); err != nil {
			a.problem("%s: %v", rel, err)
		}
		return
	}
	files, damage, ok := openCheckpoint(tmp.Name(), fi, tmp)
	if !ok || files == nil {
		a.problem("%s is not a CRIU checkpoint (%v)", rel, damage)
		return
	}
	defer files.Close()
	if damage != nil {
		a.problem("%s: %v", rel, damage)
	}
	if err := a.checkpoint(ctx, files, rel); err != nil {
		a.problem("%s: %v", rel, err)
	}
}
