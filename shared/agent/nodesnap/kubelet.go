package nodesnap

import (
	"bufio"
	"io"
	"strings"
)

// Kubelet defaults for the two settings node evidence needs, used only
// when a running kubelet's configuration does not set them.
const (
	kubeletDefaultPodLogsDir  = "/var/log/pods"
	kubeletDefaultCRIEndpoint = "unix:///run/containerd/containerd.sock"
)

// kubeletFlags reads a kubelet command line (NUL-separated, as in
// /proc/<pid>/cmdline): its --config file and --container-runtime-endpoint.
func kubeletFlags(cmdline string) (config, endpoint string) {
	args := strings.Split(strings.TrimRight(cmdline, "\x00"), "\x00")
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		k, v, hasV := strings.Cut(a, "=")
		if !hasV && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			v = args[i+1]
		}
		switch strings.TrimPrefix(k, "-") {
		case "config":
			config = v
		case "container-runtime-endpoint":
			endpoint = v
		}
	}
	return config, endpoint
}

// kubeletConfig reads the two top-level keys node evidence needs from a
// KubeletConfiguration YAML file without a YAML parser: podLogsDir and
// containerRuntimeEndpoint, as plain or quoted scalars.
func kubeletConfig(r io.Reader) (podLogsDir, endpoint string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if i := strings.Index(v, " #"); i >= 0 {
			v = v[:i]
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "podLogsDir":
			podLogsDir = v
		case "containerRuntimeEndpoint":
			endpoint = v
		}
	}
	return podLogsDir, endpoint
}
