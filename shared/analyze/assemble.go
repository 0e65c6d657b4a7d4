package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/content"
	"github.com/forensic-tools/forensic/shared/analyze/fsview"
	"github.com/forensic-tools/forensic/shared/analyze/imagecfg"
	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
	"github.com/forensic-tools/forensic/shared/analyze/secrets"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
)

// stageData is a timeline stage being built, with the layer it shows.
type stageData struct {
	Stage
	layer *layerData
	// layerNo counts layers from 1, for "layer 3" in findings.
	layerNo int
	// first is true for the first stage showing its layer: the layer's
	// own findings belong to it.
	first bool
}

// built is an image or filesystem read into stages and a merged view.
type built struct {
	stages []*stageData
	view   *fsview.View
	// seen dedupes metadata findings repeated by later layers.
	seen     map[string]bool
	findings []Finding
	// keep, when set, filters the findings of conclude.
	keep func(Finding) bool
}

func (b *built) record(ref fsview.Ref) *record {
	return &b.stages[ref.Layer].layer.records[ref.Index]
}

// fromTarball reports a tarball read by scanTarball, as an image or as a
// filesystem. src prefixes stage sources when the tarball is nested in a
// bundle.
func (a *analysis) fromTarball(t *tarball, src string) *built {
	if t.err != nil {
		a.problem("%s is truncated or corrupt, or a limit stopped reading it: %v; the report covers what was read", t.name, t.err)
	}
	if !t.isImage() {
		if src == "" {
			a.rep.Input.Kind = KindFilesystem
		}
		return a.filesystem(t.fs, src+t.name, StageFilesystem)
	}
	if src == "" {
		a.rep.Input.Kind = KindImage
	}
	a.note("The times of the tarball's own entries (layer folders, manifest.json, blobs) are when the tarball was written, not evidence of the image's history: the times shown come from the image configuration and from each layer's own tar headers.")
	return a.image(t, src)
}

// image builds the timeline, findings and packages of an image tarball.
func (a *analysis) image(t *tarball, src string) *built {
	images, problems, err := imagecfg.Resolve(t.lookup)
	for _, p := range problems {
		a.problem("%s: %s", t.name, p)
	}
	var img imagecfg.Image
	var cfg *imagecfg.Config
	if err != nil {
		a.problem("%s: %v; layers are shown in the order they lie in the tarball", t.name, err)
		for _, p := range t.order {
			img.Layers = append(img.Layers, imagecfg.Layer{Path: p})
		}
	} else {
		img = images[0]
		if a.rep.Input.Layout == "" {
			a.rep.Input.Layout = img.Layout
			if _, ok := t.files["oci-layout"]; ok {
				// Docker 25 and later write the OCI layout with a legacy
				// manifest.json beside index.json.
				a.rep.Input.Layout = imagecfg.LayoutOCI
			}
		}
		for _, o := range images[1:] {
			name := strings.Join(o.Tags, ", ")
			if name == "" {
				name = o.ConfigDigest
			}
			a.note("The tarball holds another image, %s, which is not analysed (its layers were read; findings in layers it does not share are listed without a stage).", name)
		}
		cfg = a.config(t, img)
	}
	info := &Image{ID: img.ConfigDigest, Tags: img.Tags, ManifestDigest: img.ManifestDigest, Layers: len(img.Layers)}
	for _, o := range images[min(1, len(images)):] {
		info.Others = append(info.Others, strings.Join(o.Tags, ","))
	}
	a.rep.Image = info

	b := &built{view: fsview.New(), seen: map[string]bool{}}
	var history []imagecfg.History
	var diffIDs []string
	if cfg != nil {
		history, diffIDs = cfg.History, cfg.RootFS.DiffIDs
		a.imageConfig(info, cfg)
	}
	// Steps of the history that made no layer are stages of their own; the
	// others take the layers in order.
	li := 0
	addLayer := func(h *imagecfg.History) {
		sd := &stageData{Stage: Stage{Kind: StageLayer}}
		if h != nil {
			sd.Created, sd.CreatedBy, sd.Comment = timePtr(h.Created.Time), h.CreatedBy, h.Comment
		}
		if li < len(img.Layers) {
			a.layerStage(t, sd, img.Layers[li], li, diffIDs, src)
		} else {
			sd.Missing = true
			sd.Error = "the history names more layers than the manifest"
		}
		li++
		sd.layerNo = li
		b.stages = append(b.stages, sd)
	}
	for i := range history {
		h := &history[i]
		if h.EmptyLayer {
			b.stages = append(b.stages, &stageData{Stage: Stage{Kind: StageStep, Created: timePtr(h.Created.Time), CreatedBy: h.CreatedBy, Comment: h.Comment}})
			continue
		}
		addLayer(h)
	}
	if len(history) > 0 && li != len(img.Layers) {
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleHistoryMismatch, Where: t.name,
			Reason: fmt.Sprintf("the image history has %d layer steps but the manifest %d layers: the image was assembled or altered by hand; layers without a step are shown without a command", li, len(img.Layers))}.ruled())
	}
	for li < len(img.Layers) {
		addLayer(nil)
	}
	if len(diffIDs) > 0 && len(diffIDs) != len(img.Layers) {
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleDiffIDsMismatch, Where: t.name,
			Reason: fmt.Sprintf("the configuration lists %d diff IDs for %d layers: layers were added or removed after the image was built", len(diffIDs), len(img.Layers))}.ruled())
	}
	base := len(a.rep.Timeline)
	for i, sd := range b.stages {
		sd.Index = base + i
		if sd.CreatedBy != "" {
			ms := secrets.Command(sd.CreatedBy)
			idx := sd.Index
			a.commandFindings(ms, fmt.Sprintf("build step %d (history)", sd.Index), &idx)
			sd.CreatedBy = a.redact(sd.CreatedBy, ms)
		}
	}
	a.apply(b)
	used := map[*layerData]bool{}
	for _, sd := range b.stages {
		if sd.layer != nil {
			used[sd.layer] = true
		}
	}
	for _, p := range t.order {
		if l := t.layers[p]; !used[l] {
			a.note("%s holds a layer, %s, that the analysed image does not use; its findings are listed without a stage.", t.name, p)
			for _, f := range l.findings {
				f.Where = "unused layer " + p
				b.findings = append(b.findings, f)
			}
		}
	}
	a.conclude(b)
	a.packages(b)
	return b
}

