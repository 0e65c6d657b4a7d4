package imagecfg

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// LegacyEntry is one image of a docker save manifest.json.
type LegacyEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Descriptor points to a blob of an OCI layout.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform is the platform of a manifest in an index.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Index is an OCI image index (index.json, or a nested index blob).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an OCI or Docker v2 image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Config is an image configuration.
type Config struct {
	Architecture string          `json:"architecture,omitempty"`
	OS           string          `json:"os,omitempty"`
	Created      Timestamp       `json:"created,omitzero"`
	Author       string          `json:"author,omitempty"`
	DockerVer    string          `json:"docker_version,omitempty"`
	Config       ContainerConfig `json:"config"`
	History      []History       `json:"history,omitempty"`
	RootFS       RootFS          `json:"rootfs"`
}

// ContainerConfig is the part of a configuration that containers start with.
type ContainerConfig struct {
	User         string              `json:"User,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

// History is one step of the image's build.
type History struct {
	Created    Timestamp `json:"created,omitzero"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	Author     string    `json:"author,omitempty"`
	EmptyLayer bool      `json:"empty_layer,omitempty"`
}

// RootFS lists the layers' diff IDs, the digests of the uncompressed layers.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// Layout names.
const (
	LayoutDocker = "docker-save"
	LayoutOCI    = "oci"
)

// Image is one image of a tarball, resolved to paths inside it.
type Image struct {
	// Layout is the layout it was resolved from, LayoutDocker or LayoutOCI.
	Layout string
	// Tags are the image's names (RepoTags, or the OCI name annotations).
	Tags []string
	// ConfigPath is the configuration's path inside the tarball.
	ConfigPath string
	// ConfigDigest is the configuration's digest, the image ID.
	ConfigDigest string
	// ManifestDigest is the OCI manifest's digest, when known.
	ManifestDigest string
	// Layers are the layers, bottom first.
	Layers []Layer
}

// Layer is one layer of an Image.
type Layer struct {
	// Path is where the layer lies inside the tarball.
	Path string
	// Digest is the blob digest the manifest names; empty for the legacy
	// layout, whose layer.tar files are checked against the diff IDs.
	Digest    string
	MediaType string
	Size      int64
}

// Files looks up the content of a small file of the tarball by its
// cleaned path (no leading slash).
type Files func(path string) ([]byte, bool)

