package criu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	criu_core "github.com/checkpoint-restore/go-criu/v7/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fs"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pstree"
	remap "github.com/checkpoint-restore/go-criu/v7/crit/images/remap-file-path"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"google.golang.org/protobuf/proto"
)

// Checkpoint is what a checkpoint says: its container, processes, open
// files, sockets, mounts and dump statistics.
type Checkpoint struct {
	// Layout is "kubelet" (a CRI checkpoint archive) or "criu" (a bare
	// CRIU image folder or tar).
	Layout    string     `json:"layout"`
	Container *Container `json:"container,omitempty"`
	// ImageVersion is the inventory's image version.
	ImageVersion uint32     `json:"criu_image_version,omitempty"`
	Processes    []*Process `json:"processes"`
	Mounts       []Mount    `json:"mounts,omitempty"`
	Stats        *DumpStats `json:"dump_statistics,omitempty"`
	Sizes        Sizes      `json:"sizes"`
	// Problems say what could not be read; the rest is still reported.
	Problems []string `json:"problems,omitempty"`

	files  *Files
	prefix string
	byPID  map[uint32]*Process
}

// Container is what the runtime recorded beside the images (config.dump,
// spec.dump): checkpointctl show's fields.
type Container struct {
	ID           string     `json:"id,omitempty"`
	Name         string     `json:"name,omitempty"`
	Pod          string     `json:"pod,omitempty"`
	Namespace    string     `json:"namespace,omitempty"`
	Image        string     `json:"image,omitempty"`
	ImageRef     string     `json:"image_ref,omitempty"`
	Runtime      string     `json:"runtime,omitempty"`
	Engine       string     `json:"engine,omitempty"`
	Created      *time.Time `json:"created,omitempty"`
	Checkpointed *time.Time `json:"checkpointed,omitempty"`
	IPs          []string   `json:"ips,omitempty"`
	// Args and Env are the OCI spec's process; Env values holding
	// secrets are masked by analyze.
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
}

// Sizes are checkpointctl show's sizes.
type Sizes struct {
	// Total is the size of the CRIU images (checkpoint/ of an archive).
	Total      int64 `json:"total"`
	Pages      int64 `json:"memory_pages"`
	RootfsDiff int64 `json:"rootfs_diff,omitempty"`
}

// DumpStats are CRIU's dump statistics (stats-dump), times in µs.
type DumpStats struct {
	FreezingTime uint32 `json:"freezing_time_us"`
	FrozenTime   uint32 `json:"frozen_time_us"`
	MemdumpTime  uint32 `json:"memdump_time_us"`
	MemwriteTime uint32 `json:"memwrite_time_us"`
	PagesScanned uint64 `json:"pages_scanned"`
	PagesWritten uint64 `json:"pages_written"`
	PagesSkipped uint64 `json:"pages_skipped_parent,omitempty"`
	PagesLazy    uint64 `json:"pages_lazy,omitempty"`
}

// Process is one task of the checkpoint.
type Process struct {
	PID     uint32   `json:"pid"`
	PPID    uint32   `json:"ppid"`
	PGID    uint32   `json:"pgid"`
	SID     uint32   `json:"sid"`
	Comm    string   `json:"comm"`
	State   string   `json:"state,omitempty"`
	Exe     string   `json:"exe,omitempty"`
	Cmdline []string `json:"cmdline,omitempty"`
	// Env is read from the process's memory; values holding secrets are
	// masked by analyze unless secrets are shown.
	Env      []string   `json:"env,omitempty"`
	Cwd      string     `json:"cwd,omitempty"`
	Root     string     `json:"root,omitempty"`
	Creds    *Creds     `json:"creds,omitempty"`
	Threads  []Thread   `json:"threads"`
	Files    []OpenFile `json:"files,omitempty"`
	Sockets  []Socket   `json:"sockets,omitempty"`
	Mappings []Mapping  `json:"mappings,omitempty"`
	// PagesBytes is the memory dumped (the pagemap's pages).
	PagesBytes int64 `json:"pages_bytes"`
	// VirtualBytes is the size of every mapping.
	VirtualBytes int64 `json:"virtual_bytes"`

	mem   *Memory
	mm    *mm.MmEntry
	cores map[uint32]*criu_core.CoreEntry
}

