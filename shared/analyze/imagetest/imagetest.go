package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Epoch is the time used when an entry or image gives none.
var Epoch = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// File is one entry of a layer. Names are written as given, so hostile
// names ("../x", "/etc/x") can be built.
type File struct {
	Name string
	// Type is the tar type flag; 0 means a regular file.
	Type byte
	Mode int64
	Body string
	// Size, when not 0, is the size written in the header instead of
	// len(Body), to build entries that lie about their size.
	Size     int64
	Link     string
	UID, GID int
	ModTime  time.Time
}

// Dir is a folder entry.
func Dir(name string) File { return File{Name: name, Type: tar.TypeDir, Mode: 0o755} }

// Reg is a regular file entry with mode 0644.
func Reg(name, body string) File { return File{Name: name, Mode: 0o644, Body: body} }

// Exe is a regular file entry with mode 0755.
func Exe(name, body string) File { return File{Name: name, Mode: 0o755, Body: body} }

// Symlink is a symbolic link entry.
func Symlink(name, target string) File {
	return File{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Link: target}
}

// Whiteout is the entry that deletes name (a path without leading slash).
func Whiteout(name string) File {
	i := strings.LastIndexByte(name, '/')
	return File{Name: name[:i+1] + ".wh." + name[i+1:], Mode: 0o644}
}

// Opaque is the entry that hides the lower contents of folder dir.
func Opaque(dir string) File {
	return File{Name: strings.TrimSuffix(dir, "/") + "/.wh..wh..opq", Mode: 0o644}
}

// ELF returns the bytes of a small fake ELF executable.
func ELF(tag string) string {
	return "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 8) + "\x02\x00\x3e\x00" + tag
}

// Layer writes files into an uncompressed tar.
func Layer(files ...File) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Typeflag: f.Type, Mode: f.Mode, Linkname: f.Link, Uid: f.UID, Gid: f.GID,
			ModTime: f.ModTime, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.ModTime.IsZero() {
			h.ModTime = Epoch
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(fmt.Sprintf("imagetest: writing header %q: %v", f.Name, err))
		}
		if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, f.Body)
		}
	}
	tw.Close()
	out := b.Bytes()
	for _, f := range files {
		if f.Size != 0 {
			out = lie(out, f.Name, f.Size)
		}
	}
	return out
}

// lie rewrites the size field of the header named name, in octal as tar
// writes it, leaving the content as it was.
func lie(data []byte, name string, size int64) []byte {
	for off := 0; off+512 <= len(data); off += 512 {
		if string(bytes.TrimRight(data[off:off+100], "\x00")) != name {
			continue
		}
		field := fmt.Sprintf("%011o\x00", size)
		if len(field) > 12 {
			// base-256 encoding for sizes over 8 GiB
			var f [12]byte
			f[0] = 0x80
			for i, v := 11, size; i > 0; i, v = i-1, v>>8 {
				f[i] = byte(v)
			}
			field = string(f[:])
		}
		copy(data[off+124:off+136], field)
		var sum int64
		copy(data[off+148:off+156], "        ")
		for _, c := range data[off : off+512] {
			sum += int64(c)
		}
		copy(data[off+148:off+156], fmt.Sprintf("%06o\x00 ", sum))
		return data
	}
	return data
}

// Step is a step of the image's history.
type Step struct {
	CreatedBy string
	Comment   string
	Created   time.Time
	// Empty marks a step that made no layer (ENV, CMD, ...).
	Empty bool
}

// Image is an image to write as a tarball.
type Image struct {
	Tags []string
	// Layers are uncompressed layer tars, bottom first.
	Layers [][]byte
	// History has one non-empty step per layer; missing steps are made up.
	History []Step
	Env     []string
	Cmd     []string
	Created time.Time
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

// Config returns the image configuration JSON.
func (img Image) Config() []byte {
	created := img.Created
	if created.IsZero() {
		created = Epoch
	}
	type hist struct {
		Created    time.Time `json:"created"`
		CreatedBy  string    `json:"created_by,omitempty"`
		Comment    string    `json:"comment,omitempty"`
		EmptyLayer bool      `json:"empty_layer,omitempty"`
	}
	var history []hist
	layers := 0
	for _, s := range img.History {
		t := s.Created
		if t.IsZero() {
			t = created
		}
		history = append(history, hist{Created: t, CreatedBy: s.CreatedBy, Comment: s.Comment, EmptyLayer: s.Empty})
		if !s.Empty {
			layers++
		}
	}
	for ; layers < len(img.Layers); layers++ {
		history = append(history, hist{Created: created, CreatedBy: fmt.Sprintf("/bin/sh -c #(layer %d)", layers+1)})
	}
	var diffIDs []string
	for _, l := range img.Layers {
		diffIDs = append(diffIDs, digest(l))
	}
	cfg := map[string]any{
		"architecture": "amd64", "os": "linux", "created": created,
		"config":  map[string]any{"Env": img.Env, "Cmd": img.Cmd},
		"history": history,
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	b, _ := json.Marshal(cfg)
	return b
}

// tarFile is one file of an outer tarball.
type tarFile struct {
	name string
	dir  bool
	body []byte
	link string
}

func writeTar(files []tarFile, mtime time.Time) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		switch {
		case f.dir:
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		tw.WriteHeader(h)
		tw.Write(f.body)
	}
	tw.Close()
	return b.Bytes()
}

// Legacy writes the image in the layout of `docker save` before Docker 25:
// a folder per layer with layer.tar, the configuration as <id>.json, then
// manifest.json and repositories, in the order the engine writes them.
func (img Image) Legacy() []byte {
	cfg := img.Config()
	cfgHex := hexOf(digest(cfg))
	var files []tarFile
	var layerPaths []string
	parent := ""
	ids := map[string][]byte{}
	for _, l := range img.Layers {
		id := hexOf(digest([]byte(parent + digest(l))))
		parent = id
		layerPaths = append(layerPaths, id+"/layer.tar")
		ids[id] = l
	}
	var sorted []string
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		files = append(files, tarFile{name: id + "/", dir: true}, tarFile{name: id + "/VERSION", body: []byte("1.0")},
			tarFile{name: id + "/json", body: []byte(`{"id":"` + id + `"}`)}, tarFile{name: id + "/layer.tar", body: ids[id]})
	}
	files = append(files, tarFile{name: cfgHex + ".json", body: cfg})
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgHex + ".json", "RepoTags": img.Tags, "Layers": layerPaths}})
	files = append(files, tarFile{name: "manifest.json", body: manifest})
	repos := map[string]map[string]string{}
	for _, t := range img.Tags {
		if i := strings.LastIndexByte(t, ':'); i > 0 && len(layerPaths) > 0 {
			repos[t[:i]] = map[string]string{t[i+1:]: strings.TrimSuffix(layerPaths[len(layerPaths)-1], "/layer.tar")}
		}
	}
	rb, _ := json.Marshal(repos)
	files = append(files, tarFile{name: "repositories", body: rb})
	return writeTar(files, time.Unix(0, 0))
}