// config reads and checks the image configuration.
func (a *analysis) config(t *tarball, img imagecfg.Image) *imagecfg.Config {
	raw, ok := t.files[img.ConfigPath]
	if !ok {
		a.problem("%s: the image configuration %s is not in the tarball: no history, environment or diff IDs", t.name, img.ConfigPath)
		return nil
	}
	if img.ConfigDigest != "" {
		if got := sha256Digest(raw); strings.HasPrefix(img.ConfigDigest, "sha256:") && got != img.ConfigDigest {
			a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleConfigDigest, Path: img.ConfigPath,
				Where: t.name, Reason: fmt.Sprintf("the image configuration's content hashes to %s, not to its name %s: it was altered after the image was made", got, img.ConfigDigest)}.ruled())
		}
	}
	cfg, err := imagecfg.ParseConfig(raw)
	if err != nil {
		a.problem("%s: %s: %v", t.name, img.ConfigPath, err)
		return nil
	}
	return cfg
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// imageConfig fills in the image description from its configuration and
// looks for secrets in its environment and history.
func (a *analysis) imageConfig(info *Image, cfg *imagecfg.Config) {
	info.Created = timePtr(cfg.Created.Time)
	info.Architecture, info.OS = cfg.Architecture, cfg.OS
	c := cfg.Config
	info.User, info.WorkingDir, info.Labels = c.User, c.WorkingDir, c.Labels
	for p := range c.ExposedPorts {
		info.ExposedPorts = append(info.ExposedPorts, p)
	}
	sort.Strings(info.ExposedPorts)
	info.Env = a.env(c.Env, "image configuration environment")
	info.Entrypoint = a.command(c.Entrypoint, "image entrypoint")
	info.Cmd = a.command(c.Cmd, "image command")
}

// env looks for secrets in environment entries and returns them with
// secret values masked.
func (a *analysis) env(env []string, where string) []string {
	var out []string
	for _, kv := range env {
		ms := secrets.Env(kv)
		for _, m := range ms {
			name, _, _ := strings.Cut(kv, "=")
			f := Finding{Rule: m.Rule, Severity: Severity(m.Severity), Where: where,
				Reason: fmt.Sprintf("%s in environment variable %s", m.Description, name), Secret: a.secret(m)}.ruled()
			a.rep.Findings = append(a.rep.Findings, f)
		}
		out = append(out, a.redact(kv, ms))
	}
	return out
}

