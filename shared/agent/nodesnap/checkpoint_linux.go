//go:build linux

package nodesnap

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// checkpoint streams a checkpoint archive and deletes it from the node
// when asked, only once it was sent whole.
func (s *snap) checkpoint(ctx context.Context, cp Checkpoint) {
	r := CheckpointReport{Container: cp.Container, HostPath: cp.Path, DeleteRequested: cp.Delete, Artifact: CheckpointArtifact(cp.Container)}
	n, err := s.copyFile(ctx, r.Artifact, cp.Path, stream.Meta{"content_type": "application/x-tar", "container": cp.Container})
	r.Bytes = n
	switch {
	case err != nil:
		r.Error = err.Error()
		if cp.Delete {
			r.Error += "; kept on the node"
		}
	case cp.Delete && s.dead():
		r.Error = "the stream failed: kept on the node"
	case cp.Delete:
		if err := os.Remove(s.host(cp.Path)); err != nil {
			r.Error = fmt.Sprintf("deleting %s: %v", cp.Path, err)
		} else {
			r.Deleted = true
		}
	}
	s.cfg.Logf("checkpoint of %s: %d bytes from %s, deleted %v", cp.Container, n, cp.Path, r.Deleted)
	s.rep.Checkpoints = append(s.rep.Checkpoints, r)
}

// maxCRIUErrorLines bounds the "Error (" lines the report keeps.
const maxCRIUErrorLines = 50

// criuLog streams CRIU's log of a failed checkpoint, read-only, and lists
// its "Error (" lines in the report. A missing log is a report line, not
// a failed session: the checkpoint already failed.
func (s *snap) criuLog(ctx context.Context, l CRIULog) {
	r := CRIULogReport{Container: l.Container, HostPath: l.Path}
	defer func() { s.rep.CRIULogs = append(s.rep.CRIULogs, r) }()
	if _, err := os.Stat(s.host(l.Path)); err != nil {
		r.Error = fmt.Sprintf("reading %s: %v", l.Path, err)
		return
	}
	r.Artifact = CRIULogArtifact(l.Container)
	n, err := s.copyFile(ctx, r.Artifact, l.Path, stream.Meta{"content_type": "text/plain", "container": l.Container})
	r.Bytes, r.Error = n, errText(err)
	f, err := os.Open(s.host(l.Path))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(r.ErrorLines) < maxCRIUErrorLines {
		if strings.Contains(sc.Text(), "Error (") {
			r.ErrorLines = append(r.ErrorLines, sc.Text())
		}
	}
}
