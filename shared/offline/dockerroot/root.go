// Package dockerroot reads a Docker data root (/var/lib/docker, overlay2
// storage driver) at rest: containers from containers/ID/config.v2.json
// and hostconfig.json, images from image/overlay2/, layers from
// overlay2/, volumes from volumes/, logs from the json-file and local
// drivers' files. Nothing is written under the root.
package dockerroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
	"github.com/forensic-tools/forensic/shared/offline/overlay"
)

// maxJSON bounds the JSON files read whole (configs, image configs).
const maxJSON = 64 << 20

// Root is an opened Docker data root.
type Root struct {
	dir string
}

// Open opens the Docker data root dir.
func Open(dir string) (*Root, error) {
	k, err := offline.Detect(dir)
	if err != nil {
		return nil, err
	}
	if k != offline.Docker {
		return nil, fmt.Errorf("root %s is a %s root, not a Docker data root", dir, k)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Root{dir: abs}, nil
}

// Kind is offline.Docker.
func (r *Root) Kind() offline.Kind { return offline.Docker }

// Close does nothing: a Docker root is read in place.
func (r *Root) Close() error { return nil }

// Engine describes the root for custody.json.
func (r *Root) Engine() evidence.Engine {
	e := evidence.Engine{Kind: "docker-offline-root", Host: r.dir, Extra: map[string]string{"storage_driver": "overlay2"}}
	for k, v := range offline.MountInfo(r.dir) {
		e.Extra[k] = v
	}
	if b, err := offline.ReadFile(filepath.Join(r.dir, "engine-id"), 4096); err == nil {
		e.Identity = strings.TrimSpace(string(b))
	}
	e.Version = "not recorded in the data root"
	return e
}

func (r *Root) path(parts ...string) string {
	return filepath.Join(append([]string{r.dir}, parts...)...)
}

// config is the part of config.v2.json read here; every field may be
// missing.
type config struct {
	ID      string
	Name    string
	Image   string
	Created time.Time
	Driver  string
	LogPath string
	State   struct {
		Running, Paused, Restarting, OOMKilled, Dead bool
		ExitCode                                     int
		StartedAt, FinishedAt                        time.Time
	}
	Config *struct {
		Image  string
		Tty    bool
		Labels map[string]string
	}
	MountPoints map[string]struct {
		Name, Source, Destination, Driver, Type string
	}
}

func (c config) state() string {
	s := c.State
	switch {
	case s.Running && s.Paused:
		return "paused"
	case s.Restarting:
		return "restarting"
	case s.Running:
		return "running"
	case s.Dead:
		return "dead"
	case s.StartedAt.IsZero() || s.StartedAt.Year() <= 1:
		return "created"
	}
	return "exited"
}

// readConfig reads containers/ID/config.v2.json.
func (r *Root) readConfig(id string) (config, error) {
	var c config
	b, err := offline.ReadFile(r.path("containers", id, "config.v2.json"), maxJSON)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("containers/%s/config.v2.json: %w", id, err)
	}
	return c, nil
}

// repositories maps image IDs to their names and digests, from
// image/overlay2/repositories.json.
func (r *Root) repositories() (names, digests map[string][]string, err error) {
	names, digests = map[string][]string{}, map[string][]string{}
	b, err := offline.ReadFile(r.path("image", "overlay2", "repositories.json"), maxJSON)
	if err != nil {
		return names, digests, err
	}
	var repos struct{ Repositories map[string]map[string]string }
	if err := json.Unmarshal(b, &repos); err != nil {
		return names, digests, fmt.Errorf("image/overlay2/repositories.json: %w", err)
	}
	for _, refs := range repos.Repositories {
		for ref, id := range refs {
			if strings.Contains(ref, "@") {
				digests[id] = append(digests[id], ref)
			} else {
				names[id] = append(names[id], ref)
			}
		}
	}
	for _, m := range []map[string][]string{names, digests} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	return names, digests, nil
}