// command looks for secrets in a command line and returns it masked.
func (a *analysis) command(argv []string, where string) []string {
	if len(argv) == 0 {
		return nil
	}
	ms := secrets.Command(strings.Join(argv, " "))
	a.commandFindings(ms, where, nil)
	out := make([]string, len(argv))
	for i, s := range argv {
		out[i] = a.redact(s, ms)
	}
	return out
}

func (a *analysis) commandFindings(ms []secrets.Match, where string, stage *int) {
	for _, m := range ms {
		reason := m.Description
		if m.Key != "" {
			reason += " assigned to " + m.Key
		}
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: m.Rule, Severity: Severity(m.Severity),
			Stage: stage, Where: where, Reason: reason + " in a command", Secret: a.secret(m)}.ruled())
	}
}

// layerStage attaches the tarball's layer to a stage and checks its digests.
func (a *analysis) layerStage(t *tarball, sd *stageData, ref imagecfg.Layer, i int, diffIDs []string, src string) {
	sd.Source = src + ref.Path
	sd.Digest = ref.Digest
	if i < len(diffIDs) {
		sd.DiffID = diffIDs[i]
	}
	l := t.layer(ref.Path)
	if l == nil {
		sd.Missing = true
		sd.Error = "not in the tarball"
		a.problem("%s: the image names layer %s, which is not in the tarball", t.name, ref.Path)
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleMissingLayer, Path: ref.Path, Where: t.name,
			Reason: "the manifest names a layer the tarball does not hold: the image is incomplete, and the files of that layer cannot be examined"}.ruled())
		return
	}
	sd.layer = l
	sd.Entries, sd.Bytes, sd.Compression = l.stats.Entries, l.stats.Bytes, l.compression
	if l.err != "" {
		sd.Error = l.err
		a.problem("%s: layer %s could not be read in full: %s", t.name, ref.Path, l.err)
	}
	sd.FilesFrom, sd.FilesTo = unixPtr(l.mtimeMin), unixPtr(l.mtimeMax)
	sd.DigestCheck = "unchecked"
	var bad []string
	if ref.Digest != "" && strings.HasPrefix(ref.Digest, "sha256:") && l.hashed {
		if l.rawDigest != ref.Digest {
			bad = append(bad, fmt.Sprintf("its content hashes to %s, not to the digest %s the manifest names", l.rawDigest, ref.Digest))
		}
		sd.DigestCheck = "verified"
	}
	if sd.DiffID != "" && strings.HasPrefix(sd.DiffID, "sha256:") && l.hashed && (l.err == "" || l.compression == "") {
		if l.diffDigest != sd.DiffID {
			bad = append(bad, fmt.Sprintf("its uncompressed content hashes to %s, not to the diff ID %s of the configuration", l.diffDigest, sd.DiffID))
		}
		sd.DigestCheck = "verified"
	}
	if len(bad) > 0 {
		sd.DigestCheck = "mismatch"
		a.rep.Findings = append(a.rep.Findings, Finding{Rule: ruleLayerDigest, Path: ref.Path, Where: t.name,
			Reason: "layer " + strings.Join(bad, ", and ") + ": it was altered or damaged after the image was made"}.ruled())
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func unixPtr(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	return timePtr(time.Unix(0, ns))
}

// filesystem builds the single stage of a filesystem tarball.
func (a *analysis) filesystem(l *layerData, src, kind string) *built {
	b := a.fsBuilt(l, src, kind)
	a.conclude(b)
	a.packages(b)
	return b
}

// fsBuilt reads a filesystem into one stage and runs the metadata checks,
// leaving the conclusion to the caller.
func (a *analysis) fsBuilt(l *layerData, src, kind string) *built {
	sd := &stageData{Stage: Stage{Index: len(a.rep.Timeline), Kind: kind, Source: src, Entries: l.stats.Entries, Bytes: l.stats.Bytes,
		Compression: l.compression, FilesFrom: unixPtr(l.mtimeMin), FilesTo: unixPtr(l.mtimeMax), Error: l.err}, layer: l, layerNo: 1}
	b := &built{stages: []*stageData{sd}, view: fsview.New(), seen: map[string]bool{}}
	a.apply(b)
	sd.Added, sd.Changed = nil, nil // every file is "added": list the newest instead
	sd.Newest = newest(l, maxListed)
	return b
}

// newest lists the n most recently modified regular files of l.
func newest(l *layerData, n int) []File {
	idx := make([]int, 0, len(l.records))
	for i := range l.records {
		if l.records[i].typ == tarscan.Regular {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool { return l.records[idx[i]].mtime > l.records[idx[j]].mtime })
	var out []File
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, fileOf(&l.records[i]))
	}
	return out
}

