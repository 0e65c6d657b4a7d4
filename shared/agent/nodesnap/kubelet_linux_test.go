//go:build linux

package nodesnap

import (
	"testing"
)

// TestKubeletDiscovery: a request without the pod logs folder and CRI
// endpoint gets them from the kubelet process's command line and config
// file, and the report says where they came from.
func TestKubeletDiscovery(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "/proc/1/comm", []byte("init\n"))
	writeFile(t, root, "/proc/812/comm", []byte("kubelet\n"))
	writeFile(t, root, "/proc/812/cmdline", []byte("/usr/bin/kubelet\x00--config\x00/etc/kubernetes/kubelet.yaml\x00"))
	writeFile(t, root, "/etc/kubernetes/kubelet.yaml", []byte("podLogsDir: /srv/pod-logs\ncontainerRuntimeEndpoint: unix:///run/ctr.sock\n"))
	req := testRequest()
	req.PodLogsDir = ""
	req.Containers = req.Containers[:1]
	writeFile(t, root, "/srv/pod-logs/"+testNS+"_"+testPod+"_"+testUID+"/app/0.log", []byte("2026-12-06T20:00:00Z stdout F line 0000001\n"))
	r := runSnap(t, Config{Request: req, HostRoot: root})
	if r.rep.PodLogsDir != "/srv/pod-logs" || r.rep.PodLogsDirSource != "kubelet process 812 config /etc/kubernetes/kubelet.yaml" ||
		r.rep.CRIEndpoint != "unix:///run/ctr.sock" || r.rep.CRIEndpointSource != "kubelet process 812" {
		t.Errorf("report: logs %q (%s), endpoint %q (%s)", r.rep.PodLogsDir, r.rep.PodLogsDirSource, r.rep.CRIEndpoint, r.rep.CRIEndpointSource)
	}
	if got := string(r.read(t, "node/app/logs/0.log")); got != "2026-12-06T20:00:00Z stdout F line 0000001\n" {
		t.Errorf("0.log %q", got)
	}
}

func TestContainsID(t *testing.T) {
	for _, tc := range []struct {
		cgroup string
		want   bool
	}{
		{"0::/kubepods/pod1/abc12\n", true},
		{"0::/kubepods/pod1/cri-containerd-abc12.scope\n", true},
		{"0::/kubepods/pod1/abc123\n", false},
		{"0::/kubepods/pod1/fabc12\n", false},
		{"0::/kubepods/pod1/abc123/x/abc12", true},
	} {
		if got := containsID([]byte(tc.cgroup), "abc12"); got != tc.want {
			t.Errorf("containsID(%q) = %v, want %v", tc.cgroup, got, tc.want)
		}
	}
}
