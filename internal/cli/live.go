package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/agent"
)

// LiveFlags says how a plugin words the live capture flags' help.
type LiveFlags struct {
	// Network is whose network namespace the packets are from, as the
	// help says it ("the container's", "the pod's").
	Network string
	// Target is whose processes and files the agent reads ("the
	// container's", "the target container's").
	Target string
	// By says how the agent runs, at the end of the help of the capture
	// flags ("by the forensic agent in a sidecar (recorded)").
	By string
	// Filesystem offers --filesystem (the agent's tar of the target's root).
	Filesystem bool
}

// BindLiveFlags binds the live capture flags both plugins offer to o,
// which it first sets to agent.DefaultRunOptions(): --pcap DURATION (which
// also switches packet capture on), --pcap-iface, --pcap-max-packets,
// --pcap-max-bytes, --filesystem when f offers it, --processes and
// --processes-env, and --memory with its --memory-* options. It returns
// the flags' names, for o.ValidateFlags.
func BindLiveFlags(fs *pflag.FlagSet, o *agent.RunOptions, f LiveFlags) agent.FlagNames {
	*o = agent.DefaultRunOptions()
	fs.Var(pcapDuration{o}, "pcap", fmt.Sprintf("capture %s network traffic for this long (e.g. 30s; 0 with --pcap-max-packets or --pcap-max-bytes: until a limit) into pcap/capture.pcapng, %s", f.Network, f.By))
	fs.StringVar(&o.PcapInterface, "pcap-iface", "", "capture only this interface of "+f.Network+" network namespace (default: every interface)")
	fs.Int64Var(&o.PcapMaxPackets, "pcap-max-packets", 0, "stop the packet capture after this many packets (0: no limit)")
	fs.Int64Var(&o.PcapMaxBytes, "pcap-max-bytes", 0, "stop the packet capture before the file would exceed this many bytes (0: no limit)")
	names := agent.FlagNames{Pcap: "--pcap", PcapInterface: "--pcap-iface", PcapMaxPackets: "--pcap-max-packets",
		PcapMaxBytes: "--pcap-max-bytes", Proc: "--processes", ProcEnv: "--processes-env"}
	if f.Filesystem {
		fs.BoolVar(&o.FS, "filesystem", false, "tar of "+f.Target+" root filesystem into fs/rootfs.tar (with fs/mounts.json, fs/report.json), "+f.By)
		names.FS = "--filesystem"
	}
	fs.BoolVar(&o.Proc, "processes", false, "snapshot of "+f.Target+" processes and sockets from /proc into proc/snapshot.json, "+f.By)
	fs.BoolVar(&o.ProcEnv, "processes-env", false, "with --processes, also record every process's environment (it often holds secrets)")
	fs.BoolVar(&o.Memory, "memory", false, "ELF core file of each of "+f.Target+" processes into memory/PID-NAME.core (open with gdb), with memory/PID-NAME.json; each process is stopped while its memory is read, "+f.By)
	fs.Var(agent.PIDsValue(&o.MemoryPIDs), "memory-pid", "with --memory, only this process id as the target sees it (repeatable)")
	fs.Var(agent.StringsValue(&o.MemoryComms), "memory-comm", "with --memory, only processes of this name (/proc/PID/comm; repeatable)")
	fs.BoolVar(&o.MemorySkipFileBacked, "memory-skip-file-backed", false, "with --memory, leave out unchanged read-only file mappings such as program code (listed in the .json; gdb reads them from the files)")
	fs.Int64Var(&o.MemoryMaxBytes, "memory-max-bytes", 0, "with --memory, stop the cores' memory data at this many bytes in all, the cores marked truncated (0: no limit)")
	names.Memory, names.MemoryPID, names.MemoryComm = "--memory", "--memory-pid", "--memory-comm"
	names.MemorySkipFileBacked, names.MemoryMaxBytes = "--memory-skip-file-backed", "--memory-max-bytes"
	return names
}

// pcapDuration is --pcap: a duration that also switches capture on. A
// negative duration is kept, for ValidateFlags to refuse with the fix.
type pcapDuration struct{ o *agent.RunOptions }

func (p pcapDuration) Type() string { return "duration" }

func (p pcapDuration) String() string {
	if p.o == nil || !p.o.Pcap {
		return ""
	}
	return p.o.PcapDuration.String()
}

func (p pcapDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 2m")
	}
	p.o.Pcap, p.o.PcapDuration = true, d
	return nil
}