// Creds are a task's credentials.
type Creds struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	EUID   uint32   `json:"euid"`
	EGID   uint32   `json:"egid"`
	SUID   uint32   `json:"suid"`
	SGID   uint32   `json:"sgid"`
	FSUID  uint32   `json:"fsuid"`
	FSGID  uint32   `json:"fsgid"`
	Groups []uint32 `json:"groups,omitempty"`
	// CapEff is the effective capability set, in hex like /proc's CapEff.
	CapEff string `json:"cap_eff,omitempty"`
	CapBnd string `json:"cap_bnd,omitempty"`
}

// Thread is one thread with its instruction and stack pointers.
type Thread struct {
	TID uint32 `json:"tid"`
	IP  uint64 `json:"ip"`
	SP  uint64 `json:"sp"`
	// Mapping names what IP points into.
	Mapping string `json:"mapping,omitempty"`
}

// OpenFile is one open file descriptor.
type OpenFile struct {
	FD   uint32 `json:"fd"`
	Type string `json:"type"`
	Path string `json:"path"`
	// Deleted is true for a file unlinked while open.
	Deleted bool `json:"deleted,omitempty"`
}

// Socket is one socket descriptor.
type Socket struct {
	FD       uint32 `json:"fd"`
	Protocol string `json:"protocol"`
	Type     string `json:"type,omitempty"`
	State    string `json:"state,omitempty"`
	Local    string `json:"local,omitempty"`
	Remote   string `json:"remote,omitempty"`
}

// Mapping is one virtual memory area.
type Mapping struct {
	Start  uint64 `json:"start"`
	End    uint64 `json:"end"`
	Perms  string `json:"perms"`
	Offset uint64 `json:"offset,omitempty"`
	// File is the mapped file, or [heap], [stack], [vdso]...; empty for
	// anonymous memory.
	File    string `json:"file,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`

	fileID uint32
	flags  uint32
	status uint32
}

// Mount is one mount of the container.
type Mount struct {
	Destination string `json:"destination"`
	Type        string `json:"type,omitempty"`
	Source      string `json:"source,omitempty"`
	Options     string `json:"options,omitempty"`
}

// VMA status bits (criu/include/image.h).
const (
	vmaRegular     = 1 << 0
	vmaStack       = 1 << 1
	vmaVsyscall    = 1 << 2
	vmaVDSO        = 1 << 3
	vmaHeap        = 1 << 5
	vmaFilePrivate = 1 << 6
	vmaFileShared  = 1 << 7
	vmaAnonShared  = 1 << 8
	vmaSysVIPC     = 1 << 10
	vmaVVAR        = 1 << 12
	vmaMemfd       = 1 << 14
)

// Limits on what is read of one process's memory for its report.
const (
	// maxArgs bounds the command line and the environment read.
	maxArgs = 2 << 20
	// maxProcesses bounds the tasks of a checkpoint.
	maxProcesses = 1 << 16
	// maxJSONDump bounds config.dump, spec.dump and deleted.files.
	maxJSONDump = 16 << 20
)

// Open reads the checkpoint in files. The images lie below the layout's
// prefix. The error is returned only when the checkpoint has no process
// tree at all; everything else missing or damaged is in Problems.
func Open(files *Files) (*Checkpoint, error) {
	layout, prefix := files.Layout()
	if layout == "" {
		return nil, fmt.Errorf("no inventory.img: not a CRIU checkpoint")
	}
	c := &Checkpoint{Layout: layout, files: files, prefix: prefix, byPID: map[uint32]*Process{}}
	for _, n := range files.Names() {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		c.Sizes.Total += files.Size(n)
		if strings.HasPrefix(n, prefix+"pages-") {
			c.Sizes.Pages += files.Size(n)
		}
	}
	c.Sizes.RootfsDiff = max(files.Size("rootfs-diff.tar"), 0)
	var inv inventory.InventoryEntry
	if err := c.image("inventory.img", MagicInventory, func(int) proto.Message { return &inv }); err == nil {
		c.ImageVersion = inv.GetImgVersion()
	}
	var tree []*pstree.PstreeEntry
	if err := c.image("pstree.img", MagicPstree, func(i int) proto.Message {
		if i >= maxProcesses {
			return nil
		}
		e := &pstree.PstreeEntry{}
		tree = append(tree, e)
		return e
	}); err != nil && len(tree) == 0 {
		return nil, fmt.Errorf("reading the process tree: %w", err)
	}
	if layout == "kubelet" {
		c.container()
	}
	reg, remapped := c.regFiles()
	for _, e := range tree {
		if _, dup := c.byPID[e.GetPid()]; dup {
			c.problem("pstree.img lists pid %d twice", e.GetPid())
			continue
		}
		p := &Process{PID: e.GetPid(), PPID: e.GetPpid(), PGID: e.GetPgid(), SID: e.GetSid(), cores: map[uint32]*criu_core.CoreEntry{}}
		c.byPID[p.PID] = p
		c.Processes = append(c.Processes, p)
		threads := e.GetThreads()
		if len(threads) > 1<<14 {
			c.problem("pid %d claims %d threads: only the first %d are read", p.PID, len(threads), 1<<14)
			threads = threads[:1<<14]
		}
		if len(threads) == 0 {
			threads = []uint32{p.PID}
		}
		c.process(p, threads, reg, remapped)
	}
	c.checkTree()
	c.stats()
	c.mounts()
	return c, nil
}

