//go:build linux

package nodesnap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/forensic-tools/forensic/shared/agent/fsnap"
	"github.com/forensic-tools/forensic/shared/agent/stream"
)

// criContainer writes the container's CRI status and its image's, and
// the OCI spec when the verbose info carries it. It also learns the
// container's init PID.
func (s *snap) criContainer(ctx context.Context, c *criClient, ct Container, cr *ContainerReport) {
	_, id, _ := SplitContainerID(ct.ContainerID)
	if c == nil {
		why := "the CRI endpoint is unknown: not in the request, and no kubelet process naming one was found"
		cr.ContainerStatus.Error, cr.ImageStatus.Error = why, why
		return
	}
	src := "cri ContainerStatus(verbose) at " + s.rep.CRIEndpoint
	resp, err := c.containerStatus(ctx, id)
	if err != nil {
		cr.ContainerStatus = Record{Source: src, Error: err.Error()}
		cr.ImageStatus.Error = "no container status to name the image"
		return
	}
	name := ContainerArtifact(ct.Name, "cri-container-status.json")
	cr.ContainerStatus = Record{Artifact: name, Source: src}
	if err := s.writeRecord(name, resp.GetStatus(), resp.GetInfo()); err != nil {
		cr.ContainerStatus.Error = err.Error()
	}
	vi := parseVerboseInfo(resp.GetInfo())
	if vi.PID > 0 {
		cr.PID, cr.PIDSource = vi.PID, "cri verbose info"
	}
	if len(vi.RuntimeSpec) > 0 {
		name := ContainerArtifact(ct.Name, "oci-spec.json")
		cr.OCISpec = Record{Artifact: name, Source: "runtimeSpec of the cri verbose info"}
		var buf bytes.Buffer
		err := json.Indent(&buf, vi.RuntimeSpec, "", "  ")
		if err == nil {
			buf.WriteByte('\n')
			err = s.writeBytes(name, buf.Bytes())
		}
		if err != nil {
			cr.OCISpec.Error = err.Error()
		}
	}

	image := resp.GetStatus().GetImage().GetImage()
	if image == "" {
		image = resp.GetStatus().GetImageRef()
	}
	if image == "" {
		cr.ImageStatus.Error = "the container status names no image"
		return
	}
	isrc := "cri ImageStatus(verbose) of " + image
	ir, err := c.imageStatus(ctx, image)
	if err != nil {
		cr.ImageStatus = Record{Source: isrc, Error: err.Error()}
		return
	}
	iname := ContainerArtifact(ct.Name, "cri-image-status.json")
	cr.ImageStatus = Record{Artifact: iname, Source: isrc}
	if err := s.writeRecord(iname, ir.GetImage(), ir.GetInfo()); err != nil {
		cr.ImageStatus.Error = err.Error()
	}
}

// criSandbox writes the pod's sandbox status.
func (s *snap) criSandbox(ctx context.Context, c *criClient) {
	rep := &s.rep.Sandbox
	if c == nil {
		rep.Error = "the CRI endpoint is unknown: not in the request, and no kubelet process naming one was found"
		return
	}
	id, err := c.sandboxID(ctx, s.cfg.Request.PodUID)
	if err != nil {
		rep.Error = err.Error()
		return
	}
	rep.Source = "cri PodSandboxStatus(verbose) of sandbox " + id
	r, err := c.sandboxStatus(ctx, id)
	if err != nil {
		rep.Error = err.Error()
		return
	}
	rep.Artifact = ArtifactSandboxStatus
	if err := s.writeRecord(ArtifactSandboxStatus, r.GetStatus(), r.GetInfo()); err != nil {
		rep.Error = err.Error()
	}
}

func (s *snap) writeRecord(name string, status protoMessage, info map[string]string) error {
	rec, err := newRecord(status, info)
	if err != nil {
		s.fail(name, err)
		return err
	}
	return s.writeJSON(name, rec)
}

// specFromBundle finds the OCI spec in the runtime's bundle when the
// verbose info had none: the bundle is the folder whose rootfs the
// runtime shim mounted (found by the layer's upperdir in the shim's mount
// table), else the usual containerd and CRI-O state folders.
func (s *snap) specFromBundle(ctx context.Context, ct Container, cr *ContainerReport) {
	if cr.OCISpec.Artifact != "" {
		return
	}
	_, id, _ := SplitContainerID(ct.ContainerID)
	var cands []string
	if cr.PID > 0 && cr.Layer.UpperDir != "" {
		if b := s.bundleFromShim(cr.PID, cr.Layer.UpperDir); b != "" {
			cands = append(cands, path.Join(b, "config.json"))
		}
	}
	if p, ok := strings.CutPrefix(s.rep.CRIEndpoint, "unix://"); ok {
		cands = append(cands, path.Join(path.Dir(p), "io.containerd.runtime.v2.task/k8s.io", id, "config.json"))
	}
	cands = append(cands,
		path.Join("/run/containerd/io.containerd.runtime.v2.task/k8s.io", id, "config.json"),
		path.Join("/run/containers/storage/overlay-containers", id, "userdata/config.json"))
	for _, p := range cands {
		if _, err := os.Stat(s.host(p)); err != nil {
			continue
		}
		name := ContainerArtifact(ct.Name, "oci-spec.json")
		cr.OCISpec = Record{Artifact: name, Source: "runtime bundle " + p}
		if _, err := s.copyFile(ctx, name, p, jsonMeta()); err != nil {
			cr.OCISpec.Error = err.Error()
		}
		return
	}
	cr.OCISpec.Error = "no runtimeSpec in the cri verbose info and no bundle config.json at " + strings.Join(cands, ", ")
}

// bundleFromShim finds, in the mount table of the container's parent (the
// runtime shim), the overlay with the same upperdir mounted at
// <bundle>/rootfs.
func (s *snap) bundleFromShim(pid int, upper string) string {
	ppid, err := parentPID(s, pid)
	if err != nil {
		return ""
	}
	for _, p := range []int{ppid, 1} {
		ms, err := s.mountInfo(p)
		if err != nil {
			continue
		}
		for _, m := range ms {
			if m.FSType == "overlay" && overlayOptions(m.SuperOptions).upper == upper && path.Base(m.MountPoint) == "rootfs" {
				return path.Dir(m.MountPoint)
			}
		}
	}
	return ""
}

// mountInfo reads /proc/<pid>/mountinfo.
func (s *snap) mountInfo(pid int) ([]fsnap.Mount, error) {
	p := s.procPath(pid, "mountinfo")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	defer f.Close()
	ms, err := fsnap.ParseMountInfo(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(ms) == 0 {
		return nil, errors.New("reading " + p + ": empty")
	}
	return ms, nil
}

func jsonMeta() stream.Meta { return stream.Meta{"content_type": "application/json"} }
