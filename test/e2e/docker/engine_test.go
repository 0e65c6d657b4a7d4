//go:build e2e

package docker_e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// engineInfo is the Docker Engine the suite runs against: test/run runs
// the suite once per engine (Debian's docker.io 20.10 at the default socket
// and the modern engine of test/docker/engine up modern), and the tests
// assert each engine's own behaviour where the engines differ.
type engineInfo struct {
	// Name is FORENSIC_E2E_ENGINE, or, when that is unset, "legacy" for an
	// engine older than 28 and "modern" for 28 and newer.
	Name string
	// Version and APIVersion are what the engine reports.
	Version, APIVersion string
	// Major is the major number of Version.
	Major int
	// Host is the engine's address: DOCKER_HOST, or the default socket.
	Host string
	// ContainerdStore is true when the engine keeps images in containerd
	// (the containerd image store: OCI-layout docker save, snapshotters).
	ContainerdStore bool
}

// modern is true on the test/docker/engine modern engine: Docker 28 or
// newer, with the containerd image store on and CRIU 4.1.1 on its PATH.
func (e engineInfo) modern() bool { return e.Name == "modern" }

func (e engineInfo) String() string {
	store := "graph driver"
	if e.ContainerdStore {
		store = "containerd image store"
	}
	return fmt.Sprintf("%s (Docker %s, API %s, %s, at %s)", e.Name, e.Version, e.APIVersion, store, e.Host)
}

// engine is the engine under test, found by setup.
var engine engineInfo

// detectEngine asks the engine what it is and checks that a name given in
// FORENSIC_E2E_ENGINE fits it, so that no run is reported under the wrong
// engine.
func detectEngine() (engineInfo, error) {
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}").CombinedOutput()
	if err != nil {
		return engineInfo{}, fmt.Errorf("no Docker Engine answers (run test/docker/engine ensure, or up modern): %v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return engineInfo{}, fmt.Errorf("docker version printed %q", out)
	}
	e := engineInfo{Version: f[0], APIVersion: f[1], Host: os.Getenv("DOCKER_HOST")}
	if e.Host == "" {
		e.Host = "unix:///var/run/docker.sock"
	}
	major, _, _ := strings.Cut(e.Version, ".")
	if e.Major, err = strconv.Atoi(major); err != nil {
		return engineInfo{}, fmt.Errorf("engine version %q: %v", e.Version, err)
	}
	// The driver status names the snapshotter when containerd keeps the
	// images: [["driver-type" "io.containerd.snapshotter.v1"]].
	ds, err := exec.Command("docker", "info", "--format", "{{json .DriverStatus}}").CombinedOutput()
	if err != nil {
		return engineInfo{}, fmt.Errorf("docker info: %v: %s", err, ds)
	}
	e.ContainerdStore = strings.Contains(string(ds), "io.containerd.snapshotter")
	e.Name = os.Getenv("FORENSIC_E2E_ENGINE")
	switch {
	case e.Name == "" && e.Major >= 28:
		e.Name = "modern"
	case e.Name == "":
		e.Name = "legacy"
	case e.Name == "modern" && (e.Major < 28 || !e.ContainerdStore):
		return engineInfo{}, fmt.Errorf("FORENSIC_E2E_ENGINE=modern but the engine at %s is Docker %s (containerd image store %v): run test/docker/engine up modern and set DOCKER_HOST to what it prints", e.Host, e.Version, e.ContainerdStore)
	case e.Name == "legacy" && e.Major >= 28:
		return engineInfo{}, fmt.Errorf("FORENSIC_E2E_ENGINE=legacy but the engine at %s is Docker %s", e.Host, e.Version)
	case e.Name != "modern" && e.Name != "legacy":
		return engineInfo{}, fmt.Errorf("FORENSIC_E2E_ENGINE=%q: want legacy or modern", e.Name)
	}
	return e, nil
}
