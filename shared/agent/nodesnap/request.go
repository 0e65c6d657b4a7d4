package nodesnap

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Request is what `forensic-agent node --request` reads: one pod and what
// to collect for it. Every path is a path on the host, not under the host
// root.
type Request struct {
	Namespace  string      `json:"namespace"`
	Pod        string      `json:"pod"`
	PodUID     string      `json:"pod_uid"`
	Containers []Container `json:"containers"`
	// PodLogsDir is the kubelet's podLogsDir; empty: the agent looks for
	// the kubelet's configuration itself.
	PodLogsDir string `json:"pod_logs_dir,omitempty"`
	// CRIEndpoint is the runtime's CRI socket as the kubelet names it
	// (unix:///path); empty: the agent looks for the kubelet's.
	CRIEndpoint string `json:"cri_endpoint,omitempty"`
	// JournalDirs are searched for journald files.
	JournalDirs []string `json:"journal_dirs,omitempty"`
	// Since is the start of the pod's lifetime: journal files that end
	// before it are left out.
	Since       time.Time    `json:"since"`
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
	// CRIULogs are CRIU's logs of checkpoints that failed, as the kube
	// side read their paths from the kubelet's error.
	CRIULogs []CRIULog `json:"criu_logs,omitempty"`
}

// Container is one selected container of the pod.
type Container struct {
	Name string `json:"name"`
	// ContainerID is as the pod status gives it: <runtime>://<id>.
	ContainerID string `json:"container_id"`
}

// Checkpoint is an archive the kubelet wrote for a container.
type Checkpoint struct {
	Container string `json:"container"`
	Path      string `json:"path"`
	// Delete removes the archive from the node once it was streamed whole.
	Delete bool `json:"delete"`
}

// CRIULog is CRIU's log of a failed checkpoint, on the node. It is
// streamed read-only and never deleted.
type CRIULog struct {
	Container string `json:"container"`
	Path      string `json:"path"`
}

// ParseRequest decodes and validates a request given as JSON. Unknown
// fields are ignored, so that either side of the contract can add one.
func ParseRequest(s string) (Request, error) {
	var r Request
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, fmt.Errorf("decoding the request: %w", err)
	}
	return r, r.Validate()
}

// Validate checks that the request names a pod, containers with IDs, and
// only absolute host paths.
func (r Request) Validate() error {
	var errs []error
	if r.Namespace == "" || r.Pod == "" || r.PodUID == "" {
		errs = append(errs, errors.New("the request needs namespace, pod and pod_uid"))
	}
	for _, c := range r.Containers {
		if !validName(c.Name) {
			errs = append(errs, fmt.Errorf("container name %q is not a plain name", c.Name))
		}
		if _, _, err := SplitContainerID(c.ContainerID); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
		}
	}
	paths := append([]string{r.PodLogsDir}, r.JournalDirs...)
	for _, c := range r.Checkpoints {
		if !validName(c.Container) {
			errs = append(errs, fmt.Errorf("checkpoint container name %q is not a plain name", c.Container))
		}
		if c.Path == "" {
			errs = append(errs, fmt.Errorf("checkpoint of %s has no path", c.Container))
		}
		paths = append(paths, c.Path)
	}
	for _, c := range r.CRIULogs {
		if !validName(c.Container) || c.Path == "" {
			errs = append(errs, fmt.Errorf("criu log of %q: a plain container name and a path are needed", c.Container))
		}
		paths = append(paths, c.Path)
	}
	for _, p := range paths {
		if p != "" && !path.IsAbs(p) {
			errs = append(errs, fmt.Errorf("host path %q is not absolute", p))
		}
	}
	if r.CRIEndpoint != "" && !strings.HasPrefix(r.CRIEndpoint, "unix:///") {
		errs = append(errs, fmt.Errorf("cri_endpoint %q is not unix:///PATH", r.CRIEndpoint))
	}
	return errors.Join(errs...)
}

// validName accepts a name that can be one path element of an artifact.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\") && len(s) <= 253
}

// SplitContainerID splits "containerd://<id>" into runtime and ID.
func SplitContainerID(s string) (runtime, id string, err error) {
	runtime, id, ok := strings.Cut(s, "://")
	if !ok || runtime == "" || id == "" || strings.ContainsAny(id, "/ ") {
		return "", "", fmt.Errorf("container ID %q is not <runtime>://<id>", s)
	}
	return runtime, id, nil
}

// Artifact names in the stream; the kube side keeps them in the pod's
// bundle.
const (
	// ArtifactReport is written last.
	ArtifactReport = "node/report.json"
	// ArtifactSandboxStatus is the CRI PodSandboxStatus (verbose).
	ArtifactSandboxStatus = "node/cri-pod-sandbox-status.json"
)

// ContainerArtifact names a container's artifact: logs/<file>,
// layer.tar, diff.json, cri-container-status.json, cri-image-status.json
// or oci-spec.json.
func ContainerArtifact(container, name string) string {
	return "node/" + container + "/" + name
}

// JournalArtifact names a journal file by its host path.
func JournalArtifact(hostPath string) string {
	return "node/journal/" + strings.TrimPrefix(path.Clean(hostPath), "/")
}

// CheckpointArtifact names a container's checkpoint archive.
func CheckpointArtifact(container string) string {
	return "checkpoint/" + container + ".tar"
}

// CRIULogArtifact names CRIU's log of a container's failed checkpoint.
func CRIULogArtifact(container string) string {
	return "checkpoint/" + container + ".criu-dump.log"
}
