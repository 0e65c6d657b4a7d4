package imagecfg

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	dc = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	dm = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	di = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
)

func filesOf(m map[string]string) Files {
	return func(p string) ([]byte, bool) {
		s, ok := m[p]
		return []byte(s), ok
	}
}

func TestResolve(t *testing.T) {
	hexC := strings.TrimPrefix(dc, "sha256:")
	manifest := `{"schemaVersion":2,"config":{"digest":"` + dc + `"},"layers":[{"digest":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":10},{"digest":"` + d2 + `"}]}`
	tests := []struct {
		name     string
		files    map[string]string
		want     []Image
		problems []string
		wantErr  bool
	}{
		{name: "legacy", files: map[string]string{
			"manifest.json": `[{"Config":"` + hexC + `.json","RepoTags":["app:1"],"Layers":["aa/layer.tar","bb/layer.tar"]}]`,
		}, want: []Image{{Layout: LayoutDocker, Tags: []string{"app:1"}, ConfigPath: hexC + ".json", ConfigDigest: dc,
			Layers: []Layer{{Path: "aa/layer.tar"}, {Path: "bb/layer.tar"}}}}},
		{name: "docker 25 legacy manifest with blob paths", files: map[string]string{
			"manifest.json": `[{"Config":"blobs/sha256/` + hexC + `","Layers":["blobs/sha256/` + strings.TrimPrefix(d1, "sha256:") + `"]}]`,
		}, want: []Image{{Layout: LayoutDocker, ConfigPath: "blobs/sha256/" + hexC, ConfigDigest: dc,
			Layers: []Layer{{Path: BlobPath(d1), Digest: d1}}}}},
		{name: "oci", files: map[string]string{
			"index.json": `{"schemaVersion":2,"manifests":[{"digest":"` + dm + `","annotations":{"io.containerd.image.name":"docker.io/library/app:1"}}]}`,
			BlobPath(dm): manifest,
		}, want: []Image{{Layout: LayoutOCI, Tags: []string{"docker.io/library/app:1"}, ConfigPath: BlobPath(dc), ConfigDigest: dc, ManifestDigest: dm,
			Layers: []Layer{{Path: BlobPath(d1), Digest: d1, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 10}, {Path: BlobPath(d2), Digest: d2}}}}},
		{name: "oci nested index", files: map[string]string{
			"index.json": `{"schemaVersion":2,"manifests":[{"digest":"` + di + `","annotations":{"org.opencontainers.image.ref.name":"1"}}]}`,
			BlobPath(di): `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + dm + `","platform":{"architecture":"amd64","os":"linux"}}]}`,
			BlobPath(dm): manifest,
		}, want: []Image{{Layout: LayoutOCI, Tags: []string{"1"}, ConfigPath: BlobPath(dc), ConfigDigest: dc, ManifestDigest: dm,
			Layers: []Layer{{Path: BlobPath(d1), Digest: d1, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 10}, {Path: BlobPath(d2), Digest: d2}}}}},
		{name: "index loop", files: map[string]string{
			"index.json": `{"schemaVersion":2,"manifests":[{"digest":"` + di + `"}]}`,
			BlobPath(di): `{"schemaVersion":2,"manifests":[{"digest":"` + di + `"}]}`,
		}, problems: []string{"OCI indexes are nested too deep (a loop?)"}, wantErr: true},
		{name: "layer escapes", files: map[string]string{
			"manifest.json": `[{"Config":"c.json","Layers":["../../etc/passwd"]}]`,
		}, problems: []string{`manifest.json image 1 names a layer outside the tarball: "../../etc/passwd"`}, wantErr: true},
		{name: "malformed digest", files: map[string]string{
			"index.json": `{"schemaVersion":2,"manifests":[{"digest":"sha256:../../x"}]}`,
		}, problems: []string{`index names a malformed digest "sha256:../../x"`}, wantErr: true},
		{name: "missing manifest blob", files: map[string]string{
			"index.json": `{"schemaVersion":2,"manifests":[{"digest":"` + dm + `"}]}`,
		}, problems: []string{"index names manifest " + dm + ", which is not in the tarball"}, wantErr: true},
		{name: "invalid json", files: map[string]string{"manifest.json": `[{"Config":`}, problems: []string{"manifest.json is not valid JSON: unexpected end of JSON input"}, wantErr: true},
		{name: "nothing", files: map[string]string{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems, err := Resolve(filesOf(tt.files))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"architecture":"amd64","created":"2026-11-29T12:00:00Z","config":{"Env":["A=1"]},
		"history":[{"created":"not a date","created_by":"x"},{"empty_layer":true}],"rootfs":{"type":"layers","diff_ids":["` + d1 + `"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Created.Equal(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)) || !c.History[0].Created.IsZero() || c.History[0].CreatedBy != "x" || !c.History[1].EmptyLayer {
		t.Errorf("config = %+v", c)
	}
	if _, err := ParseConfig([]byte("{")); err == nil {
		t.Error("invalid JSON accepted")
	}
}