// apply applies the stages' layers in order to the merged view, listing
// what each adds, changes and deletes, and runs the metadata checks on
// every file a layer adds or changes.
func (a *analysis) apply(b *built) {
	firsts := map[*layerData]bool{}
	for si, sd := range b.stages {
		l := sd.layer
		if l == nil {
			continue
		}
		if !firsts[l] {
			firsts[l], sd.first = true, true
		}
		for i := range l.records {
			r := &l.records[i]
			switch r.typ {
			case tarscan.Whiteout:
				removed, existed := b.view.Delete(r.path)
				d := Deleted{Path: r.path, Via: "whiteout", Existed: existed, MTime: unixPtr(r.mtime)}
				if existed {
					d.Hidden = removed - 1
				}
				sd.Deleted = append(sd.Deleted, d)
			case tarscan.Opaque:
				if n := b.view.Clear(r.path); n > 0 {
					sd.Deleted = append(sd.Deleted, Deleted{Path: r.path, Via: "opaque", Hidden: n, Existed: true, MTime: unixPtr(r.mtime)})
				}
			}
		}
		for i := range l.records {
			r := &l.records[i]
			if r.typ == tarscan.Whiteout || r.typ == tarscan.Opaque || r.typ == tarscan.Other && strings.Contains(r.path, "/.wh.") {
				continue
			}
			prev, existed := b.view.Put(r.path, fsview.Ref{Layer: int32(si), Index: int32(i)}, r.typ == tarscan.Dir)
			if existed {
				p := b.record(prev)
				if r.typ == tarscan.Dir && p.typ == tarscan.Dir && p.mode == r.mode && p.uid == r.uid && p.gid == r.gid {
					continue // a parent folder repeated because something below it changed
				}
				sd.Changed = append(sd.Changed, fileOf(r))
			} else if r.path != "/" {
				sd.Added = append(sd.Added, fileOf(r))
			}
			a.metaRules(b, sd, r)
		}
	}
}

func fileOf(r *record) File {
	return File{Path: r.path, Type: r.typ.String(), Mode: modeString(r), Size: r.size, MTime: time.Unix(0, r.mtime).UTC(),
		UID: int(r.uid), GID: int(r.gid), Link: r.link}
}

// modeString renders the mode as ls does, e.g. "-rwsr-xr-x".
func modeString(r *record) string {
	m := fs.FileMode(r.mode & 0o777)
	switch r.typ {
	case tarscan.Dir:
		m |= fs.ModeDir
	case tarscan.Symlink:
		m |= fs.ModeSymlink
	case tarscan.CharDevice:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case tarscan.BlockDevice:
		m |= fs.ModeDevice
	case tarscan.FIFO:
		m |= fs.ModeNamedPipe
	}
	if r.mode&tarscan.ModeSetuid != 0 {
		m |= fs.ModeSetuid
	}
	if r.mode&tarscan.ModeSetgid != 0 {
		m |= fs.ModeSetgid
	}
	if r.mode&tarscan.ModeSticky != 0 {
		m |= fs.ModeSticky
	}
	s := m.String()
	// fs.FileMode shows special bits as leading letters; ls folds them
	// into the execute columns, which responders read more easily.
	perm := []byte(s[len(s)-9:])
	if r.mode&tarscan.ModeSetuid != 0 {
		perm[2] = map[bool]byte{true: 's', false: 'S'}[r.mode&0o100 != 0]
	}
	if r.mode&tarscan.ModeSetgid != 0 {
		perm[5] = map[bool]byte{true: 's', false: 'S'}[r.mode&0o010 != 0]
	}
	if r.mode&tarscan.ModeSticky != 0 {
		perm[8] = map[bool]byte{true: 't', false: 'T'}[r.mode&0o001 != 0]
	}
	t := "-"
	switch r.typ {
	case tarscan.Dir:
		t = "d"
	case tarscan.Symlink:
		t = "l"
	case tarscan.Hardlink:
		t = "h"
	case tarscan.CharDevice:
		t = "c"
	case tarscan.BlockDevice:
		t = "b"
	case tarscan.FIFO:
		t = "p"
	}
	return t + string(perm)
}

