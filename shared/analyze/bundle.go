package analyze

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/mholt/archives"

	"github.com/forensic-tools/forensic/shared/analyze/secrets"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// bundleState is what the pass over a bundle collected.
type bundleState struct {
	files map[string][]byte     // small JSON artifacts, by path below the root
	fs    map[string]*layerData // filesystem tarballs, by path
	fsOrd []string
	image *tarball
}

// Paths of the artifacts a bundle analysis reads.
const (
	pathContainerInspect = "container/inspect.json"
	pathContainerDiff    = "container/diff.json"
	pathFilesystem       = "container/filesystem.tar"
	pathImageInspect     = "image/inspect.json"
	pathImageHistory     = "image/history.json"
	pathImageTar         = "image/image.tar"
)

// fsArtifact reports whether a bundle artifact is a filesystem tarball: the
// container's export, or a Kubernetes agent's rootfs.tar.
func fsArtifact(rel string) bool {
	return rel == pathFilesystem || path.Base(rel) == "rootfs.tar" || path.Base(rel) == "filesystem.tar" ||
		strings.HasPrefix(rel, "fs/") && strings.HasSuffix(rel, ".tar")
}

// logArtifact reports whether a bundle artifact is a log to search.
func logArtifact(rel string) bool {
	return strings.HasSuffix(rel, ".log") && rel != evidence.LogName
}

// bundle analyses an evidence bundle that Verify has read.
func (a *analysis) bundle(ctx context.Context, f *os.File, vr *evidence.Report) error {
	a.rep.Input.Kind = KindBundle
	a.rep.Bundle = bundleInfo(vr)
	if !vr.Intact {
		a.problem("the bundle is NOT intact: %s", vr.Summary())
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleBundleNotIntact, Where: "bundle",
			Reason: "the bundle does not match its manifest (" + vr.Summary() + "): evidence was altered, removed or added after collection, or damaged"}.ruled())
		for _, m := range vr.Altered {
			a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleArtifactAltered, Path: m.Path, Where: "bundle",
				Reason: fmt.Sprintf("content hashes to %s, the manifest records %s", m.GotSHA256, m.WantSHA256)}.ruled())
		}
	}
	if !vr.Complete {
		reason := "no reason recorded"
		if len(vr.Incomplete) > 0 {
			reason = strings.Join(vr.Incomplete, "; ")
		}
		a.problem("the bundle was marked incomplete when collected: %s", reason)
	}
	a.note("The times of the bundle's own entries are when it was collected; the times shown for files come from the tar headers of the filesystem and image inside it.")

	st := &bundleState{files: map[string][]byte{}, fs: map[string]*layerData{}}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding %s: %w", f.Name(), err)
	}
	var err error
	if a.rep.Input.Format == ".zip" {
		err = a.bundleZip(ctx, f, vr.Root, st)
	} else {
		err = a.bundleTar(ctx, f, vr.Root, st)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		a.problem("reading the bundle stopped: %v; the report covers what was read", err)
	}
	a.bundleReport(st)
	return nil
}

func bundleInfo(vr *evidence.Report) *Bundle {
	b := &Bundle{Root: vr.Root, Intact: vr.Intact, Complete: vr.Complete, Verdict: vr.Summary(), Missing: vr.Missing, Extra: vr.Extra,
		Problems: vr.Problems, Incomplete: vr.Incomplete}
	for _, m := range vr.Altered {
		b.Altered = append(b.Altered, m.Path)
	}
	if c := vr.Custody; c != nil {
		b.Collected = timePtr(c.Started)
		b.Examiner, b.Case = c.Examiner, c.Case
		b.Target = strings.TrimSpace(strings.Join([]string{c.Target.Kind, c.Target.Name, c.Target.ID}, " "))
	}
	return b
}

