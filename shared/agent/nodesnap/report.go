package nodesnap

import "time"

// Report is node/report.json: per container what was found and read,
// what could not be found and why, and every error.
type Report struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	PodUID    string    `json:"pod_uid"`
	HostRoot  string    `json:"host_root"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	// Stopped is true when the session was stopped before the end.
	Stopped bool `json:"stopped,omitempty"`
	// PodLogsDir and CRIEndpoint are those used, and where they came from
	// ("request" or "kubelet process <pid>").
	PodLogsDir        string             `json:"pod_logs_dir"`
	PodLogsDirSource  string             `json:"pod_logs_dir_source,omitempty"`
	CRIEndpoint       string             `json:"cri_endpoint"`
	CRIEndpointSource string             `json:"cri_endpoint_source,omitempty"`
	Containers        []ContainerReport  `json:"containers"`
	Sandbox           Record             `json:"pod_sandbox_status"`
	Journal           JournalReport      `json:"journal"`
	Checkpoints       []CheckpointReport `json:"checkpoints,omitempty"`
	CRIULogs          []CRIULogReport    `json:"criu_logs,omitempty"`
	// Errors are the problems not tied to one artifact.
	Errors []string `json:"errors,omitempty"`
}

// Record is one artifact that was or could not be written.
type Record struct {
	Artifact string `json:"artifact,omitempty"`
	// Source says where it came from (a host path, a CRI call).
	Source string `json:"source,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ContainerReport is what was found for one container.
type ContainerReport struct {
	Name        string `json:"name"`
	ContainerID string `json:"container_id"`
	// PID is the container's init process on the host, and PIDSource how
	// it was found ("cri verbose info" or "cgroup in /proc").
	PID             int         `json:"pid,omitempty"`
	PIDSource       string      `json:"pid_source,omitempty"`
	Logs            LogsReport  `json:"logs"`
	Layer           LayerReport `json:"layer"`
	ContainerStatus Record      `json:"cri_container_status"`
	ImageStatus     Record      `json:"cri_image_status"`
	OCISpec         Record      `json:"oci_spec"`
}

// LogsReport is a container's log folder as collected.
type LogsReport struct {
	Dir   string          `json:"dir"`
	Files []LogFileReport `json:"files"`
	// Rounds is how many read-and-relist rounds it took until a listing
	// showed no new file.
	Rounds int `json:"rounds"`
	// Skipped are files left out, with the reason.
	Skipped []string `json:"skipped,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Method says how rotation during the read is handled.
	Method string `json:"method,omitempty"`
}

// LogFileReport is one log file (one inode).
type LogFileReport struct {
	Artifact string `json:"artifact"`
	// HostPath is the file's path when it was opened; RenamedTo the other
	// names it had later (the kubelet renames the current file when it
	// rotates it).
	HostPath  string    `json:"host_path"`
	RenamedTo []string  `json:"renamed_to,omitempty"`
	Inode     uint64    `json:"inode"`
	Bytes     int64     `json:"bytes"`
	ModTime   time.Time `json:"mtime"`
	SHA256    string    `json:"sha256"`
	// Gzip is true for a compressed file; UncompressedSHA256 is the
	// digest of its content.
	Gzip               bool   `json:"gzip,omitempty"`
	UncompressedSHA256 string `json:"uncompressed_sha256,omitempty"`
	// Primary files hold every collected line exactly once. A compressed
	// file whose content equals an uncompressed one also collected is not
	// primary: CompressedFormOf names that file's artifact.
	Primary          bool   `json:"primary"`
	CompressedFormOf string `json:"compressed_form_of,omitempty"`
	Error            string `json:"error,omitempty"`
}

// LayerReport is a container's writable layer.
type LayerReport struct {
	Found bool `json:"found"`
	// Reason says why it was not found.
	Reason      string   `json:"reason,omitempty"`
	MountInfo   string   `json:"mountinfo,omitempty"`
	FSType      string   `json:"fs_type,omitempty"`
	UpperDir    string   `json:"upperdir,omitempty"`
	WorkDir     string   `json:"workdir,omitempty"`
	LowerDirs   []string `json:"lowerdirs,omitempty"`
	Artifact    string   `json:"artifact,omitempty"`
	Diff        string   `json:"diff_artifact,omitempty"`
	Entries     int      `json:"entries,omitempty"`
	Bytes       int64    `json:"bytes,omitempty"`
	Added       int      `json:"added,omitempty"`
	Changed     int      `json:"changed,omitempty"`
	Deleted     int      `json:"deleted,omitempty"`
	EntryErrors []string `json:"entry_errors,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// JournalReport is the node's journal files.
type JournalReport struct {
	Dirs  []string            `json:"dirs"`
	Since time.Time           `json:"since"`
	Files []JournalFileReport `json:"files,omitempty"`
	// None says why no file was collected.
	None string `json:"none,omitempty"`
	// Skipped are journal files outside since..now, with their range.
	Skipped []string `json:"skipped,omitempty"`
	Errors  []string `json:"errors,omitempty"`
}

// JournalFileReport is one journal file collected.
type JournalFileReport struct {
	Artifact string `json:"artifact"`
	HostPath string `json:"host_path"`
	// Head and Tail are the realtime range the header declares; zero when
	// the file was chosen by its modification time.
	Head   time.Time `json:"head,omitempty"`
	Tail   time.Time `json:"tail,omitempty"`
	Online bool      `json:"online,omitempty"`
	Reason string    `json:"reason"`
	Bytes  int64     `json:"bytes"`
	Error  string    `json:"error,omitempty"`
}

// CheckpointReport is one checkpoint archive.
type CheckpointReport struct {
	Container string `json:"container"`
	HostPath  string `json:"host_path"`
	Artifact  string `json:"artifact,omitempty"`
	Bytes     int64  `json:"bytes"`
	// DeleteRequested mirrors the request; Deleted says whether the file
	// is gone from the node.
	DeleteRequested bool   `json:"delete_requested"`
	Deleted         bool   `json:"deleted"`
	Error           string `json:"error,omitempty"`
}

// CRIULogReport is CRIU's log of a failed checkpoint.
type CRIULogReport struct {
	Container string `json:"container"`
	HostPath  string `json:"host_path"`
	Artifact  string `json:"artifact,omitempty"`
	Bytes     int64  `json:"bytes"`
	// ErrorLines are the log's "Error (" lines (at most 50).
	ErrorLines []string `json:"error_lines,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func newReport(cfg Config) *Report {
	r := cfg.Request
	rep := &Report{
		Namespace: r.Namespace, Pod: r.Pod, PodUID: r.PodUID, HostRoot: cfg.HostRoot,
		Started:    time.Now().UTC(),
		PodLogsDir: r.PodLogsDir, CRIEndpoint: r.CRIEndpoint,
		Containers: make([]ContainerReport, len(r.Containers)),
		Journal:    JournalReport{Dirs: r.JournalDirs, Since: r.Since},
	}
	if rep.PodLogsDir != "" {
		rep.PodLogsDirSource = "request"
	}
	if rep.CRIEndpoint != "" {
		rep.CRIEndpointSource = "request"
	}
	for i, c := range r.Containers {
		rep.Containers[i] = ContainerReport{Name: c.Name, ContainerID: c.ContainerID}
	}
	return rep
}
