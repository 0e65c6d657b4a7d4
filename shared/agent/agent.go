package agent

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/version"
)

// DefaultImageRepository is the repository of the agent image built
// locally by forensic-agent/image.sh; no registry is involved.
const DefaultImageRepository = "forensic/agent"

// BinaryPath is where the agent binary lives in its image; it is the
// image's entrypoint.
const BinaryPath = "/forensic-agent"

// Artifact names the agent streams.
const (
	ArtifactInfo         = "agent/info.json"
	ArtifactPcapNG       = "pcap/capture.pcapng"
	ArtifactPcap         = "pcap/capture.pcap"
	ArtifactFSMounts     = "fs/mounts.json"
	ArtifactFSTar        = "fs/rootfs.tar"
	ArtifactFSReport     = "fs/report.json"
	ArtifactProcSnapshot = "proc/snapshot.json"
)

// MemoryArtifacts returns the names of the core file of one process and
// of its report: memory/<pid>-<comm>.core and memory/<pid>-<comm>.json,
// with comm reduced to [A-Za-z0-9_.-].
func MemoryArtifacts(pid int, comm string) (core, report string) {
	b := []byte(comm)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte{'_'}, b...)
	}
	base := fmt.Sprintf("memory/%d-%s", pid, b)
	return base + ".core", base + ".json"
}

// DefaultImage returns the image the plugins run: the repository tagged
// with this build's version, so that a plugin uses the agent built from the
// same source ("forensic/agent:dev" in development builds).
func DefaultImage() string { return DefaultImageRepository + ":" + ImageTag(version.Version) }

// ImageTag turns a version into a valid image tag: characters outside
// [A-Za-z0-9_.-] become '-', and an empty version becomes "dev".
func ImageTag(v string) string {
	if v == "" {
		return "dev"
	}
	b := []byte(v)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok || (i == 0 && (c == '.' || c == '-')) {
			b[i] = '-'
			if i == 0 {
				b[i] = '_'
			}
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// PcapFormat is the file format of a packet capture.
type PcapFormat string

// Packet capture formats.
const (
	// PcapNG keeps one interface description per captured interface, so
	// "all interfaces" with different link types fits in one file.
	PcapNG PcapFormat = "pcapng"
	// Pcap is the classic libpcap format, one link type per file.
	Pcap PcapFormat = "pcap"
)

// RunOptions is the command line of `forensic-agent run`. Plugins build it
// and pass Args() as the container's arguments; the agent parses it with
// BindFlags. Keeping both here means the two ends cannot drift apart.
type RunOptions struct {
	// TargetPID is the target's main process as the agent sees it (1 when
	// the agent shares the target container's process namespace).
	TargetPID int
	// WaitStdin makes the agent wait for one byte on stdin before it
	// starts, so that nothing is written before the plugin attached; after
	// that, end of stdin stops the session early.
	WaitStdin bool

	// Pcap enables packet capture; PcapDuration 0 then means "until a
	// limit is reached or the session is stopped".
	Pcap           bool
	PcapDuration   time.Duration
	PcapInterface  string // empty: every interface of the namespace
	PcapMaxPackets int64
	PcapMaxBytes   int64
	PcapFormat     PcapFormat
	PcapBufferSize int64 // kernel ring size in bytes; 0: the agent's default

	// FS streams a tar of the target's root filesystem.
	FS bool
	// Proc streams a process and socket snapshot; ProcEnv adds every
	// process's environment, which often holds secrets.
	Proc    bool
	ProcEnv bool

	// Memory streams an ELF core file of each selected process: every
	// process of the target's process namespace but the agent, or those
	// MemoryPIDs and MemoryComms name. Each process is stopped while its
	// memory is read.
	Memory      bool
	MemoryPIDs  []int
	MemoryComms []string
	// MemorySkipFileBacked leaves out the data of unchanged read-only
	// file mappings (recorded; gdb reads them from the files).
	MemorySkipFileBacked bool
	// MemoryMaxBytes bounds the memory data of all cores together; past
	// it the cores are marked truncated. 0: no limit.
	MemoryMaxBytes int64
}

// Captures reports whether the options ask for any capture: the plugins'
// "is live capture on".
func (o *RunOptions) Captures() bool { return o != nil && (o.Pcap || o.FS || o.Proc || o.Memory) }

// DefaultRunOptions returns the options `forensic-agent run` starts from.
func DefaultRunOptions() RunOptions {
	return RunOptions{TargetPID: 1, WaitStdin: true, PcapFormat: PcapNG}
}

// pcapFlag is the --pcap flag: a duration that also switches capture on.
type pcapFlag struct{ o *RunOptions }

func (p pcapFlag) String() string {
	if p.o == nil || !p.o.Pcap {
		return ""
	}
	return p.o.PcapDuration.String()
}

func (p pcapFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("--pcap wants a duration such as 30s or 2m: %w", err)
	}
	if d < 0 {
		return fmt.Errorf("--pcap duration %s is negative", s)
	}
	p.o.Pcap, p.o.PcapDuration = true, d
	return nil
}

// formatFlag is the --pcap-format flag.
type formatFlag struct{ f *PcapFormat }

func (f formatFlag) String() string {
	if f.f == nil {
		return ""
	}
	return string(*f.f)
}

func (f formatFlag) Set(s string) error {
	switch PcapFormat(s) {
	case PcapNG, Pcap:
		*f.f = PcapFormat(s)
		return nil
	}
	return fmt.Errorf("--pcap-format must be %q or %q, not %q", PcapNG, Pcap, s)
}

// pidsFlag is a repeatable process id flag.
type pidsFlag struct{ p *[]int }

func (f pidsFlag) String() string {
	if f.p == nil {
		return ""
	}
	var s []string
	for _, v := range *f.p {
		s = append(s, strconv.Itoa(v))
	}
	return strings.Join(s, ",")
}

func (f pidsFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("want a process id such as 1, not %q", s)
	}
	*f.p = append(*f.p, v)
	return nil
}