// member handles one artifact of the bundle.
func (a *analysis) member(ctx context.Context, st *bundleState, rel string, size int64, body io.Reader) {
	switch {
	case rel == pathContainerInspect || rel == pathContainerDiff || rel == pathImageInspect || rel == pathImageHistory:
		if size <= maxKept && a.kept+size <= maxKeptTotal {
			if b, err := io.ReadAll(io.LimitReader(body, maxKept)); err == nil {
				a.kept += int64(len(b))
				st.files[rel] = b
			}
		}
	case rel == pathImageTar:
		rc, _, err := tarStream(ctx, body)
		if err != nil {
			a.problem("%s: %v", rel, err)
			return
		}
		defer rc.Close()
		st.image = a.scanTarball(ctx, rel, rc)
	case fsArtifact(rel):
		st.fs[rel] = a.scan.scanStream(ctx, rel, body)
		st.fsOrd = append(st.fsOrd, rel)
	case logArtifact(rel):
		a.scanLog(rel, body)
	case memoryArtifact(rel):
		a.memoryMember(ctx, rel, size, body)
	}
}

func nested(rel string) bool { return rel == pathImageTar || fsArtifact(rel) || memoryArtifact(rel) }

func (a *analysis) bundleTar(ctx context.Context, f *os.File, root string, st *bundleState) error {
	c := &counter{r: f}
	a.budget = a.opts.budget(c.n.Load)
	rc, _, err := tarStream(ctx, bufio.NewReaderSize(c, 1<<20))
	if err != nil {
		return err
	}
	defer rc.Close()
	rel := func(e *tarscan.Entry) (string, bool) {
		r, ok := strings.CutPrefix(e.Path, "/"+root+"/")
		return r, ok
	}
	w := &tarscan.Walker{Budget: a.budget, Uncharged: func(e *tarscan.Entry) bool {
		r, ok := rel(e)
		return ok && nested(r)
	}}
	_, err = w.Walk(ctx, rc, func(e *tarscan.Entry, body io.Reader) error {
		if r, ok := rel(e); ok && e.Type == tarscan.Regular {
			a.member(ctx, st, r, e.Size, body)
		}
		return ctx.Err()
	})
	return err
}

func (a *analysis) bundleZip(ctx context.Context, f *os.File, root string, st *bundleState) error {
	size := a.rep.Input.Size
	a.budget = a.opts.budget(func() int64 { return size })
	return archives.Zip{}.Extract(ctx, f, func(ctx context.Context, fi archives.FileInfo) error {
		if fi.IsDir() || !fi.Mode().IsRegular() {
			return nil
		}
		name := path.Clean("/" + fi.NameInArchive)
		r, ok := strings.CutPrefix(name, "/"+root+"/")
		if !ok {
			return nil
		}
		rc, err := fi.Open()
		if err != nil {
			return fmt.Errorf("opening %s: %w", fi.NameInArchive, err)
		}
		defer rc.Close()
		a.member(ctx, st, r, fi.Size(), rc)
		return ctx.Err()
	})
}

// scanLog searches a log for secrets and notes its first and last times.
func (a *analysis) scanLog(rel string, body io.Reader) {
	lg := Log{Path: rel}
	br := bufio.NewReaderSize(body, 64<<10)
	var chunk []byte
	chunkStart := 1
	found := 0
	flush := func() {
		if len(chunk) == 0 || found >= 50 {
			chunk = chunk[:0]
			return
		}
		for _, m := range secrets.Log(chunk) {
			if found >= 50 {
				break
			}
			m.Line += chunkStart - 1
			f := a.secretFinding(m, "")
			f.Where = rel
			f.Reason = fmt.Sprintf("%s in %s line %d", m.Description, rel, m.Line)
			a.rep.Findings = append(a.rep.Findings, f)
			found++
		}
		chunk = chunk[:0]
	}
	var last []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			lg.Lines++
			if lg.First == nil {
				lg.First = logTime(line)
			}
			last = append(last[:0], line[:min(len(line), 64)]...)
			if len(chunk) == 0 {
				chunkStart = lg.Lines
			}
			chunk = append(chunk, line...)
			if len(chunk) >= 1<<20 && line[len(line)-1] == '\n' {
				flush()
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
	}
	flush()
	if lg.Lines > 0 {
		lg.Last = logTime(last)
	}
	if a.rep.Container == nil {
		a.rep.Container = &Container{}
	}
	a.rep.Container.Logs = append(a.rep.Container.Logs, lg)
}

