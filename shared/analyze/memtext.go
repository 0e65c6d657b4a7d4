package analyze

import (
	"fmt"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/criu"
	"github.com/forensic-tools/forensic/shared/collect"
)

// writeMemory writes the checkpoint, core and search sections of the
// text report.
func writeMemory(b *strings.Builder, r *Report) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if c := r.Checkpoint; c != nil {
		p("\nCHECKPOINT (%s layout)\n", c.Layout)
		if ct := c.Container; ct != nil {
			p("  container:    %s  id %s\n", nonEmpty(ct.Name, "-"), nonEmpty(ct.ID, "-"))
			if ct.Pod != "" {
				p("  pod:          %s/%s\n", ct.Namespace, ct.Pod)
			}
			p("  image:        %s\n", nonEmpty(ct.Image, "-"))
			p("  runtime:      %s  engine %s\n", nonEmpty(ct.Runtime, "-"), nonEmpty(ct.Engine, "-"))
			p("  created:      %s  checkpointed %s\n", fmtTime(ct.Created), fmtTime(ct.Checkpointed))
			if len(ct.IPs) > 0 {
				p("  ip:           %s\n", strings.Join(ct.IPs, ", "))
			}
		}
		p("  sizes:        %s in all, %s of memory pages", collect.HumanBytes(c.Sizes.Total), collect.HumanBytes(c.Sizes.Pages))
		if c.Sizes.RootfsDiff > 0 {
			p(", %s rootfs diff", collect.HumanBytes(c.Sizes.RootfsDiff))
		}
		p("\n")
		if s := c.Stats; s != nil {
			p("  dump:         frozen %d µs (freezing %d µs), memory dumped in %d µs, written in %d µs; %d pages scanned, %d written\n",
				s.FrozenTime, s.FreezingTime, s.MemdumpTime, s.MemwriteTime, s.PagesScanned, s.PagesWritten)
		}
		p("\nPROCESSES (%d)\n", len(c.Processes))
		for _, root := range c.Roots() {
			writeProcess(b, c, root, 1, map[uint32]bool{})
		}
		if len(c.Mounts) > 0 {
			p("\nMOUNTS (%d)\n", len(c.Mounts))
			for _, m := range c.Mounts {
				p("  %-30s %-10s %s\n", m.Destination, m.Type, m.Source)
			}
		}
	}
	if c := r.Core; c != nil {
		p("\nCORE: pid %d (%s) ppid %d uid %d gid %d: %s\n", c.PID, c.Comm, c.PPID, c.UID, c.GID, c.Args)
		p("  threads (%d)\n", len(c.Threads))
		for _, t := range c.Threads {
			p("    tid %-7d ip %#x in %s  sp %#x\n", t.TID, t.IP, nonEmpty(t.Mapping, "no mapping"), t.SP)
		}
		p("  mappings (%d)\n", len(c.Mappings))
		for _, m := range c.Mappings {
			f := m.File
			if m.Deleted {
				f += " (deleted)"
			}
			p("    %#014x-%#014x %s %8s dumped  %s\n", m.Start, m.End, m.Perms, collect.HumanBytes(int64(m.Dumped)), f)
		}
	}
	if len(r.Cores) > 0 {
		p("\nCORES WRITTEN (%d)\n", len(r.Cores))
		for _, c := range r.Cores {
			p("  %s\n", c)
		}
	}
	if s := r.Search; s != nil {
		p("\nSEARCH %q: %d hits", s.Query, len(s.Hits))
		if s.Truncated {
			p(" (limit reached)")
		}
		p("\n")
		for _, h := range s.Hits {
			p("  pid %d (%s) %#x %s: %s%s%s\n", h.PID, h.Comm, h.Address, nonEmpty(h.Mapping, "-"), h.Before, h.Match, h.After)
		}
	}
}

func writeProcess(b *strings.Builder, c *criu.Checkpoint, pr *criu.Process, depth int, seen map[uint32]bool) {
	if seen[pr.PID] || depth > 64 {
		return
	}
	seen[pr.PID] = true
	ind := strings.Repeat("  ", depth)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("%spid %d (%s) ppid %d", ind, pr.PID, pr.Comm, pr.PPID)
	if cr := pr.Creds; cr != nil {
		p(" uid %d gid %d euid %d cap_eff %s", cr.UID, cr.GID, cr.EUID, cr.CapEff)
	}
	p(", %s of memory dumped\n", collect.HumanBytes(pr.PagesBytes))
	p("%s  exe: %s  cwd: %s\n", ind, nonEmpty(pr.Exe, "-"), nonEmpty(pr.Cwd, "-"))
	p("%s  cmdline: %s\n", ind, strings.Join(pr.Cmdline, " "))
	if len(pr.Env) > 0 {
		p("%s  env: %s\n", ind, strings.Join(pr.Env, " "))
	}
	for _, t := range pr.Threads {
		p("%s  thread %d ip %#x in %s\n", ind, t.TID, t.IP, nonEmpty(t.Mapping, "no mapping"))
	}
	for _, f := range pr.Files {
		p("%s  fd %-4d %-7s %s\n", ind, f.FD, f.Type, f.Path)
	}
	for _, s := range pr.Sockets {
		p("%s  socket fd %d %s %s %s %s -> %s\n", ind, s.FD, s.Protocol, s.Type, s.State, s.Local, nonEmpty(s.Remote, "-"))
	}
	for _, ch := range c.Children(pr) {
		writeProcess(b, c, ch, depth+1, seen)
	}
}