// Type names the value in pflag's help.
func (f pidsFlag) Type() string { return "pid" }

// stringsFlag is a repeatable string flag.
type stringsFlag struct{ p *[]string }

func (f stringsFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}

func (f stringsFlag) Set(s string) error {
	if s == "" {
		return fmt.Errorf("want a process name as /proc/PID/comm spells it")
	}
	*f.p = append(*f.p, s)
	return nil
}

// Type names the value in pflag's help.
func (f stringsFlag) Type() string { return "name" }

// PIDsValue returns a repeatable flag value that appends process ids to
// p (for --memory-pid in the plugins).
func PIDsValue(p *[]int) interface {
	flag.Value
	Type() string
} {
	return pidsFlag{p}
}

// StringsValue returns a repeatable flag value that appends to p (for
// --memory-comm in the plugins).
func StringsValue(p *[]string) interface {
	flag.Value
	Type() string
} {
	return stringsFlag{p}
}

// BindFlags defines the flags of `forensic-agent run` on fs, bound to o.
func (o *RunOptions) BindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.TargetPID, "target-pid", o.TargetPID, "target process as the agent sees it; its namespaces, root and /proc/<pid>/net are used")
	fs.BoolVar(&o.WaitStdin, "wait-stdin", o.WaitStdin, "wait for one byte on stdin before starting; later end of stdin stops the session")
	fs.Var(pcapFlag{o}, "pcap", "capture packets for this `duration` (0: until a --pcap-max-* limit or until stopped)")
	fs.StringVar(&o.PcapInterface, "pcap-iface", o.PcapInterface, "capture only this `interface` (default: every interface of the network namespace)")
	fs.Int64Var(&o.PcapMaxPackets, "pcap-max-packets", o.PcapMaxPackets, "stop the capture after this many packets (0: no limit)")
	fs.Int64Var(&o.PcapMaxBytes, "pcap-max-bytes", o.PcapMaxBytes, "stop the capture before the capture file exceeds this many bytes (0: no limit)")
	fs.Var(formatFlag{&o.PcapFormat}, "pcap-format", "capture file `format`: pcapng or pcap")
	fs.Int64Var(&o.PcapBufferSize, "pcap-buffer", o.PcapBufferSize, "kernel capture ring size in `bytes` (0: 32 MiB)")
	fs.BoolVar(&o.FS, "fs", o.FS, "stream a tar of the target's root filesystem")
	fs.BoolVar(&o.Proc, "proc", o.Proc, "stream a snapshot of processes and sockets")
	fs.BoolVar(&o.ProcEnv, "proc-env", o.ProcEnv, "include each process's environment in the snapshot (often holds secrets)")
	fs.BoolVar(&o.Memory, "memory", o.Memory, "stream an ELF core file of each process of the target's process namespace but the agent (each is stopped while read)")
	fs.Var(pidsFlag{&o.MemoryPIDs}, "memory-pid", "with --memory, only this `pid` (repeatable; with --memory-comm: either)")
	fs.Var(stringsFlag{&o.MemoryComms}, "memory-comm", "with --memory, only processes of this `name` (/proc/PID/comm; repeatable)")
	fs.BoolVar(&o.MemorySkipFileBacked, "memory-skip-file-backed", o.MemorySkipFileBacked, "with --memory, leave out unchanged read-only file mappings (recorded)")
	fs.Int64Var(&o.MemoryMaxBytes, "memory-max-bytes", o.MemoryMaxBytes, "with --memory, stop the cores' memory data at this many `bytes` in all, marked truncated (0: no limit)")
}