func (c *Checkpoint) problem(format string, args ...any) {
	if len(c.Problems) < 100 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// image reads the image name below the prefix; a missing image is an
// error the caller may ignore.
func (c *Checkpoint) image(name string, magic uint32, next func(i int) proto.Message) error {
	r, ok := c.files.Open(c.prefix + name)
	if !ok {
		return fmt.Errorf("%s is missing", name)
	}
	_, err := Entries(r, r.Size(), magic, next)
	if err != nil {
		c.problem("%s: %v", name, err)
		return err
	}
	return nil
}

// checkTree reports parents that are missing and loops in the tree (a
// process its own ancestor), which a hostile pstree.img may have.
func (c *Checkpoint) checkTree() {
	for _, p := range c.Processes {
		seen := map[uint32]bool{p.PID: true}
		for q := p; q.PPID != 0; {
			parent, ok := c.byPID[q.PPID]
			if !ok {
				break
			}
			if seen[parent.PID] {
				c.problem("pstree.img has a loop: pid %d is its own ancestor", p.PID)
				p.PPID = 0
				break
			}
			seen[parent.PID] = true
			q = parent
		}
	}
}

// ByPID returns the process with that pid.
func (c *Checkpoint) ByPID(pid uint32) *Process { return c.byPID[pid] }

// Roots returns the processes whose parent is not in the checkpoint.
func (c *Checkpoint) Roots() []*Process {
	var out []*Process
	for _, p := range c.Processes {
		if _, ok := c.byPID[p.PPID]; !ok || p.PPID == 0 {
			out = append(out, p)
		}
	}
	return out
}

// Children returns p's children, by pid.
func (c *Checkpoint) Children(p *Process) []*Process {
	var out []*Process
	for _, q := range c.Processes {
		if q.PPID == p.PID && q != p {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// regFiles reads files.img: every file of every process, by id.
func (c *Checkpoint) regFiles() (map[uint32]*fdinfo.FileEntry, map[uint32]bool) {
	files := map[uint32]*fdinfo.FileEntry{}
	var entries []*fdinfo.FileEntry // indexed after decoding: the id is known only then
	c.image("files.img", MagicFiles, func(int) proto.Message {
		e := &fdinfo.FileEntry{}
		entries = append(entries, e)
		return e
	})
	for _, e := range entries {
		files[e.GetId()] = e
	}
	ghosts := map[uint32]bool{}
	if r, ok := c.files.Open(c.prefix + "remap-fpath.img"); ok {
		var es []*remap.RemapFilePathEntry
		if _, err := Entries(r, r.Size(), MagicRemapFpath, func(int) proto.Message {
			e := &remap.RemapFilePathEntry{}
			es = append(es, e)
			return e
		}); err != nil {
			c.problem("remap-fpath.img: %v", err)
		}
		for _, e := range es {
			if e.GetRemapType() == remap.RemapType_GHOST {
				ghosts[e.GetOrigId()] = true
			}
		}
	}
	return files, ghosts
}

func (c *Checkpoint) process(p *Process, threads []uint32, files map[uint32]*fdinfo.FileEntry, ghosts map[uint32]bool) {
	name := func(id uint32) (string, bool) {
		f := files[id]
		if f == nil || f.GetReg() == nil {
			return "", false
		}
		return f.GetReg().GetName(), ghosts[id]
	}
	for _, tid := range threads {
		core := &criu_core.CoreEntry{}
		if err := c.image(fmt.Sprintf("core-%d.img", tid), MagicCore, func(int) proto.Message { return core }); err != nil {
			continue
		}
		p.cores[tid] = core
		t := Thread{TID: tid}
		if regs := core.GetThreadInfo().GetGpregs(); regs != nil {
			t.IP, t.SP = regs.GetIp(), regs.GetSp()
		}
		p.Threads = append(p.Threads, t)
		if tid == p.PID || p.Comm == "" {
			if tc := core.GetTc(); tc != nil {
				p.Comm = tc.GetComm()
				p.State = taskState(tc.GetTaskState())
			}
			if cr := core.GetThreadCore().GetCreds(); cr != nil {
				p.Creds = &Creds{UID: cr.GetUid(), GID: cr.GetGid(), EUID: cr.GetEuid(), EGID: cr.GetEgid(),
					SUID: cr.GetSuid(), SGID: cr.GetSgid(), FSUID: cr.GetFsuid(), FSGID: cr.GetFsgid(),
					Groups: cr.GetGroups(), CapEff: caps(cr.GetCapEff()), CapBnd: caps(cr.GetCapBnd())}
			}
		}
	}
	var ids criu_core.TaskKobjIdsEntry
	haveIDs := c.image(fmt.Sprintf("ids-%d.img", p.PID), MagicIDs, func(int) proto.Message { return &ids }) == nil
	if !haveIDs {
		if core := p.cores[p.PID]; core != nil && core.GetIds() != nil {
			ids, haveIDs = *core.GetIds(), true //nolint:govet // a copy of a decoded message, read only
		}
	}
	var fse fs.FsEntry
	if c.image(fmt.Sprintf("fs-%d.img", p.PID), MagicFS, func(int) proto.Message { return &fse }) == nil {
		p.Cwd, _ = name(fse.GetCwdId())
		p.Root, _ = name(fse.GetRootId())
	}
	// Open files: fdinfo-<files_id>.img, or fdinfo-<pid>.img in old images.
	fdImg := fmt.Sprintf("fdinfo-%d.img", p.PID)
	if haveIDs {
		fdImg = fmt.Sprintf("fdinfo-%d.img", ids.GetFilesId())
	}
	var fds []*fdinfo.FdinfoEntry
	c.image(fdImg, MagicFdinfo, func(int) proto.Message {
		e := &fdinfo.FdinfoEntry{}
		fds = append(fds, e)
		return e
	})
	for _, fd := range fds {
		f := files[fd.GetId()]
		if f == nil {
			c.problem("pid %d fd %d names file id %d, which files.img lacks", p.PID, fd.GetFd(), fd.GetId())
			continue
		}
		of := OpenFile{FD: fd.GetFd(), Type: fd.GetType().String()}
		switch {
		case f.GetReg() != nil:
			of.Path, of.Deleted = name(fd.GetId())
		case f.GetPipe() != nil:
			of.Path = fmt.Sprintf("pipe:[%d]", f.GetPipe().GetPipeId())
		case f.GetIsk() != nil:
			s := inetSocket(fd.GetFd(), f)
			p.Sockets = append(p.Sockets, s)
			of.Path = s.Protocol + " " + s.Local
		case f.GetUsk() != nil:
			s := unixSocket(fd.GetFd(), f)
			p.Sockets = append(p.Sockets, s)
			of.Path = "unix:" + s.Local
		case f.GetPsk() != nil:
			p.Sockets = append(p.Sockets, Socket{FD: fd.GetFd(), Protocol: "PACKET"})
			of.Path = "packet"
		case f.GetNlsk() != nil:
			p.Sockets = append(p.Sockets, Socket{FD: fd.GetFd(), Protocol: "NETLINK"})
			of.Path = "netlink"
		case f.GetTty() != nil:
			of.Path = fmt.Sprintf("tty:[%d]", f.GetTty().GetTtyInfoId())
		}
		p.Files = append(p.Files, of)
	}
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].FD < p.Files[j].FD })
	c.memory(p, name)
}

// memory reads mm-PID.img and pagemap-PID.img: the mappings, the pages
// index, and the command line and environment from the pages.
func (c *Checkpoint) memory(p *Process, name func(uint32) (string, bool)) {
	m := &mm.MmEntry{}
	if err := c.image(fmt.Sprintf("mm-%d.img", p.PID), MagicMM, func(int) proto.Message { return m }); err != nil {
		return // a zombie or a kernel thread has none
	}
	p.mm = m
	p.Exe, _ = name(m.GetExeFileId())
	if _, deleted := name(m.GetExeFileId()); deleted {
		p.Exe += " (deleted)"
	}
	for _, v := range m.GetVmas() {
		if v.GetEnd() <= v.GetStart() {
			c.problem("pid %d has a mapping that ends before it starts (%#x-%#x)", p.PID, v.GetStart(), v.GetEnd())
			continue
		}
		mp := Mapping{Start: v.GetStart(), End: v.GetEnd(), Offset: v.GetPgoff(), Perms: perms(v.GetProt(), v.GetFlags()),
			flags: v.GetFlags(), status: v.GetStatus()}
		st := v.GetStatus()
		switch {
		case st&vmaVDSO != 0:
			mp.File = "[vdso]"
		case st&vmaVVAR != 0:
			mp.File = "[vvar]"
		case st&vmaVsyscall != 0:
			mp.File = "[vsyscall]"
		case st&vmaHeap != 0:
			mp.File = "[heap]"
		case st&vmaStack != 0 || v.GetFlags()&0x100 != 0: // MAP_GROWSDOWN
			mp.File = "[stack]"
		case st&vmaSysVIPC != 0:
			mp.File = fmt.Sprintf("SYSV%08x", v.GetShmid())
		case st&(vmaFilePrivate|vmaFileShared|vmaMemfd) != 0 && v.GetShmid() <= 1<<32-1:
			mp.fileID = uint32(v.GetShmid())
			mp.File, mp.Deleted = name(mp.fileID)
			if mp.File == "" && st&vmaMemfd != 0 {
				mp.File = "memfd"
			}
		case st&vmaAnonShared != 0:
			mp.File = "/dev/zero (deleted)"
		}
		p.VirtualBytes += int64(mp.End - mp.Start)
		p.Mappings = append(p.Mappings, mp)
	}
	sort.Slice(p.Mappings, func(i, j int) bool { return p.Mappings[i].Start < p.Mappings[j].Start })
	for i := range p.Threads {
		p.Threads[i].Mapping = p.MappingAt(p.Threads[i].IP)
	}
	mem, err := c.pagemap(p)
	if err != nil {
		c.problem("pid %d: %v", p.PID, err)
	}
	p.mem = mem
	if mem == nil {
		return
	}
	p.PagesBytes = mem.Bytes()
	if args, err := mem.Range(m.GetMmArgStart(), m.GetMmArgEnd(), maxArgs); err == nil {
		p.Cmdline = splitNUL(args)
	}
	if env, err := mem.Range(m.GetMmEnvStart(), m.GetMmEnvEnd(), maxArgs); err == nil {
		p.Env = splitNUL(env)
	}
}

// MappingAt names the mapping that holds addr: its file, or "anonymous",
// with its permissions.
func (p *Process) MappingAt(addr uint64) string {
	i := sort.Search(len(p.Mappings), func(i int) bool { return p.Mappings[i].End > addr })
	if i < len(p.Mappings) && p.Mappings[i].Start <= addr {
		m := p.Mappings[i]
		f := m.File
		if f == "" {
			f = "anonymous"
		}
		return fmt.Sprintf("%s %s", f, m.Perms)
	}
	return ""
}

// Memory returns the process's dumped memory, or nil.
func (p *Process) Memory() *Memory { return p.mem }

func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func perms(prot, flags uint32) string {
	b := []byte("---p")
	if prot&1 != 0 {
		b[0] = 'r'
	}
	if prot&2 != 0 {
		b[1] = 'w'
	}
	if prot&4 != 0 {
		b[2] = 'x'
	}
	if flags&1 != 0 { // MAP_SHARED
		b[3] = 's'
	}
	return string(b)
}

func caps(words []uint32) string {
	if len(words) == 0 {
		return ""
	}
	var v uint64
	for i, w := range words {
		if i < 2 {
			v |= uint64(w) << (32 * i)
		}
	}
	return fmt.Sprintf("%016x", v)
}

func taskState(s uint32) string {
	switch s {
	case 1:
		return "alive"
	case 2:
		return "dead"
	case 3:
		return "stopped"
	case 6:
		return "zombie"
	}
	return fmt.Sprintf("state %d", s)
}

var tcpStates = map[uint32]string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}

