//go:build linux

package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/fsnap"
	"github.com/forensic-tools/forensic/shared/agent/memcore"
	"github.com/forensic-tools/forensic/shared/agent/pcap"
	"github.com/forensic-tools/forensic/shared/agent/procsnap"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/version"
	"golang.org/x/sys/unix"
)

// Config is one session.
type Config struct {
	agent.RunOptions
	// ProcRoot is the agent's proc filesystem; empty means "/proc".
	ProcRoot string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Result is what a session sent.
type Result struct {
	// Bytes and SHA256 are those the END frame declared.
	Bytes  int64
	SHA256 string
	// Failed names the captures that failed or were cut short.
	Failed []string
}

// Run runs the session and writes the stream to out. Canceling ctx stops
// the captures early; they close their artifacts as cut short and the
// stream still ends properly. The error says which captures failed; the
// stream holds the details.
func Run(ctx context.Context, out io.Writer, cfg Config) (Result, error) {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	target := filepath.Join(cfg.ProcRoot, strconv.Itoa(cfg.TargetPID))
	if _, err := os.Stat(target); err != nil {
		return Result{}, fmt.Errorf("finding target process %d: %w (is the agent in the target's process namespace?)", cfg.TargetPID, err)
	}

	w, err := stream.NewWriter(out)
	if err != nil {
		return Result{}, err
	}
	s := &session{cfg: cfg, w: w, target: target}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel = cancel

	s.info()
	var wg sync.WaitGroup
	if cfg.Pcap {
		wg.Add(1)
		go func() { defer wg.Done(); s.pcap(ctx) }()
	}
	if cfg.Proc || cfg.FS || cfg.Memory {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Proc {
				s.proc(ctx)
			}
			if cfg.Memory {
				s.memory(ctx)
			}
			if cfg.FS {
				s.fs(ctx)
			}
		}()
	}
	wg.Wait()

	var cause error
	if len(s.failed) > 0 {
		cause = fmt.Errorf("failed or cut short: %s", strings.Join(s.failed, ", "))
	}
	if err := w.CloseWithError(cause); err != nil {
		return Result{Failed: s.failed}, err
	}
	n, sum := w.Sum()
	res := Result{Bytes: n, SHA256: hex.EncodeToString(sum), Failed: s.failed}
	cfg.Logf("end of stream: %d bytes, sha256 %s", res.Bytes, res.SHA256)
	return res, cause
}

type session struct {
	cfg    Config
	w      *stream.Writer
	target string
	cancel context.CancelFunc

	mu     sync.Mutex
	failed []string
}

// finish closes an artifact, noting a failure; a dead stream stops the
// whole session, since nothing more can be delivered.
func (s *session) finish(a *stream.ArtifactWriter, meta stream.Meta, cause error) {
	if cause != nil {
		s.mu.Lock()
		s.failed = append(s.failed, a.Name())
		s.mu.Unlock()
		s.cfg.Logf("%s: %v", a.Name(), cause)
	}
	if err := a.Finish(meta, cause); err != nil {
		s.cfg.Logf("%s: %v", a.Name(), err)
	}
	if s.w.Err() != nil {
		s.cancel()
	}
}

// open opens an artifact; failing means the stream is dead.
func (s *session) open(name string, meta stream.Meta) *stream.ArtifactWriter {
	a, err := s.w.Open(name, meta)
	if err != nil {
		s.mu.Lock()
		s.failed = append(s.failed, name)
		s.mu.Unlock()
		s.cfg.Logf("%s: %v", name, err)
		s.cancel()
		return nil
	}
	return a
}

// writeJSON sends v as a whole artifact.
func (s *session) writeJSON(name string, meta stream.Meta, v any) {
	a := s.open(name, meta)
	if a == nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	if err == nil {
		_, err = a.Write(buf.Bytes())
	}
	s.finish(a, nil, err)
}

func jsonMeta() stream.Meta { return stream.Meta{"content_type": "application/json"} }

// info sends agent/info.json: who collected, from what, when.
func (s *session) info() {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	ns := func(pid string) map[string]string {
		m := map[string]string{}
		for _, n := range []string{"net", "pid", "mnt", "uts", "ipc", "user", "cgroup"} {
			if l, err := os.Readlink(filepath.Join(s.cfg.ProcRoot, pid, "ns", n)); err == nil {
				m[n] = l
			}
		}
		return m
	}
	host, _ := os.Hostname()
	doc := map[string]any{
		"agent":             "forensic-agent",
		"version":           version.Version,
		"commit":            version.Commit,
		"build_date":        version.Date,
		"protocol_version":  stream.Version,
		"args":              s.cfg.Args(),
		"target_pid":        s.cfg.TargetPID,
		"started":           time.Now().UTC(),
		"kernel":            unix.ByteSliceToString(uts.Release[:]),
		"machine":           unix.ByteSliceToString(uts.Machine[:]),
		"hostname":          host,
		"agent_pid":         os.Getpid(),
		"agent_namespaces":  ns("self"),
		"target_namespaces": ns(strconv.Itoa(s.cfg.TargetPID)),
	}
	s.writeJSON(agent.ArtifactInfo, jsonMeta(), doc)
}