// FlagNames are how a command line spells the options of RunOptions, so
// that ValidateFlags names the flags the user typed: the plugins offer the
// agent's options under their own names (--processes for --proc). An
// empty name is an option the command line does not offer; errors about it
// use the agent's name.
type FlagNames struct {
	Pcap, PcapInterface, PcapMaxPackets, PcapMaxBytes, PcapFormat, PcapBuffer string
	FS, Proc, ProcEnv                                                         string
	Memory, MemoryPID, MemoryComm, MemorySkipFileBacked, MemoryMaxBytes       string
}

// agentFlags are the names of `forensic-agent run`'s flags (BindFlags).
var agentFlags = FlagNames{Pcap: "--pcap", PcapInterface: "--pcap-iface", PcapMaxPackets: "--pcap-max-packets",
	PcapMaxBytes: "--pcap-max-bytes", PcapFormat: "--pcap-format", PcapBuffer: "--pcap-buffer",
	FS: "--fs", Proc: "--proc", ProcEnv: "--proc-env",
	Memory: "--memory", MemoryPID: "--memory-pid", MemoryComm: "--memory-comm",
	MemorySkipFileBacked: "--memory-skip-file-backed", MemoryMaxBytes: "--memory-max-bytes"}

// orAgent fills in the agent's name of every option n leaves unnamed.
func (n FlagNames) orAgent() FlagNames {
	for _, f := range []struct {
		name  *string
		agent string
	}{
		{&n.Pcap, agentFlags.Pcap}, {&n.PcapInterface, agentFlags.PcapInterface}, {&n.PcapMaxPackets, agentFlags.PcapMaxPackets},
		{&n.PcapMaxBytes, agentFlags.PcapMaxBytes}, {&n.PcapFormat, agentFlags.PcapFormat}, {&n.PcapBuffer, agentFlags.PcapBuffer},
		{&n.FS, agentFlags.FS}, {&n.Proc, agentFlags.Proc}, {&n.ProcEnv, agentFlags.ProcEnv},
		{&n.Memory, agentFlags.Memory}, {&n.MemoryPID, agentFlags.MemoryPID}, {&n.MemoryComm, agentFlags.MemoryComm},
		{&n.MemorySkipFileBacked, agentFlags.MemorySkipFileBacked}, {&n.MemoryMaxBytes, agentFlags.MemoryMaxBytes},
	} {
		if *f.name == "" {
			*f.name = f.agent
		}
	}
	return n
}

// Validate checks the options as a whole, as the agent runs them: a target
// process, something to capture, and the rules of ValidateFlags.
func (o *RunOptions) Validate() error {
	switch {
	case o.TargetPID <= 0:
		return fmt.Errorf("--target-pid must be a process id, not %d", o.TargetPID)
	case !o.Captures():
		return fmt.Errorf("nothing to capture: give --pcap DURATION, --fs, --proc or --memory")
	}
	return o.ValidateFlags(agentFlags)
}