func sockType(t uint32) string {
	switch t {
	case 1:
		return "STREAM"
	case 2:
		return "DGRAM"
	case 3:
		return "RAW"
	case 5:
		return "SEQPACKET"
	}
	return fmt.Sprintf("type %d", t)
}

func inetSocket(fd uint32, f *fdinfo.FileEntry) Socket {
	sk := f.GetIsk()
	s := Socket{FD: fd, Type: sockType(sk.GetType()), State: tcpStates[sk.GetState()]}
	switch sk.GetProto() {
	case 6:
		s.Protocol = "TCP"
	case 17:
		s.Protocol = "UDP"
	case 262:
		s.Protocol = "MPTCP"
	default:
		s.Protocol = fmt.Sprintf("IP proto %d", sk.GetProto())
	}
	if sk.GetFamily() == 10 {
		s.Protocol += "6"
	}
	s.Local = addrPort(sk.GetSrcAddr(), sk.GetSrcPort())
	if sk.GetDstPort() != 0 || sk.GetState() == 1 {
		s.Remote = addrPort(sk.GetDstAddr(), sk.GetDstPort())
	}
	return s
}

func addrPort(words []uint32, port uint32) string {
	var a netip.Addr
	switch len(words) {
	case 1:
		var b [4]byte
		b[0], b[1], b[2], b[3] = byte(words[0]), byte(words[0]>>8), byte(words[0]>>16), byte(words[0]>>24)
		a = netip.AddrFrom4(b)
	case 4:
		var b [16]byte
		for i, w := range words {
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
		}
		a = netip.AddrFrom16(b)
	default:
		return fmt.Sprintf(":%d", port)
	}
	return netip.AddrPortFrom(a, uint16(port)).String()
}