func (s *session) pcap(ctx context.Context) {
	o := pcap.Options{
		Interface:   s.cfg.PcapInterface,
		NetNSPath:   filepath.Join(s.target, "ns", "net"),
		Duration:    s.cfg.PcapDuration,
		MaxPackets:  s.cfg.PcapMaxPackets,
		MaxBytes:    s.cfg.PcapMaxBytes,
		Format:      pcap.FormatPcapNG,
		BufferSize:  s.cfg.PcapBufferSize,
		Application: "forensic-agent " + version.Version,
		Logf:        s.cfg.Logf,
	}
	name, ctype := agent.ArtifactPcapNG, "application/x-pcapng"
	if s.cfg.PcapFormat == agent.Pcap {
		o.Format, name, ctype = pcap.FormatPcap, agent.ArtifactPcap, "application/vnd.tcpdump.pcap"
	}
	iface := o.Interface
	if iface == "" {
		iface = "all"
	}
	a := s.open(name, stream.Meta{
		"content_type": ctype, "format": string(o.Format), "interface": iface,
		"duration": o.Duration.String(), "max_packets": o.MaxPackets, "max_bytes": o.MaxBytes,
		"snaplen": pcap.Snaplen,
	})
	if a == nil {
		return
	}
	st, err := pcap.Capture(ctx, a, o)
	if err == nil && st.StopReason == pcap.StopCanceled {
		err = errors.New("capture stopped before its duration or limits: the session was stopped")
	}
	s.cfg.Logf("pcap: %d packets, %d bytes, kernel: %d received by filter, %d dropped, %d queue freezes (%s)",
		st.Packets, st.Bytes, st.KernelPackets, st.KernelDrops, st.KernelFreezes, st.StopReason)
	var ifaces []string
	for _, i := range st.Interfaces {
		ifaces = append(ifaces, i.Name)
	}
	s.finish(a, stream.Meta{
		"packets": st.Packets, "bytes": st.Bytes,
		"kernel_packets": st.KernelPackets, "kernel_drops": st.KernelDrops, "kernel_freezes": st.KernelFreezes,
		"skipped_packets": st.Skipped, "mixed_link_types": st.MixedLinkTypes,
		"stop_reason": st.StopReason, "interfaces": ifaces,
		"start": st.Start, "end": st.End,
	}, err)
}

func (s *session) proc(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	snap, err := procsnap.Take(procsnap.Options{ProcRoot: s.cfg.ProcRoot, TargetPID: s.cfg.TargetPID, Env: s.cfg.ProcEnv})
	a := s.open(agent.ArtifactProcSnapshot, stream.Meta{"content_type": "application/json", "environment": s.cfg.ProcEnv})
	if a == nil {
		return
	}
	if err != nil {
		s.finish(a, nil, err)
		return
	}
	err = snap.WriteJSON(a)
	s.cfg.Logf("proc: %d processes, %d sockets, %d problems", len(snap.Processes), len(snap.Sockets), len(snap.Errors))
	s.finish(a, stream.Meta{"processes": len(snap.Processes), "sockets": len(snap.Sockets), "problems": len(snap.Errors)}, err)
}

func (s *session) fs(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	mi := filepath.Join(s.target, "mountinfo")
	var mounts []fsnap.Mount
	f, err := os.Open(mi)
	if err == nil {
		mounts, err = fsnap.ParseMountInfo(f)
		f.Close()
	}
	if err != nil {
		err = fmt.Errorf("reading %s: %w", mi, err)
	}
	a := s.open(agent.ArtifactFSMounts, jsonMeta())
	if a == nil {
		return
	}
	if mounts == nil {
		mounts = []fsnap.Mount{}
	}
	b, jerr := json.MarshalIndent(mounts, "", "  ")
	if jerr == nil {
		_, jerr = a.Write(append(b, '\n'))
	}
	s.finish(a, stream.Meta{"mounts": len(mounts)}, errors.Join(err, jerr))

	root := filepath.Join(s.target, "root")
	t := s.open(agent.ArtifactFSTar, stream.Meta{"content_type": "application/x-tar", "root": root})
	if t == nil {
		return
	}
	rep, err := fsnap.Walk(ctx, t, fsnap.Options{Root: root, Mounts: mounts})
	s.cfg.Logf("fs: %d files, %d directories, %d bytes, %d skipped, %d errors",
		rep.Counts.Files, rep.Counts.Dirs, rep.Counts.Bytes, len(rep.Skipped), len(rep.Errors))
	s.finish(t, stream.Meta{"complete": rep.Complete, "counts": rep.Counts, "skipped": len(rep.Skipped), "entry_errors": len(rep.Errors)}, err)
	if s.w.Err() == nil {
		s.writeJSON(agent.ArtifactFSReport, jsonMeta(), rep)
	}
}

