package evidence

import (
	"os"
	"os/user"
	"runtime"
	"strconv"
	"time"
)

// Custody is the content of custody.json: who collected the evidence, when,
// where, with which tool, from which target, and what the collection did
// to the target.
type Custody struct {
	Schema   string `json:"schema"`
	Case     string `json:"case,omitempty"`
	Examiner string `json:"examiner,omitempty"`
	// OSUser is the account the tool ran as.
	OSUser OSUser `json:"os_user"`
	// Host is the name of the machine the tool ran on.
	Host string `json:"host"`
	Tool Tool   `json:"tool"`
	// CommandLine is the full command line, as given.
	CommandLine []string  `json:"command_line"`
	WorkingDir  string    `json:"working_dir,omitempty"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
	// Target identifies what the evidence was collected from.
	Target Target `json:"target"`
	// Engine identifies the Docker Engine or Kubernetes cluster asked.
	Engine Engine `json:"engine"`
	// Actions lists every change the collection made to the target
	// (pause, checkpoint, an added container), with times.
	Actions []Action `json:"actions"`
	// Notes are free-form remarks, e.g. a permission that was missing.
	Notes []string `json:"notes,omitempty"`
}

// OSUser is the operating-system account that ran the tool.
type OSUser struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
	GID  string `json:"gid"`
}

// Tool identifies the program that wrote the bundle.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Target identifies the container or pod the evidence comes from.
type Target struct {
	// Kind is e.g. "docker-container" or "kubernetes-pod".
	Kind         string            `json:"kind"`
	ID           string            `json:"id,omitempty"`
	Name         string            `json:"name,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Node         string            `json:"node,omitempty"`
	Image        string            `json:"image,omitempty"`
	ImageID      string            `json:"image_id,omitempty"`
	ImageDigests []string          `json:"image_digests,omitempty"`
	State        string            `json:"state,omitempty"`
	Extra        map[string]string `json:"extra,omitempty"`
}

// Engine identifies the container engine or cluster the tool talked to.
type Engine struct {
	// Kind is "docker" or "kubernetes".
	Kind       string            `json:"kind"`
	Host       string            `json:"host"`
	Context    string            `json:"context,omitempty"`
	Version    string            `json:"version,omitempty"`
	APIVersion string            `json:"api_version,omitempty"`
	Identity   string            `json:"identity,omitempty"`
	Extra      map[string]string `json:"extra,omitempty"`
}

// Action is one change made to the target during collection.
type Action struct {
	// What is a short verb phrase, e.g. "paused container".
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// NewCustody fills in what the process itself can tell: the OS user, the
// host, the command line, the working folder and the Go runtime. The caller
// adds tool version, case, examiner, target and engine.
func NewCustody(tool Tool, started time.Time) Custody {
	c := Custody{
		Schema:      Schema,
		Tool:        tool,
		CommandLine: append([]string(nil), os.Args...),
		Started:     started.UTC(),
		Actions:     []Action{},
	}
	c.Tool.GoVersion = runtime.Version()
	c.Tool.Platform = runtime.GOOS + "/" + runtime.GOARCH
	c.Host, _ = os.Hostname()
	c.WorkingDir, _ = os.Getwd()
	c.OSUser = OSUser{UID: strconv.Itoa(os.Getuid()), GID: strconv.Itoa(os.Getgid())}
	if u, err := user.Current(); err == nil {
		c.OSUser.Name = u.Username
	} else if name := os.Getenv("USER"); name != "" {
		c.OSUser.Name = name
	}
	return c
}