func unixSocket(fd uint32, f *fdinfo.FileEntry) Socket {
	sk := f.GetUsk()
	name := string(sk.GetName())
	if strings.HasPrefix(name, "\x00") {
		name = "@" + name[1:]
	}
	return Socket{FD: fd, Protocol: "UNIX", Type: sockType(sk.GetType()), State: tcpStates[sk.GetState()], Local: name}
}

// stats reads stats-dump (in the images, or beside them in an archive).
func (c *Checkpoint) stats() {
	for _, n := range []string{c.prefix + "stats-dump", "stats-dump"} {
		r, ok := c.files.Open(n)
		if !ok {
			continue
		}
		var s stats.StatsEntry
		if _, err := Entries(r, r.Size(), MagicStats, func(int) proto.Message { return &s }); err != nil {
			c.problem("%s: %v", n, err)
			return
		}
		if d := s.GetDump(); d != nil {
			c.Stats = &DumpStats{FreezingTime: d.GetFreezingTime(), FrozenTime: d.GetFrozenTime(), MemdumpTime: d.GetMemdumpTime(),
				MemwriteTime: d.GetMemwriteTime(), PagesScanned: d.GetPagesScanned(), PagesWritten: d.GetPagesWritten(),
				PagesSkipped: d.GetPagesSkippedParent(), PagesLazy: d.GetPagesLazy()}
		}
		return
	}
}