// logTime reads the engine's timestamp at the start of a log line.
func logTime(line []byte) *time.Time {
	ts, _, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil
	}
	return timePtr(t)
}

// containerInspect is the part of docker inspect that is read.
type containerInspect struct {
	ID      string   `json:"Id"`
	Name    string   `json:"Name"`
	Image   string   `json:"Image"`
	Created string   `json:"Created"`
	Path    string   `json:"Path"`
	Args    []string `json:"Args"`
	State   struct {
		StartedAt string `json:"StartedAt"`
	} `json:"State"`
	Config struct {
		Image string   `json:"Image"`
		Env   []string `json:"Env"`
	} `json:"Config"`
}

// imageInspect is the part of docker image inspect that is read.
type imageInspect struct {
	ID           string   `json:"Id"`
	RepoTags     []string `json:"RepoTags"`
	Created      string   `json:"Created"`
	Architecture string   `json:"Architecture"`
	Os           string   `json:"Os"`
	Config       struct {
		User       string            `json:"User"`
		Env        []string          `json:"Env"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		WorkingDir string            `json:"WorkingDir"`
		Labels     map[string]string `json:"Labels"`
	} `json:"Config"`
	RootFS struct {
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
}

// historyItem is one item of docker history, newest first.
type historyItem struct {
	Created   int64  `json:"Created"`
	CreatedBy string `json:"CreatedBy"`
	Size      int64  `json:"Size"`
	Comment   string `json:"Comment"`
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1971 {
		return nil
	}
	return timePtr(t)
}

// bundleReport builds the report from what the bundle pass collected.
func (a *analysis) bundleReport(st *bundleState) {
	imageEnv := map[string]bool{}
	haveLayers := false
	if st.image != nil {
		b := a.fromTarball(st.image, pathImageTar+":")
		for _, sd := range b.stages {
			if sd.layer != nil && sd.Kind == StageLayer {
				haveLayers = true
			}
		}
		if img := a.rep.Image; img != nil {
			if len(img.Tags) == 0 {
				// docker save by ID writes no tags; the engine knew them.
				var ii imageInspect
				if json.Unmarshal(st.files[pathImageInspect], &ii) == nil {
					img.Tags = ii.RepoTags
				}
			}
			if raw, ok := st.image.files[configPath(st.image)]; ok {
				var c struct {
					Config struct{ Env []string } `json:"config"`
				}
				if json.Unmarshal(raw, &c) == nil {
					for _, e := range c.Config.Env {
						imageEnv[e] = true
					}
				}
			}
		}
	} else if raw, ok := st.files[pathImageInspect]; ok {
		a.imageFromInspect(raw, st.files[pathImageHistory], imageEnv)
	}

	var ci containerInspect
	haveInspect := false
	if raw, ok := st.files[pathContainerInspect]; ok {
		if err := json.Unmarshal(raw, &ci); err != nil {
			a.problem("%s is not valid JSON: %v", pathContainerInspect, err)
		} else {
			haveInspect = true
		}
	}
	if haveInspect || len(st.fs) > 0 {
		if a.rep.Container == nil {
			a.rep.Container = &Container{}
		}
	}
	c := a.rep.Container
	if haveInspect {
		c.ID, c.Name, c.Image = ci.ID, strings.TrimPrefix(ci.Name, "/"), ci.Config.Image
		c.Created, c.Started = parseTime(ci.Created), parseTime(ci.State.StartedAt)
		var env []string
		for _, e := range ci.Config.Env {
			if !imageEnv[e] {
				env = append(env, e)
			}
		}
		a.env(env, "container environment")
		if ci.Path != "" {
			c.Command = a.command(append([]string{ci.Path}, ci.Args...), "container command")
		}
	}

	diff, haveDiff := a.containerDiff(st.files[pathContainerDiff], st.files[pathContainerDiff] != nil)
	var containerBuilt *built
	for _, rel := range st.fsOrd {
		l := st.fs[rel]
		kind := StageFilesystem
		if rel == pathFilesystem {
			kind = StageContainer
		}
		b := a.fsBuilt(l, rel, kind)
		sd := b.stages[0]
		if kind == StageContainer {
			containerBuilt = b
			if c != nil {
				sd.Created, sd.Started = c.Created, c.Started
			}
			if haveDiff {
				a.diffStage(b, sd, l, diff)
				changed := map[string]bool{}
				for _, d := range diff {
					if d.Kind != "deleted" {
						changed[d.Path] = true
					}
				}
				if haveLayers {
					// Files the container did not change are the image's,
					// already examined layer by layer.
					b.keep = func(f Finding) bool { return f.Path == "" || changed[f.Path] }
				}
			} else {
				a.note("The bundle has no %s: files the container changed cannot be told from the image's.", pathContainerDiff)
			}
		}
		if l.err != "" {
			a.problem("%s could not be read in full: %s", rel, l.err)
		}
		a.conclude(b)
		if len(a.rep.Packages) == 0 {
			a.packages(b)
		} else if kind == StageContainer {
			// The container's own databases are the current state.
			a.rep.Packages = a.rep.Packages[:0]
			a.packages(b)
		}
	}
	if containerBuilt == nil && haveDiff && c != nil {
		// No filesystem: the diff alone, without file details.
		sd := &stageData{Stage: Stage{Index: len(a.rep.Timeline), Kind: StageContainer, Created: c.Created, Started: c.Started, Source: pathContainerDiff}}
		b := &built{stages: []*stageData{sd}, seen: map[string]bool{}}
		a.diffStage(b, sd, newLayerData(pathContainerDiff), diff)
		a.rep.Findings = append(a.rep.Findings, b.findings...)
		a.rep.Timeline = append(a.rep.Timeline, sd.Stage)
	}
	if c != nil {
		for _, d := range diff {
			switch d.Kind {
			case "added":
				c.Added++
			case "changed":
				c.Changed++
			case "deleted":
				c.Deleted++
			}
		}
	}
}

func configPath(t *tarball) string {
	images, _, err := imageResolve(t)
	if err != nil || len(images) == 0 {
		return ""
	}
	return images[0].ConfigPath
}

// imageFromInspect describes the image from docker inspect and docker
// history when the bundle holds no image tarball.
func (a *analysis) imageFromInspect(raw, hist []byte, imageEnv map[string]bool) {
	var ii imageInspect
	if err := json.Unmarshal(raw, &ii); err != nil {
		a.problem("%s is not valid JSON: %v", pathImageInspect, err)
		return
	}
	info := &Image{ID: ii.ID, Tags: ii.RepoTags, Created: parseTime(ii.Created), Architecture: ii.Architecture, OS: ii.Os,
		User: ii.Config.User, WorkingDir: ii.Config.WorkingDir, Labels: ii.Config.Labels, Layers: len(ii.RootFS.Layers)}
	for _, e := range ii.Config.Env {
		imageEnv[e] = true
	}
	info.Env = a.env(ii.Config.Env, "image configuration environment")
	info.Entrypoint = a.command(ii.Config.Entrypoint, "image entrypoint")
	info.Cmd = a.command(ii.Config.Cmd, "image command")
	a.rep.Image = info
	a.note("The bundle holds no %s (collect with --image): the image's steps come from docker history, without the files of each layer.", pathImageTar)
	if hist == nil {
		return
	}
	var items []historyItem
	if err := json.Unmarshal(hist, &items); err != nil {
		a.problem("%s is not valid JSON: %v", pathImageHistory, err)
		return
	}
	li := 0
	for i := len(items) - 1; i >= 0; i-- {
		h := items[i]
		s := Stage{Index: len(a.rep.Timeline), Kind: StageStep, Comment: h.Comment, Bytes: h.Size}
		if h.Created > 0 {
			s.Created = timePtr(time.Unix(h.Created, 0))
		}
		if h.Size > 0 || !metadataStep(h.CreatedBy) {
			s.Kind = StageLayer
			if li < len(ii.RootFS.Layers) {
				s.DiffID = ii.RootFS.Layers[li]
			}
			li++
		}
		ms := secrets.Command(h.CreatedBy)
		idx := s.Index
		a.commandFindings(ms, fmt.Sprintf("build step %d (history)", idx), &idx)
		s.CreatedBy = a.redact(h.CreatedBy, ms)
		a.rep.Timeline = append(a.rep.Timeline, s)
	}
}

// metadataStep reports build steps that only change the configuration and
// make no layer: docker history does not say which steps made layers, and
// a layer can be empty, so this is told from the instruction.
func metadataStep(createdBy string) bool {
	s := strings.TrimSpace(createdBy)
	if i := strings.Index(s, "#(nop)"); i >= 0 {
		s = strings.TrimSpace(s[i+len("#(nop)"):])
	}
	word, _, _ := strings.Cut(s, " ")
	switch strings.ToUpper(word) {
	case "ENV", "CMD", "ENTRYPOINT", "LABEL", "EXPOSE", "WORKDIR", "USER", "ARG", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER":
		return true
	}
	return s == ""
}

// diffEntry is one line of container/diff.json.
type diffEntry struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
}

func (a *analysis) containerDiff(raw []byte, present bool) ([]diffEntry, bool) {
	if !present {
		return nil, false
	}
	var d []diffEntry
	if err := json.Unmarshal(raw, &d); err != nil {
		a.problem("%s is not valid JSON: %v", pathContainerDiff, err)
		return nil, false
	}
	return d, true
}

// sensitive are places where a change made at run time means persistence
// or privilege: accounts, sudo, cron, profiles, the loader, SSH keys.
var sensitive = []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/cron", "/var/spool/cron", "/etc/ld.so.preload",
	"/etc/profile", "/etc/bash.bashrc", "/etc/rc.local", "/etc/init.d/", "/etc/systemd/", "/root/.ssh/", "/root/.bashrc", "/root/.profile",
	"/etc/ssh/", "/etc/pam.d/", "/etc/hosts", "/etc/resolv.conf", "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/lib/", "/usr/lib/"}

// engineManaged are files the engine itself writes into every container.
var engineManaged = map[string]bool{"/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true, "/.dockerenv": true}

// diffStage lists the container's changes in its stage, with the details
// of each file from its exported filesystem, and reports files added or
// changed after the image was built.
func (a *analysis) diffStage(b *built, sd *stageData, l *layerData, diff []diffEntry) {
	for _, d := range diff {
		p := d.Path
		r, ok := l.get(p)
		f := File{Path: p, Type: "unknown"}
		if ok {
			f = fileOf(r)
		}
		switch d.Kind {
		case "added":
			sd.Added = append(sd.Added, f)
		case "changed":
			if ok && r.typ == tarscan.Dir {
				continue
			}
			sd.Changed = append(sd.Changed, f)
		case "deleted":
			sd.Deleted = append(sd.Deleted, Deleted{Path: p, Via: "container", Existed: true})
			continue
		default:
			continue
		}
		if !ok || r.typ != tarscan.Regular || engineManaged[p] {
			continue
		}
		sev := Low
		reason := fmt.Sprintf("file %s after the image was built (docker diff)", d.Kind)
		switch {
		case r.executable():
			sev = High
			reason = fmt.Sprintf("executable %s in the running container, after the image was built: software is not installed at run time by design", d.Kind)
		case hasAnyPrefix(p, sensitive):
			sev = High
			reason = fmt.Sprintf("%s %s at run time: accounts, privileges, scheduled tasks, the loader and SSH keys are where persistence is set up", p, d.Kind)
		case hasAnyPrefix(p, tmpDirs) || hiddenDir(p) != "":
			sev = Medium
			reason = fmt.Sprintf("file %s at run time in a temporary or hidden folder", d.Kind)
		}
		rule := ruleAddedAfterBuild
		if d.Kind == "changed" {
			rule = ruleChangedAfterBuild
		}
		b.add(sd, Finding{Rule: rule, Severity: sev, Path: p, Reason: reason}.ruled(), r)
	}
}

func hasAnyPrefix(p string, prefixes []string) bool {
	for _, x := range prefixes {
		if strings.HasPrefix(p, x) || p == strings.TrimSuffix(x, "/") {
			return true
		}
	}
	return false
}
