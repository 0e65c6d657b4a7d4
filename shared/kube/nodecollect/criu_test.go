package nodecollect

import "testing"

// TestCRIULog: the log's path is found in the kubelet's error as
// containerd words it, and only CRIU's Error lines are kept from the log.
func TestCRIULog(t *testing.T) {
	kubelet := `checkpointing of shop/web/main failed (rpc error: code = Unknown desc = checkpointing container "6d1f" failed: /usr/sbin/runc did not terminate successfully: exit status 1: criu failed: type NOTIFY errno 0 path= /var/lib/containerd/state/io.containerd.runtime.v2.task/k8s.io/6d1f/criu-dump.log)`
	m := criuLogPath.FindStringSubmatch(kubelet)
	if m == nil || m[1] != "/var/lib/containerd/state/io.containerd.runtime.v2.task/k8s.io/6d1f/criu-dump.log" {
		t.Errorf("log path = %q", m)
	}
	log := "(00.000001) Version: 4.1.1\n(00.081603) Error (criu/sk-inet.c:130): inet: Unsupported proto 262 for socket 131bf5\n(00.081610) Warn  (criu/x.c:1): not this\n(00.147818) Error (criu/cr-dump.c:2111): Dumping FAILED.\n"
	want := "(00.081603) Error (criu/sk-inet.c:130): inet: Unsupported proto 262 for socket 131bf5 | (00.147818) Error (criu/cr-dump.c:2111): Dumping FAILED."
	if got := criuErrors(log); got != want {
		t.Errorf("criuErrors = %q, want %q", got, want)
	}
}
