//go:build linux

package nodesnap

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// findKubelet fills in the pod logs folder and CRI endpoint the request
// left empty, from the running kubelet: its command line and its config
// file (the agent runs in the host's process namespace).
func (s *snap) findKubelet() {
	if s.rep.PodLogsDir != "" && s.rep.CRIEndpoint != "" {
		return
	}
	procDir := filepath.Dir(s.procPath(1, ""))
	ents, err := os.ReadDir(procDir)
	if err != nil {
		s.rep.Errors = append(s.rep.Errors, fmt.Sprintf("looking for the kubelet: %v", err))
		return
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "kubelet" {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		src := "kubelet process " + e.Name()
		config, endpoint := kubeletFlags(string(cmdline))
		var logsDir string
		if config != "" {
			if !path.IsAbs(config) {
				// Relative to the kubelet's working folder.
				if cwd, err := os.Readlink(filepath.Join(procDir, e.Name(), "cwd")); err == nil {
					config = path.Join(cwd, config)
				}
			}
			f, err := os.Open(s.host(config))
			if err != nil {
				s.rep.Errors = append(s.rep.Errors, fmt.Sprintf("reading the kubelet's config %s: %v", config, err))
			} else {
				var cfgEndpoint string
				logsDir, cfgEndpoint = kubeletConfig(f)
				f.Close()
				if endpoint == "" {
					endpoint = cfgEndpoint
				}
			}
		}
		if s.rep.PodLogsDir == "" {
			s.rep.PodLogsDir, s.rep.PodLogsDirSource = logsDir, src+" config "+config
			if logsDir == "" {
				s.rep.PodLogsDir, s.rep.PodLogsDirSource = kubeletDefaultPodLogsDir, src+" (kubelet default: its config does not set podLogsDir)"
			}
		}
		if s.rep.CRIEndpoint == "" {
			s.rep.CRIEndpoint, s.rep.CRIEndpointSource = endpoint, src
			if endpoint == "" {
				s.rep.CRIEndpoint, s.rep.CRIEndpointSource = kubeletDefaultCRIEndpoint, src+" (kubelet default: not set)"
			}
		}
		return
	}
	s.rep.Errors = append(s.rep.Errors, "the request leaves the pod logs folder or the CRI endpoint empty, and no kubelet process was found in "+procDir)
}