var digestRe = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`)

// ValidDigest reports whether d is a well-formed digest that is safe to
// turn into a blob path.
func ValidDigest(d string) bool { return digestRe.MatchString(d) }

// BlobPath is the path of the blob with digest d in an OCI layout.
func BlobPath(d string) string {
	alg, hex, _ := strings.Cut(d, ":")
	return "blobs/" + alg + "/" + hex
}

// CleanPath cleans a path named by a manifest. ok is false when it would
// leave the tarball's root.
func CleanPath(p string) (string, bool) {
	c := path.Clean("/" + p)
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", false
		}
	}
	if c == "/" {
		return "", false
	}
	return c[1:], true
}

// maxIndexDepth bounds nested indexes, which a hostile layout could make
// point at each other.
const maxIndexDepth = 4

// Resolve reads manifest.json (docker save) and, when that gives nothing,
// index.json (OCI), and returns the images they describe. Problems are
// what was wrong but could be worked around; the error is set when
// neither file describes an image.
func Resolve(files Files) (images []Image, problems []string, err error) {
	if b, ok := files("manifest.json"); ok {
		imgs, perr := parseLegacy(b)
		if perr != nil {
			problems = append(problems, perr.Error())
		}
		images = append(images, imgs...)
	}
	if len(images) == 0 {
		if b, ok := files("index.json"); ok {
			var idx Index
			if err := json.Unmarshal(b, &idx); err != nil {
				problems = append(problems, fmt.Sprintf("index.json is not valid JSON: %v", err))
			} else {
				images = append(images, resolveIndex(files, idx, nil, 0, &problems)...)
			}
		}
	}
	if len(images) == 0 {
		return nil, problems, fmt.Errorf("no image described: neither manifest.json nor index.json names a configuration and layers")
	}
	return images, problems, nil
}

func parseLegacy(b []byte) ([]Image, error) {
	var entries []LegacyEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("manifest.json is not valid JSON: %v", err)
	}
	var out []Image
	var errs []string
	for i, e := range entries {
		img := Image{Layout: LayoutDocker, Tags: e.RepoTags}
		cfg, ok := CleanPath(e.Config)
		if !ok || e.Config == "" {
			errs = append(errs, fmt.Sprintf("manifest.json image %d names an unusable configuration %q", i+1, e.Config))
			continue
		}
		img.ConfigPath = cfg
		// The legacy layout names the configuration after its digest
		// ("<hex>.json", or "blobs/sha256/<hex>" since Docker 25).
		base := strings.TrimSuffix(path.Base(cfg), ".json")
		if alg := path.Base(path.Dir(cfg)); strings.HasPrefix(cfg, "blobs/") && ValidDigest(alg+":"+base) {
			img.ConfigDigest = alg + ":" + base
		} else if ValidDigest("sha256:" + base) {
			img.ConfigDigest = "sha256:" + base
		}
		bad := false
		for _, l := range e.Layers {
			lp, ok := CleanPath(l)
			if !ok {
				errs = append(errs, fmt.Sprintf("manifest.json image %d names a layer outside the tarball: %q", i+1, l))
				bad = true
				break
			}
			layer := Layer{Path: lp}
			if strings.HasPrefix(lp, "blobs/") {
				parts := strings.Split(lp, "/")
				if len(parts) == 3 && ValidDigest(parts[1]+":"+parts[2]) {
					layer.Digest = parts[1] + ":" + parts[2]
				}
			}
			img.Layers = append(img.Layers, layer)
		}
		if !bad {
			out = append(out, img)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

func resolveIndex(files Files, idx Index, names []string, depth int, problems *[]string) []Image {
	if depth > maxIndexDepth {
		*problems = append(*problems, "OCI indexes are nested too deep (a loop?)")
		return nil
	}
	var out []Image
	for _, d := range idx.Manifests {
		if !ValidDigest(d.Digest) {
			*problems = append(*problems, fmt.Sprintf("index names a malformed digest %q", d.Digest))
			continue
		}
		tags := names
		for _, k := range []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"} {
			if v := d.Annotations[k]; v != "" {
				tags = []string{v}
				break
			}
		}
		if d.Platform != nil && d.Platform.Architecture == "unknown" {
			continue // attestation manifests of buildx
		}
		b, ok := files(BlobPath(d.Digest))
		if !ok {
			*problems = append(*problems, fmt.Sprintf("index names manifest %s, which is not in the tarball", d.Digest))
			continue
		}
		var probe struct {
			MediaType string          `json:"mediaType"`
			Manifests json.RawMessage `json:"manifests"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			*problems = append(*problems, fmt.Sprintf("manifest %s is not valid JSON: %v", d.Digest, err))
			continue
		}
		if probe.Manifests != nil || strings.Contains(probe.MediaType, "index") || strings.Contains(probe.MediaType, "manifest.list") {
			var sub Index
			if err := json.Unmarshal(b, &sub); err != nil {
				*problems = append(*problems, fmt.Sprintf("index %s is not valid: %v", d.Digest, err))
				continue
			}
			out = append(out, resolveIndex(files, sub, tags, depth+1, problems)...)
			continue
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			*problems = append(*problems, fmt.Sprintf("manifest %s is not valid: %v", d.Digest, err))
			continue
		}
		if !ValidDigest(m.Config.Digest) {
			*problems = append(*problems, fmt.Sprintf("manifest %s names a malformed configuration digest %q", d.Digest, m.Config.Digest))
			continue
		}
		img := Image{Layout: LayoutOCI, Tags: tags, ManifestDigest: d.Digest, ConfigDigest: m.Config.Digest, ConfigPath: BlobPath(m.Config.Digest)}
		ok = true
		for _, l := range m.Layers {
			if !ValidDigest(l.Digest) {
				*problems = append(*problems, fmt.Sprintf("manifest %s names a malformed layer digest %q", d.Digest, l.Digest))
				ok = false
				break
			}
			img.Layers = append(img.Layers, Layer{Path: BlobPath(l.Digest), Digest: l.Digest, MediaType: l.MediaType, Size: l.Size})
		}
		if ok {
			out = append(out, img)
		}
	}
	return out
}

// ParseConfig parses an image configuration.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("image configuration is not valid JSON: %v", err)
	}
	return &c, nil
}

// Timestamp is a time that tolerates malformed values: a configuration
// with a bad date is still read, with the date left zero.
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.Time = v
	}
	return nil
}
