package criu

import (
	"fmt"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/elfcore"
)

// CoreProcess describes p for elfcore.Write: the registers of every
// thread from its core image, the auxiliary vector from mm, the mappings
// and the dumped pages. Only x86-64 checkpoints have registers to write.
func (c *Checkpoint) CoreProcess(p *Process) (*elfcore.Process, error) {
	if p.mm == nil {
		return nil, fmt.Errorf("pid %d has no memory in the checkpoint", p.PID)
	}
	out := &elfcore.Process{PID: int(p.PID), PPID: int(p.PPID), PGID: int(p.PGID), SID: int(p.SID),
		Comm: p.Comm, Args: strings.Join(p.Cmdline, " "), Auxv: p.mm.GetMmSavedAuxv()}
	if p.Creds != nil {
		out.UID, out.GID = p.Creds.UID, p.Creds.GID
	}
	for _, t := range p.Threads {
		core := p.cores[t.TID]
		g := core.GetThreadInfo().GetGpregs()
		if g == nil {
			return nil, fmt.Errorf("pid %d thread %d has no x86-64 registers: only x86-64 cores are written", p.PID, t.TID)
		}
		out.Threads = append(out.Threads, elfcore.ThreadRegs{TID: int(t.TID), Regs: [27]uint64{
			g.GetR15(), g.GetR14(), g.GetR13(), g.GetR12(), g.GetBp(), g.GetBx(), g.GetR11(), g.GetR10(), g.GetR9(), g.GetR8(),
			g.GetAx(), g.GetCx(), g.GetDx(), g.GetSi(), g.GetDi(), g.GetOrigAx(), g.GetIp(), g.GetCs(), g.GetFlags(), g.GetSp(),
			g.GetSs(), g.GetFsBase(), g.GetGsBase(), g.GetDs(), g.GetEs(), g.GetFs(), g.GetGs()}})
	}
	if len(out.Threads) == 0 {
		return nil, fmt.Errorf("pid %d: %w", p.PID, elfcore.ErrNoThreads)
	}
	for _, m := range p.Mappings {
		out.Mappings = append(out.Mappings, elfcore.Mapping{Start: m.Start, End: m.End, Perms: m.Perms, File: m.File, Offset: m.Offset, Deleted: m.Deleted})
	}
	if p.mem != nil {
		out.Memory = p.mem.ReadAt
	}
	return out, nil
}
