//go:build linux

package nodesnap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// journal streams the journald files under the request's folders that
// cover since..now, byte for byte. A file whose header cannot be read is
// chosen by its modification time instead.
func (s *snap) journal(ctx context.Context) {
	rep := &s.rep.Journal
	since := s.cfg.Request.Since
	if len(rep.Dirs) == 0 {
		rep.None = "no journal folders in the request"
		return
	}
	var seen int
	for _, dir := range rep.Dirs {
		root := s.host(dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p != root || !errors.Is(err, fs.ErrNotExist) {
					rep.Errors = append(rep.Errors, err.Error())
				}
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := d.Name()
			if !d.Type().IsRegular() || !(strings.HasSuffix(name, ".journal") || strings.HasSuffix(name, ".journal~")) {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			hostPath := path.Join(dir, filepath.ToSlash(rel))
			seen++
			s.journalFile(ctx, hostPath)
			return nil
		})
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("walking %s: %v", dir, err))
		}
	}
	if len(rep.Files) == 0 {
		if seen == 0 {
			rep.None = "no journald files under " + strings.Join(rep.Dirs, ", ")
		} else {
			rep.None = fmt.Sprintf("%d journald files, none covering %s..now", seen, since.Format("2006-01-02T15:04:05Z07:00"))
		}
	}
}

func (s *snap) journalFile(ctx context.Context, hostPath string) {
	rep := &s.rep.Journal
	sinceT := s.cfg.Request.Since
	fr := JournalFileReport{HostPath: hostPath}
	f, err := os.Open(s.host(hostPath))
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("opening %s: %v", hostPath, err))
		return
	}
	h, herr := readJournalHeader(f)
	fi, serr := f.Stat()
	f.Close()
	take, why := false, ""
	switch {
	case herr == nil:
		take, why = h.covers(sinceT)
		fr.Head, fr.Tail, fr.Online = h.HeadRealtime, h.TailRealtime, h.State == journalStateOnline
	case serr == nil:
		take = !fi.ModTime().Before(sinceT)
		why = fmt.Sprintf("header unreadable (%v); modified %s", herr, fi.ModTime().UTC().Format("2006-01-02T15:04:05Z"))
	default:
		rep.Errors = append(rep.Errors, fmt.Sprintf("reading %s: %v", hostPath, serr))
		return
	}
	if !take {
		rep.Skipped = append(rep.Skipped, hostPath+": "+why)
		return
	}
	fr.Reason = why
	fr.Artifact = JournalArtifact(hostPath)
	n, err := s.copyFile(ctx, fr.Artifact, hostPath, stream.Meta{"content_type": "application/x-journal"})
	fr.Bytes, fr.Error = n, errText(err)
	rep.Files = append(rep.Files, fr)
}