// mounts lists the container's mounts from spec.dump (what checkpointctl
// shows) or else from the mount namespace's mountpoints image.
func (c *Checkpoint) mounts() {
	var spec struct {
		Mounts []struct {
			Destination string   `json:"destination"`
			Type        string   `json:"type"`
			Source      string   `json:"source"`
			Options     []string `json:"options"`
		} `json:"mounts"`
	}
	if c.readJSON("spec.dump", &spec) == nil && len(spec.Mounts) > 0 {
		for _, m := range spec.Mounts {
			c.Mounts = append(c.Mounts, Mount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: strings.Join(m.Options, ",")})
		}
		return
	}
	for _, n := range c.files.Names() {
		if !strings.HasPrefix(n, c.prefix+"mountpoints-") {
			continue
		}
		r, _ := c.files.Open(n)
		var es []*mnt.MntEntry
		if _, err := Entries(r, r.Size(), MagicMnts, func(int) proto.Message {
			e := &mnt.MntEntry{}
			es = append(es, e)
			return e
		}); err != nil {
			c.problem("%s: %v", n, err)
		}
		for _, e := range es {
			c.Mounts = append(c.Mounts, Mount{Destination: e.GetMountpoint(), Type: e.GetFsname(), Source: e.GetSource(), Options: e.GetOptions()})
		}
	}
}

