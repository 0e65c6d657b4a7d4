// Package docker collects evidence from a Docker Engine: a container's
// inspect, filesystem export, diff, logs, processes, stats, image, networks
// and volumes, and optionally a pause around the export, the saved image
// and a CRIU checkpoint. Everything goes through the Engine API with
// github.com/moby/moby/client; nothing runs inside the target.
package docker