// List reads every container, image and volume.
func (r *Root) List(ctx context.Context) (offline.Listing, error) {
	l := offline.Listing{Kind: offline.Docker, Root: r.dir, Containers: []offline.Container{}, Images: []offline.Image{}, Volumes: []offline.Volume{}}
	names, digests, err := r.repositories()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.Problems = append(l.Problems, err.Error())
	}
	entries, err := offline.ReadDir(r.path("containers"))
	if err != nil {
		return l, fmt.Errorf("reading containers: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := offline.Container{ID: e.Name(), State: "unknown"}
		cfg, err := r.readConfig(e.Name())
		if err != nil {
			c.Problems = append(c.Problems, err.Error())
			l.Problems = append(l.Problems, fmt.Sprintf("container %s: %v", offline.ShortID(e.Name()), err))
		} else {
			c.Name = strings.TrimPrefix(cfg.Name, "/")
			c.ImageID = cfg.Image
			if cfg.Config != nil {
				c.Image = cfg.Config.Image
				c.Labels = cfg.Config.Labels
			}
			if d := digests[cfg.Image]; len(d) > 0 {
				c.ImageDigest = d[0]
			}
			c.Created = cfg.Created
			c.State = cfg.state()
			if c.State == "exited" || c.State == "dead" {
				code := cfg.State.ExitCode
				c.ExitCode = &code
			}
			if !cfg.State.StartedAt.IsZero() && cfg.State.StartedAt.Year() > 1 {
				c.Started = cfg.State.StartedAt
			}
			if !cfg.State.FinishedAt.IsZero() && cfg.State.FinishedAt.Year() > 1 {
				c.Finished = cfg.State.FinishedAt
			}
			c.FromCRILabels()
		}
		l.Containers = append(l.Containers, c)
	}
	sort.Slice(l.Containers, func(i, j int) bool { return l.Containers[i].Created.Before(l.Containers[j].Created) })
	imgs, err := offline.ReadDir(r.path("image", "overlay2", "imagedb", "content", "sha256"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.Problems = append(l.Problems, fmt.Sprintf("reading images: %v", err))
	}
	for _, e := range imgs {
		id := "sha256:" + e.Name()
		img := offline.Image{ID: id}
		if n := names[id]; len(n) > 0 {
			img.Name = strings.Join(n, ",")
		}
		if d := digests[id]; len(d) > 0 {
			img.Digest = d[0]
		}
		if ic, _, err := r.imageConfig(id); err == nil {
			img.Created = ic.Created
		} else {
			l.Problems = append(l.Problems, fmt.Sprintf("image %s: %v", offline.ShortID(e.Name()), err))
		}
		l.Images = append(l.Images, img)
	}
	vols, err := offline.ReadDir(r.path("volumes"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.Problems = append(l.Problems, fmt.Sprintf("reading volumes: %v", err))
	}
	for _, e := range vols {
		if !e.IsDir() {
			continue
		}
		l.Volumes = append(l.Volumes, offline.Volume{Name: e.Name(), Driver: "local", Path: r.path("volumes", e.Name(), "_data")})
	}
	return l, nil
}

// imageConfig is the part of an image config read here.
type imageConfig struct {
	Created time.Time
	RootFS  struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []json.RawMessage `json:"history"`
}

// imageConfig reads image/overlay2/imagedb/content/sha256/HEX.
func (r *Root) imageConfig(id string) (imageConfig, []byte, error) {
	var ic imageConfig
	hexID := strings.TrimPrefix(id, "sha256:")
	if hexID == "" || strings.ContainsAny(hexID, "/.") {
		return ic, nil, fmt.Errorf("image ID %q is not a sha256 digest", id)
	}
	b, err := offline.ReadFile(r.path("image", "overlay2", "imagedb", "content", "sha256", hexID), maxJSON)
	if err != nil {
		return ic, nil, err
	}
	if err := json.Unmarshal(b, &ic); err != nil {
		return ic, b, fmt.Errorf("image config %s: %w", offline.ShortID(hexID), err)
	}
	return ic, b, nil
}

// safeID accepts an ID read from a file of the root only when it is one
// path element.
func safeID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return "", fmt.Errorf("%q is not a valid layer ID", s)
	}
	return s, nil
}

