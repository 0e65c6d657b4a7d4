package imagetar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Options describe the image.
type Options struct {
	// Name is the image reference, such as "forensic/agent:v0.1.0".
	Name string
	// Path is where the binary goes in the image and the entrypoint, such
	// as "/forensic-agent".
	Path string
	// Arch is the GOARCH of the binary; empty means runtime.GOARCH.
	Arch string
	// Created is the image's creation time, also the file's modification
	// time; zero means the Unix epoch, for reproducible images.
	Created time.Time
	// Labels are the image's labels.
	Labels map[string]string
	// Files are more files for the layer, such as the interpreter and the
	// shared libraries of a dynamically linked binary; their parent folders
	// are added. Empty for a static binary, whose layer holds it alone.
	Files []File
	// Env is the image's environment, KEY=value; empty means none.
	Env []string
}

// File is one more regular file of the layer.
type File struct {
	// Path is absolute, such as "/lib64/ld-linux-x86-64.so.2".
	Path string
	// Data is the file's content.
	Data []byte
	// Mode is the file's permission bits; zero means 0644.
	Mode int64
}

// Result names what was written.
type Result struct {
	// ManifestDigest is the digest of the OCI manifest, "sha256:...".
	ManifestDigest string
	// ConfigDigest is the image ID as Docker shows it.
	ConfigDigest string
	// LayerDigest is the digest of the single layer (also its diff ID).
	LayerDigest string
}

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Write writes the image tarball of binary (size bytes) to w.
func Write(w io.Writer, binary io.Reader, size int64, o Options) (Result, error) {
	repo, tag, err := splitName(o.Name)
	if err != nil {
		return Result{}, err
	}
	if !strings.HasPrefix(o.Path, "/") || len(o.Path) < 2 {
		return Result{}, fmt.Errorf("binary path %q in the image must be absolute", o.Path)
	}
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	o.Created = o.Created.UTC()

	// The layer, in one buffer sized for it up front: growing it by
	// doubling would hold up to twice the binary (a plugin's own
	// executable is tens of MiB). make, not bytes.Buffer.Grow: Grow goes
	// through append(nil, make(...)...), which a race-detector build
	// compiles into two allocations of the whole size.
	layerSize := size + 4<<10
	for _, f := range o.Files {
		layerSize += int64(len(f.Data)) + 4<<10
	}
	layer := bytes.NewBuffer(make([]byte, 0, layerSize+2<<10))
	lt := tar.NewWriter(layer)
	if err := lt.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: strings.TrimPrefix(o.Path, "/"), Mode: 0o755,
		Size: size, ModTime: o.Created, Format: tar.FormatPAX,
	}); err != nil {
		return Result{}, fmt.Errorf("writing image layer: %w", err)
	}
	if n, err := io.Copy(lt, binary); err != nil || n != size {
		if err == nil {
			err = fmt.Errorf("binary has %d bytes, not %d", n, size)
		}
		return Result{}, fmt.Errorf("writing image layer: %w", err)
	}
	if err := writeFiles(lt, o.Path, o.Files, o.Created); err != nil {
		return Result{}, fmt.Errorf("writing image layer: %w", err)
	}
	if err := lt.Close(); err != nil {
		return Result{}, fmt.Errorf("writing image layer: %w", err)
	}
	layerDigest := digest(layer.Bytes())

	// The config: Docker's image ID is its digest.
	runConfig := map[string]any{
		"Entrypoint": []string{o.Path},
		"WorkingDir": "/",
		"Labels":     o.Labels,
	}
	if len(o.Env) > 0 {
		runConfig["Env"] = o.Env
	}
	config, err := json.Marshal(map[string]any{
		"created":      o.Created,
		"architecture": o.Arch,
		"os":           "linux",
		"config":       runConfig,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history": []map[string]any{{
			"created":    o.Created,
			"created_by": "forensic-agent image: the static agent binary on an empty base",
		}},
	})
	if err != nil {
		return Result{}, fmt.Errorf("encoding image config: %w", err)
	}
	configDigest := digest(config)

	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaManifest,
		"config":        descriptor{MediaType: mediaConfig, Digest: configDigest, Size: int64(len(config))},
		"layers":        []descriptor{{MediaType: mediaLayer, Digest: layerDigest, Size: int64(layer.Len())}},
		"annotations":   map[string]string{"org.opencontainers.image.created": o.Created.Format(time.RFC3339)},
	})
	if err != nil {
		return Result{}, fmt.Errorf("encoding image manifest: %w", err)
	}
	manifestDigest := digest(manifest)

	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaIndex,
		"manifests": []descriptor{{
			MediaType: mediaManifest, Digest: manifestDigest, Size: int64(len(manifest)),
			Annotations: map[string]string{
				"io.containerd.image.name":          fullName(repo, tag),
				"org.opencontainers.image.ref.name": tag,
			},
			Platform: &platform{Architecture: o.Arch, OS: "linux"},
		}},
	})
	if err != nil {
		return Result{}, fmt.Errorf("encoding image index: %w", err)
	}
	legacy, err := json.Marshal([]map[string]any{{
		"Config":   blobPath(configDigest),
		"RepoTags": []string{repo + ":" + tag},
		"Layers":   []string{blobPath(layerDigest)},
	}})
	if err != nil {
		return Result{}, fmt.Errorf("encoding image manifest.json: %w", err)
	}

	tw := tar.NewWriter(w)
	files := []struct {
		name string
		data []byte
	}{
		{"blobs/", nil},
		{"blobs/sha256/", nil},
		{blobPath(layerDigest), layer.Bytes()},
		{blobPath(configDigest), config},
		{blobPath(manifestDigest), manifest},
		{"index.json", index},
		{"manifest.json", legacy},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: o.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return Result{}, fmt.Errorf("writing image tarball: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return Result{}, fmt.Errorf("writing image tarball: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return Result{}, fmt.Errorf("writing image tarball: %w", err)
	}
	return Result{ManifestDigest: manifestDigest, ConfigDigest: configDigest, LayerDigest: layerDigest}, nil
}

