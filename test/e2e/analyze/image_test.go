//go:build e2e

package analyze_e2e

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze"
	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// layouts writes the saved image in every layout the analysis reads: the
// engine's own docker save (legacy on Docker 20.10, OCI with a manifest.json
// on the containerd image store), compressed, and the OCI layouts built from
// it here, since Docker 20.10 cannot write them.
func layouts(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]string{"engine-save": saved}
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	write("engine-save.tar.gz", z.Bytes())
	for name, o := range map[string]imagetest.OCIOptions{
		"oci.tar":          {},
		"oci-gzip.tar":     {Gzip: true},
		"oci-docker25.tar": {LegacyManifest: true},
	} {
		b, err := imagetest.LegacyToOCI(bytes.NewReader(raw), o)
		if err != nil {
			t.Fatal(err)
		}
		write(name, b)
	}
	return out
}

func TestImageLayouts(t *testing.T) {
	for name, file := range layouts(t) {
		t.Run(name, func(t *testing.T) {
			r, res := analyzeJSON(t, file)
			if res.code != 0 || !r.Complete || r.Input.Kind != analyze.KindImage {
				t.Fatalf("exit %d, complete %v, kind %s, problems %q", res.code, r.Complete, r.Input.Kind, r.Problems)
			}
			engineLayout := "docker-save"
			if savesOCI {
				engineLayout = "oci"
			}
			wantLayout := map[string]string{"engine-save": engineLayout, "engine-save.tar.gz": engineLayout, "oci.tar": "oci", "oci-gzip.tar": "oci", "oci-docker25.tar": "oci"}[name]
			if r.Input.Layout != wantLayout {
				t.Errorf("layout %s, want %s", r.Input.Layout, wantLayout)
			}
			checkImage(t, r)
		})
	}
}

// checkImage asserts, one by one, what the built image must show.
func checkImage(t *testing.T, r *analyze.Report) {
	t.Helper()
	var layers []analyze.Stage
	for _, s := range r.Timeline {
		if s.Kind == analyze.StageLayer {
			layers = append(layers, s)
		}
	}
	if len(layers) != 3 {
		t.Fatalf("%d layer stages, want 3: %+v", len(layers), r.Timeline)
	}
	var comments []string
	for _, l := range layers {
		comments = append(comments, l.Comment)
		if l.DigestCheck != "verified" || l.Created == nil || l.FilesFrom == nil {
			t.Errorf("layer %d: digest %s, created %v, file times %v", l.Index, l.DigestCheck, l.Created, l.FilesFrom)
		}
	}
	if diff := cmp.Diff([]string{"base rootfs", "plant a setuid helper and keys, delete motd", "drop a program in /tmp"}, comments); diff != "" {
		t.Errorf("layer comments (-want +got):\n%s", diff)
	}
	if layers[1].CreatedBy != "sh -s" {
		t.Errorf("layer 2 created_by %q", layers[1].CreatedBy)
	}
	var deleted []string
	for _, d := range layers[1].Deleted {
		deleted = append(deleted, d.Path+" "+d.Via)
	}
	if diff := cmp.Diff([]string{"/etc/motd whiteout"}, deleted); diff != "" {
		t.Errorf("layer 2 deletes (-want +got):\n%s", diff)
	}
	added := map[string]string{}
	for _, f := range layers[1].Added {
		added[f.Path] = f.Mode
	}
	if added["/usr/local/bin/helper"] != "-rwsr-xr-x" {
		t.Errorf("layer 2 adds %v, want the setuid helper", added)
	}

	tests := []struct {
		rule, path string
		severity   analyze.Severity
		layer      int
	}{
		{"setuid", "/usr/local/bin/helper", analyze.High, 1},
		{"private-key", "/root/.ssh/id_ed25519", analyze.Critical, 1},
		{"aws-access-key-id", "/app/.env", analyze.High, 1},
		{"aws-secret-access-key", "/app/.env", analyze.Critical, 1},
		{"exec-in-tmp", "/tmp/dropper", analyze.High, 2},
	}
	for _, tt := range tests {
		f := find(r, tt.rule, tt.path)
		if f == nil {
			t.Errorf("no %s finding for %s; findings: %q", tt.rule, tt.path, ruleList(r))
			continue
		}
		if f.Severity != tt.severity || f.Stage == nil || *f.Stage != layers[tt.layer].Index || f.Status != analyze.StatusPresent {
			t.Errorf("%s %s: severity %s, stage %v (want %d), status %q", tt.rule, tt.path, f.Severity, f.Stage, layers[tt.layer].Index, f.Status)
		}
		if f.Secret != nil && (!f.Secret.Masked || strings.Contains(f.Secret.Value, plantedSecret) || strings.Contains(f.Secret.Value, "c2VjcmV0a2V5")) {
			t.Errorf("%s shown in clear: %q", tt.rule, f.Secret.Value)
		}
	}
	var purls []string
	for _, p := range r.Packages {
		purls = append(purls, p.PURL)
	}
	want := []string{"pkg:deb/debian/busybox-static@1:1.35.0-4+b3?arch=amd64&distro=debian-12", "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12"}
	if diff := cmp.Diff(want, purls); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
}

func TestShowSecretsAndSBOM(t *testing.T) {
	sbom := filepath.Join(t.TempDir(), "app.cdx.json")
	r, res := analyzeJSON(t, saved, "--show-secrets", "--sbom", sbom)
	if res.code != 0 {
		t.Fatalf("exit %d", res.code)
	}
	if f := find(r, "aws-secret-access-key", "/app/.env"); f == nil || f.Secret.Masked || f.Secret.Value != plantedSecret {
		t.Errorf("secret not shown with --show-secrets: %+v", f)
	}
	b, err := os.ReadFile(sbom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bomFormat": "CycloneDX"`, `"specVersion": "1.5"`, `"purl": "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("SBOM lacks %s", want)
		}
	}
	if st, _ := os.Stat(sbom); st.Mode().Perm() != 0o600 {
		t.Errorf("SBOM mode %v, want 0600", st.Mode().Perm())
	}
}

// TestEngineSaveLayout checks, with tar -tf, which layout the engine's own
// docker save wrote, so that TestImageLayouts is known to read the layout
// of the engine it ran against: Docker 20.10 writes the legacy layout
// (manifest.json, no index.json); the containerd image store writes the OCI
// layout (index.json, oci-layout, blobs/sha256) and a manifest.json beside it.
func TestEngineSaveLayout(t *testing.T) {
	out, err := exec.Command("tar", "-tf", saved).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tf %s: %v\n%s", saved, err, out)
	}
	names := strings.Split(strings.TrimSpace(string(out)), "\n")
	has := func(want string) bool { return slices.Contains(names, want) }
	if !has("manifest.json") {
		t.Errorf("the engine's docker save has no manifest.json: %q", names)
	}
	if has("index.json") != savesOCI || has("oci-layout") != savesOCI {
		t.Errorf("containerd image store %v, but the engine's docker save has index.json %v, oci-layout %v: %q", savesOCI, has("index.json"), has("oci-layout"), names)
	}
}