// stack finds the container's layers: its writable layer (mount-id), then
// the layers named by that layer's lower file through overlay2/l/ links;
// without a lower file, the init layer and the image's chain from
// layerdb. A link or folder that is missing is reported, the rest kept.
func (r *Root) stack(id string, cfg config) (overlay.Stack, error) {
	var st overlay.Stack
	var problems []error
	mb, err := offline.ReadFile(r.path("image", "overlay2", "layerdb", "mounts", id, "mount-id"), 4096)
	if err != nil {
		return st, fmt.Errorf("reading the container's layer ID: %w", err)
	}
	mount, err := safeID(string(mb))
	if err != nil {
		return st, err
	}
	upper := overlay.Layer{ID: mount, Dir: r.path("overlay2", mount, "diff")}
	var lowers []overlay.Layer // top first
	lb, err := offline.ReadFile(r.path("overlay2", mount, "lower"), 1<<20)
	switch {
	case err == nil:
		for _, short := range strings.Split(strings.TrimSpace(string(lb)), ":") {
			name, err := safeID(strings.TrimPrefix(short, "l/"))
			if err != nil {
				problems = append(problems, fmt.Errorf("lower file of %s: %w", mount, err))
				continue
			}
			target, err := os.Readlink(r.path("overlay2", "l", name))
			if err != nil {
				problems = append(problems, &overlay.MissingLayerError{Layer: overlay.Layer{ID: "l/" + name, Dir: r.path("overlay2", "l", name)}, Err: err})
				continue
			}
			// Links are "../CACHE-ID/diff": only the ID is taken, never the path.
			parts := strings.Split(filepath.ToSlash(target), "/")
			if len(parts) != 3 || parts[0] != ".." || parts[2] != "diff" {
				problems = append(problems, fmt.Errorf("overlay2/l/%s points to %q, not to a layer: ignored", name, target))
				continue
			}
			cache, err := safeID(parts[1])
			if err != nil {
				problems = append(problems, err)
				continue
			}
			lowers = append(lowers, overlay.Layer{ID: cache, Dir: r.path("overlay2", cache, "diff")})
		}
	case errors.Is(err, os.ErrNotExist):
		lowers, problems = r.chain(id, cfg)
	default:
		return st, fmt.Errorf("reading overlay2/%s/lower: %w", mount, err)
	}
	for i := len(lowers) - 1; i >= 0; i-- {
		st.Layers = append(st.Layers, lowers[i])
	}
	// A layer folder that is gone is reported by the overlay walk itself.
	st.Layers = append(st.Layers, upper)
	return st, errors.Join(problems...)
}

// chain is the container's lower layers from layerdb, top first: the
// init layer, then the image's layers from the top.
func (r *Root) chain(id string, cfg config) ([]overlay.Layer, []error) {
	var out []overlay.Layer
	var problems []error
	if b, err := offline.ReadFile(r.path("image", "overlay2", "layerdb", "mounts", id, "init-id"), 4096); err == nil {
		if init, err := safeID(string(b)); err == nil {
			out = append(out, overlay.Layer{ID: init, Dir: r.path("overlay2", init, "diff")})
		}
	}
	ic, _, err := r.imageConfig(cfg.Image)
	if err != nil {
		return out, append(problems, fmt.Errorf("reading the image's layers: %w", err))
	}
	var chainIDs []string
	for i, d := range ic.RootFS.DiffIDs {
		if i == 0 {
			chainIDs = append(chainIDs, d)
			continue
		}
		sum := sha256.Sum256([]byte(chainIDs[i-1] + " " + d))
		chainIDs = append(chainIDs, "sha256:"+hex.EncodeToString(sum[:]))
	}
	for i := len(chainIDs) - 1; i >= 0; i-- {
		hexID, err := safeID(strings.TrimPrefix(chainIDs[i], "sha256:"))
		if err != nil {
			problems = append(problems, err)
			continue
		}
		b, err := offline.ReadFile(r.path("image", "overlay2", "layerdb", "sha256", hexID, "cache-id"), 4096)
		if err != nil {
			problems = append(problems, &overlay.MissingLayerError{Layer: overlay.Layer{ID: chainIDs[i], Dir: r.path("image", "overlay2", "layerdb", "sha256", hexID)}, Err: err})
			continue
		}
		cache, err := safeID(string(b))
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, overlay.Layer{ID: cache, Dir: r.path("overlay2", cache, "diff")})
	}
	return out, problems
}