func (c *Checkpoint) readJSON(name string, v any) error {
	r, ok := c.files.Open(name)
	if !ok {
		return fmt.Errorf("%s is missing", name)
	}
	if r.Size() > maxJSONDump {
		c.problem("%s is %d bytes, more than the %d read", name, r.Size(), maxJSONDump)
		return fmt.Errorf("too large")
	}
	b, err := io.ReadAll(r)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		c.problem("%s: %v", name, err)
	}
	return err
}

// container reads config.dump and spec.dump (checkpointctl show).
func (c *Checkpoint) container() {
	var cfg struct {
		ID              string    `json:"id"`
		Name            string    `json:"name"`
		RootfsImage     string    `json:"rootfsImage"`
		RootfsImageRef  string    `json:"rootfsImageRef"`
		RootfsImageName string    `json:"rootfsImageName"`
		Runtime         string    `json:"runtime"`
		CreatedTime     time.Time `json:"createdTime"`
		CheckpointedAt  time.Time `json:"checkpointedTime"`
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
		Process     *struct {
			Args []string `json:"args"`
			Env  []string `json:"env"`
		} `json:"process"`
	}
	ct := &Container{}
	if c.readJSON("config.dump", &cfg) == nil {
		ct.ID, ct.Name, ct.Runtime = cfg.ID, cfg.Name, cfg.Runtime
		ct.Image, ct.ImageRef = cfg.RootfsImageName, cfg.RootfsImageRef
		if ct.Image == "" {
			ct.Image = cfg.RootfsImage
		}
		if !cfg.CreatedTime.IsZero() {
			t := cfg.CreatedTime.UTC()
			ct.Created = &t
		}
		if !cfg.CheckpointedAt.IsZero() {
			t := cfg.CheckpointedAt.UTC()
			ct.Checkpointed = &t
		}
	}
	if c.readJSON("spec.dump", &spec) == nil {
		a := spec.Annotations
		switch {
		case a["io.container.manager"] == "cri-o" || a["io.kubernetes.cri-o.Name"] != "":
			ct.Engine = "CRI-O"
		case a["io.container.manager"] == "libpod":
			ct.Engine = "Podman"
		case a["io.kubernetes.cri.container-name"] != "":
			ct.Engine = "containerd"
		}
		// The container's own name, as checkpointctl show gives it; the
		// runtime's long name stays in ID's company when there is none.
		var crio struct {
			Name string `json:"name"`
		}
		json.Unmarshal([]byte(a["io.kubernetes.cri-o.Metadata"]), &crio)
		if n := first(a["io.kubernetes.cri.container-name"], crio.Name); n != "" {
			ct.Name = n
		}
		if ip := a["io.kubernetes.cri-o.IP.0"]; ip != "" {
			ct.IPs = append(ct.IPs, ip)
		}
		ct.Pod = first(a["io.kubernetes.pod.name"], a["io.kubernetes.cri.sandbox-name"])
		ct.Namespace = first(a["io.kubernetes.pod.namespace"], a["io.kubernetes.cri.sandbox-namespace"])
		if ct.Image == "" {
			ct.Image = a["io.kubernetes.cri.image-name"]
		}
		if spec.Process != nil {
			ct.Args, ct.Env = spec.Process.Args, spec.Process.Env
		}
	}
	var status []struct {
		IPs []struct {
			Address string `json:"address"`
		} `json:"ips"`
	}
	if _, ok := c.files.Open("network.status"); ok && c.readJSON("network.status", &status) == nil {
		for _, s := range status {
			for _, ip := range s.IPs {
				ct.IPs = append(ct.IPs, ip.Address)
			}
		}
	}
	c.Container = ct
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// DeletedFiles reads deleted.files: the paths the container deleted from
// its image.
func (c *Checkpoint) DeletedFiles() []string {
	var out []string
	if _, ok := c.files.Open("deleted.files"); !ok {
		return nil
	}
	c.readJSON("deleted.files", &out)
	return out
}

// RootfsDiff returns rootfs-diff.tar, the container's writable layer.
func (c *Checkpoint) RootfsDiff() (*io.SectionReader, bool) { return c.files.Open("rootfs-diff.tar") }