// where names a stage for people.
func (sd *stageData) where() string {
	switch sd.Kind {
	case StageLayer:
		if id := nonEmpty(sd.DiffID, sd.Digest); id != "" {
			return fmt.Sprintf("layer %d (%s)", sd.layerNo, shortDigest(id))
		}
		return fmt.Sprintf("layer %d (%s)", sd.layerNo, sd.Source)
	case StageContainer:
		return "container filesystem"
	}
	return sd.Source
}

// add records a finding of a stage, once per rule, path and mode.
func (b *built) add(sd *stageData, f Finding, r *record) {
	key := f.Rule + "\x00" + f.Path
	if r != nil {
		key += fmt.Sprintf("\x00%o", r.mode)
	}
	if b.seen[key] {
		return
	}
	b.seen[key] = true
	idx := sd.Index
	f.Stage = &idx
	f.Where = sd.where()
	b.findings = append(b.findings, f)
}

// expectedSetuid are setuid and setgid programs that distributions ship.
var expectedSetuid = map[string]bool{
	"su": true, "sudo": true, "passwd": true, "chsh": true, "chfn": true, "newgrp": true, "gpasswd": true, "mount": true,
	"umount": true, "ping": true, "ping6": true, "pkexec": true, "expiry": true, "chage": true, "wall": true, "write": true,
	"ssh-agent": true, "crontab": true, "unix_chkpwd": true, "dotlockfile": true, "ssh-keysign": true, "fusermount": true,
	"fusermount3": true, "newuidmap": true, "newgidmap": true, "traceroute6.iputils": true, "bsd-write": true, "at": true,
	"mount.nfs": true, "dbus-daemon-launch-helper": true, "polkit-agent-helper-1": true, "Xorg.wrap": true, "staprun": true,
	"sg": true, "doas": true, "bbsuid": true, "utempter": true, "mail-lock": true, "mail-unlock": true, "mail-touchlock": true,
}

// tmpDirs are world-writable folders where nothing should be executed from.
var tmpDirs = []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/", "/run/lock/", "/var/lock/"}

// benignHidden are hidden folders that hold programs by design.
var benignHidden = []string{"/.local/bin/", "/.cargo/bin/", "/.rustup/", "/.nvm/", "/.npm/", "/.cache/", "/.pyenv/", "/.rbenv/",
	"/.gem/", "/.bin/", "/.git/hooks/", "/.venv/", "/.sdkman/", "/.dotnet/", "/.bun/", "/.deno/", "/.volta/", "/.yarn/", "/.m2/", "/.gradle/", "/.config/"}