// OCIOptions choose how OCI is written.
type OCIOptions struct {
	// Gzip compresses the layer blobs.
	Gzip bool
	// LegacyManifest also writes manifest.json, as Docker 25 and later do.
	LegacyManifest bool
}

// OCI writes the image in the OCI image layout.
func (img Image) OCI(o OCIOptions) []byte {
	b, err := ociLayout(img.Tags, img.Config(), img.Layers, o)
	if err != nil {
		panic(err)
	}
	return b
}

func ociLayout(tags []string, cfg []byte, layers [][]byte, o OCIOptions) ([]byte, error) {
	blobs := map[string][]byte{}
	cfgDigest := digest(cfg)
	blobs[cfgDigest] = cfg
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	var layerDescs []desc
	var layerPaths []string
	for _, l := range layers {
		blob, mt := l, "application/vnd.oci.image.layer.v1.tar"
		if o.Gzip {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(l)
			zw.Close()
			blob, mt = z.Bytes(), mt+"+gzip"
		}
		d := digest(blob)
		blobs[d] = blob
		layerDescs = append(layerDescs, desc{MediaType: mt, Digest: d, Size: len(blob)})
		layerPaths = append(layerPaths, "blobs/sha256/"+hexOf(d))
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cfgDigest, Size: len(cfg)},
		"layers": layerDescs,
	})
	md := digest(manifest)
	blobs[md] = manifest
	var ann map[string]string
	if len(tags) > 0 {
		ref := tags[0]
		if i := strings.LastIndexByte(ref, ':'); i > 0 {
			ann = map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref[i+1:]}
		}
	}
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []desc{{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: md, Size: len(manifest), Annotations: ann}},
	})
	files := []tarFile{{name: "blobs/", dir: true}, {name: "blobs/sha256/", dir: true}}
	var ds []string
	for d := range blobs {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	for _, d := range ds {
		files = append(files, tarFile{name: "blobs/sha256/" + hexOf(d), body: blobs[d]})
	}
	files = append(files, tarFile{name: "index.json", body: index})
	if o.LegacyManifest {
		lm, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + hexOf(cfgDigest), "RepoTags": tags, "Layers": layerPaths}})
		files = append(files, tarFile{name: "manifest.json", body: lm})
	}
	files = append(files, tarFile{name: "oci-layout", body: []byte(`{"imageLayoutVersion":"1.0.0"}`)})
	return writeTar(files, time.Unix(0, 0)), nil
}

// LegacyToOCI converts a `docker save` tarball to the OCI image layout
// through its manifest.json: the legacy layout of engines that cannot write
// OCI, or the manifest.json a containerd image store writes beside its OCI
// layout. Layers the engine stored gzip-compressed (the containerd image
// store does) are decompressed first, so that o alone decides the output's
// compression. The whole input is held in memory: it is meant for test
// images.
func LegacyToOCI(r io.Reader, o OCIOptions) ([]byte, error) {
	files := map[string][]byte{}
	links := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the docker save tarball: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", h.Name, err)
			}
			files[name] = b
		case tar.TypeSymlink:
			links[name] = h.Linkname
		}
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) == 0 {
		return nil, fmt.Errorf("manifest.json is missing or invalid: %v", err)
	}
	m := manifest[0]
	var layers [][]byte
	for _, p := range m.Layers {
		b, ok := files[p]
		if !ok {
			if target, isLink := links[p]; isLink {
				dir := p[:strings.LastIndexByte(p, '/')+1]
				b, ok = files[cleanJoin(dir, target)]
			}
		}
		if !ok {
			return nil, fmt.Errorf("layer %s is not in the tarball", p)
		}
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", p, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("layer %s: %w", p, err)
			}
		}
		layers = append(layers, b)
	}
	cfg, ok := files[m.Config]
	if !ok {
		return nil, fmt.Errorf("configuration %s is not in the tarball", m.Config)
	}
	return ociLayout(m.RepoTags, cfg, layers, o)
}

func cleanJoin(dir, rel string) string {
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	for _, c := range strings.Split(rel, "/") {
		switch c {
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		case ".", "":
		default:
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "/")
}

// ReadGzip returns the whole content of the gzip-compressed file at path,
// such as a fixture that is kept compressed in testdata.
func ReadGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}