// writeFiles adds files after the binary, each after its parent folders,
// in path order; a path that is not absolute and clean, or that repeats
// the binary's, is refused.
func writeFiles(tw *tar.Writer, binPath string, files []File, mtime time.Time) error {
	if len(files) == 0 {
		return nil
	}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	dirs := map[string]bool{"/": true}
	for i, f := range sorted {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" || f.Path == binPath || (i > 0 && sorted[i-1].Path == f.Path) {
			return fmt.Errorf("file path %q in the image must be absolute, clean and unique", f.Path)
		}
		var parents []string
		for d := path.Dir(f.Path); !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for j := len(parents) - 1; j >= 0; j-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(parents[j], "/") + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: mode, Size: int64(len(f.Data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	return nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func blobPath(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }

// splitName splits "repo:tag"; a name without a tag gets "latest".
func splitName(name string) (string, string, error) {
	if name == "" || strings.Contains(name, "@") || strings.ContainsAny(name, " \t\n") {
		return "", "", fmt.Errorf("image name %q must be repository[:tag]", name)
	}
	repo, tag := name, "latest"
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		repo, tag = name[:i], name[i+1:]
	}
	if repo == "" || tag == "" || repo != strings.ToLower(repo) {
		return "", "", fmt.Errorf("image name %q must be a lowercase repository with an optional tag", name)
	}
	return repo, tag, nil
}

// fullName is the name containerd stores: with Docker Hub's domain and
// library/ prefix where Docker would imply them.
func fullName(repo, tag string) string {
	first, _, hasSlash := strings.Cut(repo, "/")
	switch {
	case !hasSlash:
		repo = "docker.io/library/" + repo
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		repo = "docker.io/" + repo
	}
	return repo + ":" + tag
}
