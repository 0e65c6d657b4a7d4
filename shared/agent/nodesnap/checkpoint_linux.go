//go:build linux

package nodesnap

import (
	"context"
	"fmt"
	"os"

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