// ValidateFlags checks that the capture options go together: no negative
// duration or limit, the packet options only with packet capture, the
// environment only with the process snapshot, a known capture format. The
// plugins call it on what their flags set, whether or not a capture was
// asked for, before anything is created; the agent checks the same rules
// again in Validate. Each error is one line that names the flag, as names
// spells it, and what to do.
func (o *RunOptions) ValidateFlags(names FlagNames) error {
	n := names.orAgent()
	switch {
	case o.PcapDuration < 0:
		return fmt.Errorf("%s %s is negative: give how long to capture (e.g. %s 30s)", n.Pcap, o.PcapDuration, n.Pcap)
	case o.PcapMaxPackets < 0:
		return fmt.Errorf("%s %d is negative: give a number of packets, or 0 for no limit", n.PcapMaxPackets, o.PcapMaxPackets)
	case o.PcapMaxBytes < 0:
		return fmt.Errorf("%s %d is negative: give a number of bytes, or 0 for no limit", n.PcapMaxBytes, o.PcapMaxBytes)
	case o.PcapBufferSize < 0:
		return fmt.Errorf("%s %d is negative: give a size in bytes, or 0 for the default", n.PcapBuffer, o.PcapBufferSize)
	case o.MemoryMaxBytes < 0:
		return fmt.Errorf("%s %d is negative: give a number of bytes, or 0 for no limit", n.MemoryMaxBytes, o.MemoryMaxBytes)
	}
	for _, p := range o.MemoryPIDs {
		if p <= 0 {
			return fmt.Errorf("%s %d is not a process id: give a pid as the target's process namespace numbers it", n.MemoryPID, p)
		}
	}
	if !o.Memory {
		for _, f := range []struct {
			set  bool
			name string
		}{
			{len(o.MemoryPIDs) > 0, n.MemoryPID}, {len(o.MemoryComms) > 0, n.MemoryComm},
			{o.MemorySkipFileBacked, n.MemorySkipFileBacked}, {o.MemoryMaxBytes != 0, n.MemoryMaxBytes},
		} {
			if f.set {
				return fmt.Errorf("%s needs %s", f.name, n.Memory)
			}
		}
	}
	if !o.Pcap {
		for _, f := range []struct {
			set  bool
			name string
		}{
			{o.PcapInterface != "", n.PcapInterface}, {o.PcapMaxPackets != 0, n.PcapMaxPackets},
			{o.PcapMaxBytes != 0, n.PcapMaxBytes}, {o.PcapBufferSize != 0, n.PcapBuffer},
		} {
			if f.set {
				return fmt.Errorf("%s needs %s DURATION (e.g. %s 30s)", f.name, n.Pcap, n.Pcap)
			}
		}
	}
	switch {
	case o.Pcap && o.PcapDuration == 0 && o.PcapMaxPackets == 0 && o.PcapMaxBytes == 0:
		return fmt.Errorf("%s 0 captures until a limit is reached: add %s or %s, or give a duration (e.g. %s 30s)", n.Pcap, n.PcapMaxPackets, n.PcapMaxBytes, n.Pcap)
	case o.ProcEnv && !o.Proc:
		return fmt.Errorf("%s needs %s", n.ProcEnv, n.Proc)
	case o.Pcap && o.PcapFormat != PcapNG && o.PcapFormat != Pcap:
		return fmt.Errorf("%s must be %q or %q, not %q", n.PcapFormat, PcapNG, Pcap, o.PcapFormat)
	}
	return nil
}

// Args returns the agent's command line for these options, starting with
// the "run" subcommand; flags at their default are left out.
func (o RunOptions) Args() []string {
	d := DefaultRunOptions()
	args := []string{"run", "--target-pid", strconv.Itoa(o.TargetPID)}
	if o.WaitStdin != d.WaitStdin {
		args = append(args, "--wait-stdin="+strconv.FormatBool(o.WaitStdin))
	}
	if o.Pcap {
		args = append(args, "--pcap", o.PcapDuration.String())
		if o.PcapInterface != "" {
			args = append(args, "--pcap-iface", o.PcapInterface)
		}
		if o.PcapMaxPackets != 0 {
			args = append(args, "--pcap-max-packets", strconv.FormatInt(o.PcapMaxPackets, 10))
		}
		if o.PcapMaxBytes != 0 {
			args = append(args, "--pcap-max-bytes", strconv.FormatInt(o.PcapMaxBytes, 10))
		}
		if o.PcapFormat != "" && o.PcapFormat != d.PcapFormat {
			args = append(args, "--pcap-format", string(o.PcapFormat))
		}
		if o.PcapBufferSize != 0 {
			args = append(args, "--pcap-buffer", strconv.FormatInt(o.PcapBufferSize, 10))
		}
	}
	if o.FS {
		args = append(args, "--fs")
	}
	if o.Proc {
		args = append(args, "--proc")
	}
	if o.ProcEnv {
		args = append(args, "--proc-env")
	}
	if o.Memory {
		args = append(args, "--memory")
		for _, p := range o.MemoryPIDs {
			args = append(args, "--memory-pid", strconv.Itoa(p))
		}
		for _, c := range o.MemoryComms {
			args = append(args, "--memory-comm", c)
		}
		if o.MemorySkipFileBacked {
			args = append(args, "--memory-skip-file-backed")
		}
		if o.MemoryMaxBytes != 0 {
			args = append(args, "--memory-max-bytes", strconv.FormatInt(o.MemoryMaxBytes, 10))
		}
	}
	return args
}

// String returns the command line as one line, for logs.
func (o RunOptions) String() string { return strings.Join(o.Args(), " ") }
