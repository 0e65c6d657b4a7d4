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
		{[]string{"run", "--fs", "--pcap-iface", "lo"}, "need --pcap"},
		{[]string{"run", "--fs", "--proc-env"}, "needs --proc"},
		{[]string{"run", "--pcap", "1s", "--pcap-format", "erf"}, "pcapng"},
		{[]string{"run", "--pcap", "1s", "--pcap-max-bytes", "-3"}, "negative"},
	} {
		_, err := parse(t, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
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
