package nodesnap

import (
	"strings"
	"testing"
)

func TestKubeletFlagsAndConfig(t *testing.T) {
	cfg, ep := kubeletFlags("/usr/bin/kubelet\x00--config=/etc/k/kubelet.yaml\x00--v\x002\x00--container-runtime-endpoint\x00unix:///run/x.sock\x00")
	if cfg != "/etc/k/kubelet.yaml" || ep != "unix:///run/x.sock" {
		t.Errorf("flags: config %q endpoint %q", cfg, ep)
	}
	logs, ep := kubeletConfig(strings.NewReader("kind: KubeletConfiguration\n# podLogsDir: /no\nauthentication:\n  podLogsDir: /nested\npodLogsDir: \"/var/tmp/pod-logs\" # here\ncontainerRuntimeEndpoint: unix:///var/tmp/c.sock\n"))
	if logs != "/var/tmp/pod-logs" || ep != "unix:///var/tmp/c.sock" {
		t.Errorf("config: podLogsDir %q endpoint %q", logs, ep)
	}
}