// memoryTargets lists the processes --memory dumps: those named by pid or
// name, or else every process of the target's process namespace but the
// agent itself. A named pid that does not exist is returned in missing.
func (s *session) memoryTargets() (pids []int, missing []string) {
	ents, err := os.ReadDir(s.cfg.ProcRoot)
	if err != nil {
		return nil, []string{fmt.Sprintf("listing %s: %v", s.cfg.ProcRoot, err)}
	}
	self := os.Getpid()
	if l, err := os.Readlink(filepath.Join(s.cfg.ProcRoot, "self")); err == nil {
		if p, err := strconv.Atoi(l); err == nil {
			self = p
		}
	}
	targetNS, _ := os.Readlink(filepath.Join(s.target, "ns", "pid"))
	named := len(s.cfg.MemoryPIDs) > 0 || len(s.cfg.MemoryComms) > 0
	found := map[int]bool{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join(s.cfg.ProcRoot, e.Name())
		if named {
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			if !slices.Contains(s.cfg.MemoryPIDs, pid) && !slices.Contains(s.cfg.MemoryComms, strings.TrimSuffix(string(comm), "\n")) {
				continue
			}
		} else {
			// Kernel threads have no memory of their own; processes of
			// another namespace are not the target's.
			if ns, _ := os.Readlink(filepath.Join(dir, "ns", "pid")); ns != targetNS {
				continue
			}
			if exe, err := os.Readlink(filepath.Join(dir, "exe")); err != nil || exe == "" {
				if maps, _ := os.ReadFile(filepath.Join(dir, "maps")); len(maps) == 0 {
					continue
				}
			}
		}
		found[pid] = true
		pids = append(pids, pid)
	}
	for _, p := range s.cfg.MemoryPIDs {
		if !found[p] {
			missing = append(missing, fmt.Sprintf("process %d: not found in %s", p, s.cfg.ProcRoot))
		}
	}
	return pids, missing
}

// memory streams memory/<pid>-<comm>.core and .json for each selected
// process, one at a time, so that only one process is stopped at once.
func (s *session) memory(ctx context.Context) {
	pids, missing := s.memoryTargets()
	for _, m := range missing {
		s.mu.Lock()
		s.failed = append(s.failed, "memory: "+m)
		s.mu.Unlock()
		s.cfg.Logf("memory: %s", m)
	}
	if len(pids) == 0 && len(missing) == 0 {
		s.mu.Lock()
		s.failed = append(s.failed, "memory: no process matched")
		s.mu.Unlock()
		s.cfg.Logf("memory: no process matched --memory-pid/--memory-comm")
	}
	used := int64(0)
	for _, pid := range pids {
		if ctx.Err() != nil {
			return
		}
		comm, _ := os.ReadFile(filepath.Join(s.cfg.ProcRoot, strconv.Itoa(pid), "comm"))
		coreName, repName := agent.MemoryArtifacts(pid, strings.TrimSuffix(string(comm), "\n"))
		o := memcore.Options{ProcRoot: s.cfg.ProcRoot, PID: pid, SkipFileBacked: s.cfg.MemorySkipFileBacked}
		if s.cfg.MemoryMaxBytes > 0 {
			o.MaxBytes = s.cfg.MemoryMaxBytes - used
			if o.MaxBytes <= 0 {
				o.MaxBytes = -1
			}
		}
		a := s.open(coreName, stream.Meta{"content_type": "application/x-coredump", "format": "elf-core", "pid": pid})
		if a == nil {
			return
		}
		rep, err := memcore.Dump(ctx, a, o)
		used += rep.MemoryBytes
		skipped := len(rep.Skipped())
		s.cfg.Logf("memory: process %d (%s): %d threads stopped for %s, %d bytes of memory in a %d-byte core, %d mappings skipped or partly unreadable",
			pid, rep.Comm, len(rep.Threads), rep.StoppedFor, rep.MemoryBytes, rep.CoreBytes, skipped)
		meta := stream.Meta{
			"pid": pid, "comm": rep.Comm, "exe": rep.Exe, "threads": len(rep.Threads),
			"complete": rep.Complete, "truncated": rep.Truncated, "incomplete": rep.Incomplete,
			"core_bytes": rep.CoreBytes, "memory_bytes": rep.MemoryBytes, "skipped_mappings": skipped,
			"stopped_seconds": rep.StoppedSeconds,
		}
		if !rep.Stopped.IsZero() {
			meta["stopped"], meta["resumed"], meta["stopped_for"] = rep.Stopped, rep.Resumed, rep.StoppedFor
		}
		if err != nil {
			err = fmt.Errorf("process %d (%s): %w", pid, rep.Comm, err)
		}
		s.finish(a, meta, err)
		if s.w.Err() != nil {
			return
		}
		s.writeJSON(repName, jsonMeta(), rep)
	}
}
