package agent

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args []string) (RunOptions, error) {
	t.Helper()
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("args %q do not start with run", args)
	}
	o := DefaultRunOptions()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.BindFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func TestArgsRoundTrip(t *testing.T) {
	for _, o := range []RunOptions{
		{TargetPID: 1, WaitStdin: true, PcapFormat: PcapNG, FS: true},
		{TargetPID: 42, WaitStdin: false, PcapFormat: Pcap, Pcap: true, PcapDuration: 90 * time.Second,
			PcapInterface: "eth0", PcapMaxPackets: 10, PcapMaxBytes: 1 << 20, PcapBufferSize: 4 << 20},
		{TargetPID: 7, WaitStdin: true, PcapFormat: PcapNG, Pcap: true, PcapMaxPackets: 5, Proc: true, ProcEnv: true},
		{TargetPID: 1, WaitStdin: true, PcapFormat: PcapNG, Memory: true},
		{TargetPID: 1, WaitStdin: true, PcapFormat: PcapNG, Memory: true, MemoryPIDs: []int{1, 7}, MemoryComms: []string{"nginx", "my app"},
			MemorySkipFileBacked: true, MemoryMaxBytes: 1 << 30},
	} {
		got, err := parse(t, o.Args())
		if err != nil {
			t.Fatalf("%v: %v", o.Args(), err)
		}
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", o.Args(), got, o)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "nothing to capture"},
		{[]string{"run", "--fs", "--target-pid", "0"}, "--target-pid"},
		{[]string{"run", "--pcap", "0"}, "add --pcap-max-packets"},
		{[]string{"run", "--pcap", "-1s"}, "negative"},
		{[]string{"run", "--pcap", "soon"}, "duration"},
		{[]string{"run", "--fs", "--pcap-iface", "lo"}, "--pcap-iface needs --pcap DURATION"},
		{[]string{"run", "--fs", "--pcap-max-packets", "5"}, "--pcap-max-packets needs --pcap DURATION"},
		{[]string{"run", "--pcap", "1s", "--pcap-max-packets", "-5"}, "--pcap-max-packets -5 is negative"},
		{[]string{"run", "--pcap", "1s", "--pcap-buffer", "-1"}, "--pcap-buffer -1 is negative"},
		{[]string{"run", "--fs", "--proc-env"}, "needs --proc"},
		{[]string{"run", "--pcap", "1s", "--pcap-format", "erf"}, "pcapng"},
		{[]string{"run", "--pcap", "1s", "--pcap-max-bytes", "-3"}, "negative"},
		{[]string{"run", "--fs", "--memory-pid", "3"}, "--memory-pid needs --memory"},
		{[]string{"run", "--fs", "--memory-comm", "sh"}, "--memory-comm needs --memory"},
		{[]string{"run", "--fs", "--memory-skip-file-backed"}, "--memory-skip-file-backed needs --memory"},
		{[]string{"run", "--memory", "--memory-max-bytes", "-1"}, "--memory-max-bytes -1 is negative"},
		{[]string{"run", "--memory", "--memory-pid", "0"}, "want a process id"},
		{[]string{"run", "--memory", "--memory-pid", "x"}, "want a process id"},
	} {
		_, err := parse(t, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// TestValidateNegativeDuration: a duration no flag parser stopped, in
// options a program built, is refused too.
func TestValidateNegativeDuration(t *testing.T) {
	o := RunOptions{TargetPID: 1, Pcap: true, PcapDuration: -time.Second, PcapMaxPackets: 5, PcapFormat: PcapNG}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--pcap -1s is negative") {
		t.Errorf("Validate() = %v, want the negative --pcap refused", err)
	}
}

// TestValidateFlagNames: the plugins check the same rules before anything
// runs, each error naming the flag as the plugin spells it and saying what
// to do, also for values no flag parser stops (a negative duration).
func TestValidateFlagNames(t *testing.T) {
	plugin := FlagNames{Pcap: "--pcap", PcapInterface: "--pcap-iface", PcapMaxPackets: "--pcap-max-packets",
		PcapMaxBytes: "--pcap-max-bytes", Proc: "--processes", ProcEnv: "--processes-env"}
	for _, tc := range []struct {
		name string
		o    RunOptions
		want string // "" for no error
	}{
		{"nothing asked", RunOptions{}, ""},
		{"pcap", RunOptions{Pcap: true, PcapDuration: time.Second, PcapFormat: PcapNG}, ""},
		{"pcap 0 with a limit", RunOptions{Pcap: true, PcapMaxBytes: 10, PcapFormat: PcapNG}, ""},
		{"processes", RunOptions{Proc: true, ProcEnv: true}, ""},
		{"negative duration", RunOptions{Pcap: true, PcapDuration: -time.Second, PcapMaxPackets: 5, PcapFormat: PcapNG},
			"--pcap -1s is negative: give how long to capture (e.g. --pcap 30s)"},
		{"negative packets", RunOptions{Pcap: true, PcapDuration: time.Second, PcapMaxPackets: -5, PcapFormat: PcapNG},
			"--pcap-max-packets -5 is negative: give a number of packets, or 0 for no limit"},
		{"negative bytes", RunOptions{Pcap: true, PcapDuration: time.Second, PcapMaxBytes: -1, PcapFormat: PcapNG},
			"--pcap-max-bytes -1 is negative: give a number of bytes, or 0 for no limit"},
		{"iface without pcap", RunOptions{PcapInterface: "eth0"}, "--pcap-iface needs --pcap DURATION (e.g. --pcap 30s)"},
		{"max packets without pcap", RunOptions{PcapMaxPackets: 3}, "--pcap-max-packets needs --pcap DURATION (e.g. --pcap 30s)"},
		{"max bytes without pcap", RunOptions{Proc: true, PcapMaxBytes: 3}, "--pcap-max-bytes needs --pcap DURATION (e.g. --pcap 30s)"},
		{"pcap 0 without a limit", RunOptions{Pcap: true, PcapFormat: PcapNG},
			"--pcap 0 captures until a limit is reached: add --pcap-max-packets or --pcap-max-bytes, or give a duration (e.g. --pcap 30s)"},
		{"env without processes", RunOptions{ProcEnv: true}, "--processes-env needs --processes"},
		{"memory", RunOptions{Memory: true, MemoryPIDs: []int{4}, MemoryComms: []string{"sh"}, MemorySkipFileBacked: true, MemoryMaxBytes: 9}, ""},
		{"memory pid without memory", RunOptions{MemoryPIDs: []int{4}}, "--memory-pid needs --memory"},
		{"memory limit without memory", RunOptions{MemoryMaxBytes: 4}, "--memory-max-bytes needs --memory"},
		{"negative memory limit", RunOptions{Memory: true, MemoryMaxBytes: -4}, "--memory-max-bytes -4 is negative: give a number of bytes, or 0 for no limit"},
		{"zero pid", RunOptions{Memory: true, MemoryPIDs: []int{0}}, "--memory-pid 0 is not a process id: give a pid as the target's process namespace numbers it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.ValidateFlags(plugin)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("ValidateFlags() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMemoryArtifacts: a process name becomes a safe artifact name.
func TestMemoryArtifacts(t *testing.T) {
	for _, tc := range []struct {
		pid        int
		comm, want string
	}{
		{1, "nginx", "memory/1-nginx"},
		{42, "kworker/0:1 x", "memory/42-kworker_0_1_x"},
		{7, "", "memory/7-_"},
		{7, "..", "memory/7-_.."},
	} {
		core, rep := MemoryArtifacts(tc.pid, tc.comm)
		if core != tc.want+".core" || rep != tc.want+".json" {
			t.Errorf("MemoryArtifacts(%d, %q) = %q, %q; want %s.core, .json", tc.pid, tc.comm, core, rep, tc.want)
		}
	}
}

func TestImageTag(t *testing.T) {
	for in, want := range map[string]string{
		"":             "dev",
		"dev":          "dev",
		"v0.1.0":       "v0.1.0",
		"v1.2.3+dirty": "v1.2.3-dirty",
		"-x":           "_x",
		"a/b c":        "a-b-c",
	} {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
	if got := DefaultImage(); got != "forensic/agent:dev" {
		t.Errorf("DefaultImage() = %q in a test build", got)
	}
}
