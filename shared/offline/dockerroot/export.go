package dockerroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/offline"
)

// Collectors returns the export of container c.
func (r *Root) Collectors(c offline.Container, opts offline.ExportOptions) []collect.Collector {
	cfg, cfgErr := r.readConfig(c.ID)
	steps := []collect.Collector{
		collect.Func("offline.config", func(ctx context.Context, sink collect.Sink) error { return r.config(ctx, sink, c.ID) }),
		collect.Func("offline.logs", func(ctx context.Context, sink collect.Sink) error { return r.logs(ctx, sink, c.ID, cfg) }),
	}
	stack, stackErr := r.stack(c.ID, cfg)
	if cfgErr != nil && stackErr != nil {
		stackErr = errors.Join(stackErr, fmt.Errorf("config.v2.json: %w", cfgErr))
	}
	steps = append(steps, offline.FilesystemCollectors(stack, stackErr)...)
	steps = append(steps, collect.Func("offline.image", func(ctx context.Context, sink collect.Sink) error { return r.image(sink, cfg) }))
	vols := volumes(r, cfg)
	steps = append(steps, collect.Func("offline.volume-records", func(ctx context.Context, sink collect.Sink) error {
		var errs []error
		for _, v := range vols {
			err := sink.JSON(evidence.Meta{Path: "volumes/" + offline.SafeName(v.Name) + ".json", MediaType: "application/json",
				Description: "named volume " + v.Name + " as the container's config.v2.json mounts it"}, v)
			if offline.Fatal(err) {
				return err
			}
			errs = append(errs, err)
		}
		if len(vols) == 0 {
			sink.Logf("container mounts no named volume")
		}
		return errors.Join(errs...)
	}))
	if opts.Volumes && len(vols) > 0 {
		var vs []offline.Volume
		for _, v := range vols {
			vs = append(vs, offline.Volume{Name: v.Name, Driver: v.Driver, Path: r.path("volumes", v.Name, "_data")})
		}
		steps = append(steps, offline.VolumeCollector(vs))
	}
	return steps
}

// volumeMount is a named volume mounted by the container.
type volumeMount struct {
	Name        string `json:"name"`
	Driver      string `json:"driver"`
	Destination string `json:"destination"`
	Source      string `json:"source"`
	// Data is the volume's folder in the root, or where it should be.
	Data   string `json:"data"`
	Exists bool   `json:"exists"`
}

func volumes(r *Root, cfg config) []volumeMount {
	var out []volumeMount
	for _, mp := range cfg.MountPoints {
		if mp.Type != "volume" || mp.Name == "" {
			continue
		}
		v := volumeMount{Name: mp.Name, Driver: mp.Driver, Destination: mp.Destination, Source: mp.Source}
		if _, err := safeID(mp.Name); err == nil {
			v.Data = r.path("volumes", mp.Name, "_data")
			_, err := os.Lstat(v.Data)
			v.Exists = err == nil
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// config stores the container's folder as the engine left it: its
// configuration files byte for byte, and the small files beside them.
func (r *Root) config(ctx context.Context, sink collect.Sink, id string) error {
	dir := r.path("containers", id)
	var errs []error
	for _, f := range []struct{ name, desc string }{
		{"config.v2.json", "the container's configuration and last state as the engine stored it (config.v2.json), byte for byte"},
		{"hostconfig.json", "the container's host configuration as the engine stored it (hostconfig.json), byte for byte"},
	} {
		err := offline.CopyFile(ctx, sink, evidence.Meta{Path: "container/" + f.name, MediaType: "application/json", Description: f.desc}, dir+"/"+f.name)
		if offline.Fatal(err) {
			return err
		}
		errs = append(errs, err)
	}
	entries, err := offline.ReadDir(dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || n == "config.v2.json" || n == "hostconfig.json" || strings.Contains(n, "-json.log") {
			continue
		}
		err := offline.CopyFile(ctx, sink, evidence.Meta{Path: "container/files/" + offline.SafeName(n),
			Description: "containers/" + id + "/" + n + " as the engine left it"}, dir+"/"+n)
		if offline.Fatal(err) {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// logs stores every log file as it is and the decoded streams as docker
// logs -t prints them.
func (r *Root) logs(ctx context.Context, sink collect.Sink, id string, cfg config) error {
	files, err := r.logFiles(id)
	var errs []error
	if err != nil {
		errs = append(errs, err)
		sink.Logf("listing log files: %v", err)
	}
	if len(files) == 0 {
		sink.Logf("no json-file or local log file for the container (another log driver, or none)")
		return errors.Join(errs...)
	}
	for _, f := range files {
		err := offline.CopyFile(ctx, sink, evidence.Meta{Path: "logs/files/" + f.name,
			Description: "the " + f.driver + " log driver's file as stored (rotated and compressed files too)"}, f.path)
		if offline.Fatal(err) {
			return err
		}
		errs = append(errs, err)
	}
	byDriver := map[string][]logFile{}
	for _, f := range files {
		byDriver[f.driver] = append(byDriver[f.driver], f)
	}
	// The current driver's files first; both when the driver changed.
	var drivers []string
	for d := range byDriver {
		drivers = append(drivers, d)
	}
	sort.Strings(drivers)
	tty := cfg.Config != nil && cfg.Config.Tty
	for _, d := range drivers {
		prefix := "logs/"
		if len(drivers) > 1 {
			prefix = "logs/" + d + "/"
		}
		streams := []struct {
			name string
			set  map[string]bool
		}{{"stdout", map[string]bool{"stdout": true}}, {"stderr", map[string]bool{"stderr": true}}}
		if tty {
			streams = streams[:1]
			streams[0].name = "tty"
			streams[0].set["stderr"] = true
		}
		for _, s := range streams {
			m := evidence.Meta{Path: prefix + s.name + ".log", MediaType: "text/plain",
				Description: "container " + s.name + " decoded from the " + d + " driver's files, oldest first, each line prefixed with its RFC 3339 timestamp as docker logs -t prints it"}
			fs := byDriver[d]
			err := offline.StreamFunc(ctx, sink, m, func(w io.Writer) error { return decodeLogs(w, fs, s.set) })
			if offline.Fatal(err) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// image stores the image's config as stored and its history.
func (r *Root) image(sink collect.Sink, cfg config) error {
	m := evidence.Meta{Path: "image/config.json", MediaType: "application/vnd.oci.image.config.v1+json",
		Description: "the container's image config as the engine stored it (image/overlay2/imagedb), byte for byte"}
	if cfg.Image == "" {
		return sink.Fail(m, errors.New("the container's config.v2.json names no image"))
	}
	ic, raw, err := r.imageConfig(cfg.Image)
	if raw == nil {
		return sink.Fail(m, fmt.Errorf("reading image %s: %w", cfg.Image, err))
	}
	if err := sink.Bytes(m, raw); offline.Fatal(err) {
		return err
	}
	hm := evidence.Meta{Path: "image/history.json", MediaType: "application/json", Description: "the image's history from its config: each step's time, command and whether it made a layer"}
	if err != nil {
		return sink.Fail(hm, err)
	}
	hist := ic.History
	if hist == nil {
		hist = []json.RawMessage{}
	}
	return sink.JSON(hm, hist)
}
