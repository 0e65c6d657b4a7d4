//go:build linux

package nodesnap

import (
	"archive/tar"
	"context"
	"fmt"
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// layer finds the container's writable layer in its init process's mount
// table and streams it as layer.tar and diff.json.
func (s *snap) layer(ctx context.Context, ct Container, cr *ContainerReport) {
	rep := &cr.Layer
	defer s.specFromBundle(ctx, ct, cr)
	if cr.PID == 0 {
		_, id, _ := SplitContainerID(ct.ContainerID)
		pid, err := s.findPID(id)
		if err != nil {
			rep.Reason = "the container's init process was not found (no pid in the CRI verbose info): " + err.Error()
			return
		}
		cr.PID, cr.PIDSource = pid, "cgroup in /proc"
	}
	rep.MountInfo = fmt.Sprintf("/proc/%d/mountinfo", cr.PID)
	ms, err := s.mountInfo(cr.PID)
	if err != nil {
		rep.Reason = "the container's mount table could not be read: " + err.Error()
		return
	}
	idx := -1
	for i, m := range ms {
		if m.MountPoint == "/" {
			idx = i // the last mount on / is the one visible
		}
	}
	if idx < 0 {
		rep.Reason = "no root mount in " + rep.MountInfo
		return
	}
	root := ms[idx]
	rep.FSType = root.FSType
	if root.FSType != "overlay" {
		rep.Reason = fmt.Sprintf("the root filesystem is %s, not overlay: no writable layer to read", root.FSType)
		return
	}
	o := overlayOptions(root.SuperOptions)
	rep.UpperDir, rep.WorkDir, rep.LowerDirs = o.upper, o.work, o.lowers
	if o.upper == "" {
		rep.Reason = "the root overlay has no upperdir (a read-only root): nothing was written"
		return
	}
	rep.Found = true
	rep.Artifact = ContainerArtifact(ct.Name, "layer.tar")
	a, err := s.open(rep.Artifact, stream.Meta{"content_type": "application/x-tar", "upperdir": o.upper, "format": "oci-layer"})
	if err != nil {
		rep.Error = err.Error()
		return
	}
	lw := &layerWriter{
		ctx: ctx, tw: tar.NewWriter(a), upper: s.host(o.upper),
		links: map[uint64]string{},
	}
	for _, l := range o.lowers {
		lw.lowers = append(lw.lowers, s.host(l))
	}
	err = lw.walk("")
	if cerr := lw.tw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ending the layer tar: %w", cerr)
	}
	rep.Entries, rep.Bytes, rep.EntryErrors = lw.entries, lw.bytes, lw.errs
	for _, c := range lw.changes {
		switch c.Kind {
		case KindAdded:
			rep.Added++
		case KindChanged:
			rep.Changed++
		case KindDeleted:
			rep.Deleted++
		}
	}
	if err != nil {
		rep.Error = err.Error()
	}
	s.finish(a, stream.Meta{"entries": lw.entries, "bytes": lw.bytes, "entry_errors": len(lw.errs)}, err)
	s.cfg.Logf("layer of %s: %s, %d entries (%d added, %d changed, %d deleted)", ct.Name, o.upper, lw.entries, rep.Added, rep.Changed, rep.Deleted)
	if s.dead() {
		return
	}
	rep.Diff = ContainerArtifact(ct.Name, "diff.json")
	changes := lw.changes
	if changes == nil {
		changes = []Change{}
	}
	if err := s.writeJSON(rep.Diff, changes); err != nil {
		rep.Error = strings.TrimPrefix(rep.Error+"; ", "; ") + err.Error()
	}
}