// hiddenDir returns the first hidden folder of p, or "".
func hiddenDir(p string) string {
	dir := path.Dir(p)
	for _, b := range benignHidden {
		if strings.Contains(dir+"/", b) {
			return ""
		}
	}
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	for i, c := range parts {
		if strings.HasPrefix(c, ".") && c != "." && c != ".." {
			return "/" + strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

// metaRules are the checks on a file's metadata and format.
func (a *analysis) metaRules(b *built, sd *stageData, r *record) {
	reg := r.typ == tarscan.Regular
	if reg && r.mode&(tarscan.ModeSetuid|tarscan.ModeSetgid) != 0 {
		rule, which := ruleSetuid, "setuid"
		if r.mode&tarscan.ModeSetuid == 0 {
			rule, which = ruleSetgid, "setgid"
		}
		owner := fmt.Sprintf("uid %d", r.uid)
		if r.uid == 0 {
			owner = "root"
		}
		sev, reason := High, fmt.Sprintf("%s program owned by %s (%s): it runs with its owner's rights whoever starts it, a way to regain root", which, owner, modeString(r))
		if which == "setgid" {
			sev = Medium
		}
		if expectedSetuid[path.Base(r.path)] && inSystemDir(r.path) {
			sev, reason = Low, reason+"; the name is one distributions ship as "+which
		}
		b.add(sd, Finding{Rule: rule, Severity: sev, Path: r.path, Reason: reason}.ruled(), r)
	}
	if (reg || r.typ == tarscan.Dir) && r.mode&0o002 != 0 && !(r.typ == tarscan.Dir && r.mode&tarscan.ModeSticky != 0) {
		what := "file"
		reason := "anyone in the container can rewrite it"
		if r.typ == tarscan.Dir {
			what, reason = "folder without the sticky bit", "anyone can replace or delete the files in it"
		}
		b.add(sd, Finding{Rule: ruleWorldWritable, Path: r.path,
			Reason: fmt.Sprintf("world-writable %s (%s): %s", what, modeString(r), reason)}.ruled(), r)
	}
	if r.executable() {
		kind := "executable"
		if r.magic != content.Unknown {
			kind = r.magic.String() + " executable"
			if r.magic == content.Script {
				kind = "script"
			}
		}
		for _, d := range tmpDirs {
			if strings.HasPrefix(r.path, d) {
				sev := Medium
				if r.magic == content.ELF || r.magic == content.PE {
					sev = High
				}
				b.add(sd, Finding{Rule: ruleExecInTmp, Severity: sev, Path: r.path,
					Reason: fmt.Sprintf("%s in %s, a world-writable temporary folder: where droppers put their payload", kind, strings.TrimSuffix(d, "/"))}.ruled(), r)
				break
			}
		}
		if h := hiddenDir(r.path); h != "" {
			sev := Medium
			if r.magic == content.ELF || r.magic == content.PE {
				sev = High
			}
			b.add(sd, Finding{Rule: ruleExecInHiddenDir, Severity: sev, Path: r.path,
				Reason: fmt.Sprintf("%s in the hidden folder %s: programs are rarely kept where ls does not show them", kind, h)}.ruled(), r)
		}
	}
}

// systemDirs are where programs are expected.
var systemDirs = []string{"/bin/", "/sbin/", "/usr/", "/lib/", "/lib64/", "/lib32/", "/libx32/", "/opt/", "/nix/store/", "/snap/"}

// systemNames are names that malware borrows to hide among processes.
var systemNames = []string{"sshd", "sh", "bash", "dash", "ash", "zsh", "ps", "top", "ls", "netstat", "ss", "login", "su", "sudo",
	"cron", "crond", "init", "systemd", "systemd-journald", "kworker", "kthreadd", "ksoftirqd", "kswapd0", "migration", "rcu_sched",
	"dbus-daemon", "rsyslogd", "syslogd", "agetty", "getty", "udevd", "systemd-udevd", "containerd", "containerd-shim", "dockerd",
	"kubelet", "kube-proxy", "runc", "httpd", "nginx", "apache2", "sshd-session", "watchdog", "cat", "cp", "mv", "rm", "chmod",
	"id", "whoami", "mount", "passwd", "ping", "curl", "wget", "tar", "gzip", "crontab", "atd", "mysqld", "postgres", "redis-server"}

// runtimes are interpreters and toolchains that applications and virtual
// environments legitimately carry copies of outside system folders.
var runtimes = []string{"python", "pip", "node", "npm", "npx", "java", "ruby", "perl", "php", "go", "gofmt", "deno", "bun", "uv", "conda", "dotnet"}

func isRuntime(name string) bool {
	for _, r := range runtimes {
		if strings.HasPrefix(name, r) {
			return true
		}
	}
	return false
}

func inSystemDir(p string) bool {
	for _, d := range systemDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// conclude runs the checks that need the final view, attributes the
// layers' own findings to their stages, sets their status, and collects
// packages and the OS.
func (a *analysis) conclude(b *built) {
	// Names of programs in the image's own system folders, and of well
	// known daemons, for ELF files that borrow them elsewhere.
	names := map[string]bool{}
	for _, n := range systemNames {
		names[n] = true
	}
	for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin"} {
		b.view.WalkUnder(d, func(p string, ref fsview.Ref) {
			r := b.record(ref)
			if (r.typ == tarscan.Regular || r.typ == tarscan.Symlink || r.typ == tarscan.Hardlink) && path.Dir(p) == d && !isRuntime(path.Base(p)) {
				names[path.Base(p)] = true
			}
		})
	}
	for _, sd := range b.stages {
		l := sd.layer
		if l == nil {
			continue
		}
		if sd.first {
			for _, f := range l.findings {
				idx := sd.Index
				f.Stage, f.Where = &idx, sd.where()
				b.findings = append(b.findings, f)
			}
		}
		for _, list := range [][]File{sd.Added, sd.Changed} {
			for _, fl := range list {
				r, ok := l.get(fl.Path)
				if !ok || r.magic != content.ELF || inSystemDir(r.path) {
					continue
				}
				base := path.Base(r.path)
				var why string
				switch {
				case names[base]:
					why = fmt.Sprintf("ELF program named %q like a system program, but in %s", base, path.Dir(r.path))
				case strings.TrimSpace(base) != base:
					why = fmt.Sprintf("ELF program whose name %q has leading or trailing blanks, to look like another in process lists", base)
				case strings.HasPrefix(base, "[") || strings.HasPrefix(base, "k") && strings.Contains(base, "worker"):
					why = fmt.Sprintf("ELF program named %q like a kernel thread, to hide in process lists", base)
				case strings.HasPrefix(base, ".") && names[base[1:]]:
					why = fmt.Sprintf("hidden ELF program named %q after the system program %s", base, base[1:])
				default:
					continue
				}
				b.add(sd, Finding{Rule: ruleMimicsSystemBinary, Path: r.path,
					Reason: why + ": malware hides behind familiar names"}.ruled(), r)
			}
		}
	}
	if b.keep != nil {
		kept := b.findings[:0]
		for _, f := range b.findings {
			if b.keep(f) {
				kept = append(kept, f)
			}
		}
		b.findings = kept
	}
	// Status: is the file a finding is about still in the final image?
	for i := range b.findings {
		f := &b.findings[i]
		if f.Stage == nil || f.Path == "" || f.Category == CategoryArchive || f.Category == CategoryIntegrity {
			continue
		}
		sd := b.stages[*f.Stage-b.stages[0].Index]
		if sd.Kind != StageLayer {
			continue
		}
		ref, ok := b.view.Get(f.Path)
		switch {
		case !ok:
			f.Status = StatusDeleted
			f.Reason += "; deleted by a later layer, but still in this layer of the image"
		case b.stages[ref.Layer].layer != sd.layer:
			f.Status = StatusReplaced
			f.Reason += "; replaced by a later layer, but still in this layer of the image"
		default:
			f.Status = StatusPresent
		}
	}
	a.rep.Findings = append(a.rep.Findings, b.findings...)
	b.findings = nil
	for _, sd := range b.stages {
		a.rep.Timeline = append(a.rep.Timeline, sd.Stage)
	}
}

// packages lists the packages of the databases visible in the final view,
// and the distribution.
func (a *analysis) packages(b *built) {
	var pkgs []Package
	for _, sd := range b.stages {
		l := sd.layer
		if l == nil || !sd.first {
			continue
		}
		for p, list := range l.pkgs {
			ref, ok := b.view.Get(p)
			if !ok || b.stages[ref.Layer].layer != l {
				continue
			}
			top := b.stages[ref.Layer]
			layer := top.DiffID
			if layer == "" {
				layer = top.Source
			}
			for _, pk := range list {
				idx := top.Index
				pkgs = append(pkgs, Package{Package: pk, Stage: &idx, Layer: layer})
			}
		}
	}
	os := a.osRelease(b)
	for i := range pkgs {
		pkgs[i].PURL = pkgdb.PURL(pkgs[i].Package, os)
	}
	slices.SortStableFunc(pkgs, func(x, y Package) int { return pkgdb.Compare(x.Package, y.Package) })
	a.rep.Packages = append(a.rep.Packages, pkgs...)
	if os.ID != "" {
		a.rep.OS = &os
	}
}

// osRelease reads /etc/os-release of the final view, following its
// usual symbolic link to /usr/lib/os-release.
func (a *analysis) osRelease(b *built) pkgdb.OS {
	p := "/etc/os-release"
	for range 4 {
		ref, ok := b.view.Get(p)
		if !ok {
			break
		}
		r := b.record(ref)
		if r.typ == tarscan.Symlink {
			if path.IsAbs(r.link) {
				p = path.Clean(r.link)
			} else {
				p = path.Join(path.Dir(p), r.link)
			}
			continue
		}
		if o, ok := b.stages[ref.Layer].layer.osrel[p]; ok {
			return o
		}
		break
	}
	if ref, ok := b.view.Get("/usr/lib/os-release"); ok {
		if o, ok := b.stages[ref.Layer].layer.osrel["/usr/lib/os-release"]; ok {
			return o
		}
	}
	return pkgdb.OS{}
}
