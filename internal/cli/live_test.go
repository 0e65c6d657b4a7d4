package cli

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/agent"
)

// TestBindLiveFlags: both plugins get the same flags, types and defaults
// (--filesystem only where offered); --pcap switches capture on, a
// negative duration is kept for ValidateFlags, which names the flags as
// bound.
func TestBindLiveFlags(t *testing.T) {
	for _, fsOffered := range []bool{false, true} {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		var o agent.RunOptions
		names := BindLiveFlags(fs, &o, LiveFlags{Network: "the pod's", Target: "the target container's", By: "by the agent", Filesystem: fsOffered})
		want := map[string]string{"pcap": "duration", "pcap-iface": "string", "pcap-max-packets": "int64", "pcap-max-bytes": "int64",
			"processes": "bool", "processes-env": "bool",
			"memory": "bool", "memory-pid": "pid", "memory-comm": "name", "memory-skip-file-backed": "bool", "memory-max-bytes": "int64"}
		if fsOffered {
			want["filesystem"] = "bool"
		}
		got := map[string]string{}
		fs.VisitAll(func(f *pflag.Flag) {
			got[f.Name] = f.Value.Type()
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				t.Errorf("--%s default %q", f.Name, f.DefValue)
			}
		})
		if len(got) != len(want) {
			t.Errorf("flags %v, want %v", got, want)
		}
		for n, typ := range want {
			if got[n] != typ {
				t.Errorf("--%s type %q, want %q", n, got[n], typ)
			}
		}
		if !reflect.DeepEqual(o, agent.DefaultRunOptions()) {
			t.Errorf("options start as %+v", o)
		}
		if err := fs.Parse([]string{"--pcap", "-2s", "--processes-env"}); err != nil {
			t.Fatal(err)
		}
		if !o.Pcap || o.PcapDuration != -2*time.Second {
			t.Errorf("--pcap -2s: %+v", o)
		}
		if err := o.ValidateFlags(names); err == nil || !strings.HasPrefix(err.Error(), "--pcap -2s is negative") {
			t.Errorf("ValidateFlags = %v", err)
		}
		o.PcapDuration = time.Second
		if err := o.ValidateFlags(names); err == nil || err.Error() != "--processes-env needs --processes" {
			t.Errorf("ValidateFlags = %v", err)
		}
		if err := fs.Parse([]string{"--memory-pid", "4", "--memory-pid", "9", "--memory-comm", "nginx"}); err != nil {
			t.Fatal(err)
		}
		o.Proc = true
		if err := o.ValidateFlags(names); err == nil || err.Error() != "--memory-pid needs --memory" {
			t.Errorf("ValidateFlags = %v", err)
		}
		if err := fs.Parse([]string{"--memory"}); err != nil || o.ValidateFlags(names) != nil || !reflect.DeepEqual(o.MemoryPIDs, []int{4, 9}) || !reflect.DeepEqual(o.MemoryComms, []string{"nginx"}) {
			t.Errorf("--memory --memory-pid 4 --memory-pid 9 --memory-comm nginx: %v, %+v", o.ValidateFlags(names), o)
		}
		if err := fs.Parse([]string{"--memory-pid", "-3"}); err == nil || !strings.Contains(err.Error(), "want a process id") {
			t.Errorf("--memory-pid -3: %v", err)
		}
		if err := fs.Parse([]string{"--pcap", "soon"}); err == nil || !strings.Contains(err.Error(), "want a duration such as 30s or 2m") {
			t.Errorf("--pcap soon: %v", err)
		}
	}
}
