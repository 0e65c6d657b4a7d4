package imagetar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(tr)
		m[h.Name] = d
	}
}

func TestImageLayout(t *testing.T) {
	bin := []byte("\x7fELF pretend static binary")
	var out bytes.Buffer
	res, err := Write(&out, bytes.NewReader(bin), int64(len(bin)), Options{
		Name: "forensic/agent:v1.2.3", Path: "/forensic-agent", Arch: "amd64",
		Labels: map[string]string{"org.opencontainers.image.version": "v1.2.3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	files := untar(t, out.Bytes())
	// Every blob is stored under its own digest.
	for name, data := range files {
		if d, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && d != "" {
			s := sha256.Sum256(data)
			if hex.EncodeToString(s[:]) != d {
				t.Errorf("blob %s has digest %x", name, s)
			}
		}
	}
	var legacy []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &legacy); err != nil || len(legacy) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	if legacy[0].RepoTags[0] != "forensic/agent:v1.2.3" || legacy[0].Config != "blobs/sha256/"+strings.TrimPrefix(res.ConfigDigest, "sha256:") {
		t.Errorf("manifest.json %+v", legacy[0])
	}
	layer := untar(t, files[legacy[0].Layers[0]])
	if len(layer) != 1 || !bytes.Equal(layer["forensic-agent"], bin) {
		t.Errorf("layer holds %d files", len(layer))
	}
	var cfg struct {
		Architecture, OS string
		Config           struct {
			Entrypoint []string
			Labels     map[string]string
		}
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files[legacy[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || cfg.Config.Entrypoint[0] != "/forensic-agent" ||
		cfg.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" || cfg.RootFS.DiffIDs[0] != res.LayerDigest {
		t.Errorf("config %+v", cfg)
	}
	var index struct {
		Manifests []descriptor
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if m := index.Manifests[0]; m.Digest != res.ManifestDigest || m.Annotations["io.containerd.image.name"] != "docker.io/forensic/agent:v1.2.3" {
		t.Errorf("index %+v", index)
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %s", files["oci-layout"])
	}

	// Same input, same bytes.
	var again bytes.Buffer
	Write(&again, bytes.NewReader(bin), int64(len(bin)), Options{Name: "forensic/agent:v1.2.3", Path: "/forensic-agent", Arch: "amd64",
		Labels: map[string]string{"org.opencontainers.image.version": "v1.2.3"}})
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("image tarball is not reproducible")
	}
}

func TestNames(t *testing.T) {
	for name, want := range map[string]string{
		"forensic/agent:dev":           "docker.io/forensic/agent:dev",
		"agent":                        "docker.io/library/agent:latest",
		"localhost:5000/forensic/a:v1": "localhost:5000/forensic/a:v1",
		"ghcr.io/x/y:1":                "ghcr.io/x/y:1",
	} {
		repo, tag, err := splitName(name)
		if err != nil || fullName(repo, tag) != want {
			t.Errorf("%q: %q, %v; want %q", name, fullName(repo, tag), err, want)
		}
	}
	for _, bad := range []string{"", "Upper/case:x", "a@sha256:00", "x:"} {
		if _, _, err := splitName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var out bytes.Buffer
	if _, err := Write(&out, strings.NewReader("x"), 1, Options{Name: "a:b", Path: "rel", Created: time.Now()}); err == nil {
		t.Error("relative binary path accepted")
	}
}
