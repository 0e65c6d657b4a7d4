//go:build e2e

package analyze_e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const rpmImage = "forensic-test/analyze-rpm:1"

// rpmSpec is a tiny noarch package; the epoch and a long description
// (a header larger than a SQLite page) are optional.
func rpmSpec(name, version, release, epoch, description string) string {
	s := "Name: " + name + "\nVersion: " + version + "\nRelease: " + release + "\n"
	if epoch != "" {
		s += "Epoch: " + epoch + "\n"
	}
	return s + "Summary: " + name + ", built by the forensic e2e suite\nLicense: MIT\nBuildArch: noarch\n%description\n" + description + "\n%files\n"
}

// TestRPMPackages builds a rootfs with busybox and an RPM database written
// by the real rpm (packages built with rpmbuild, installed with rpm
// --root), imports it, saves it, and checks that `docker forensic
// analyze` lists what `rpm -qa` lists of the same root, with package
// URLs and in the SBOM.
func TestRPMPackages(t *testing.T) {
	for _, tool := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian package rpm; test/run deps installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	top := filepath.Join(dir, "rpmbuild")
	long := strings.Repeat("A description long enough to put the package header on SQLite overflow pages.\n", 120)
	for name, spec := range map[string]string{
		"e2e-epoch": rpmSpec("e2e-epoch", "3.1", "7.fc40", "4", "Has an epoch."),
		"e2e-long":  rpmSpec("e2e-long", "0.1.0", "1", "", long),
		"e2e-plain": rpmSpec("e2e-plain", "2024.10", "3.fc40", "", "Plain."),
	} {
		specFile := filepath.Join(dir, name+".spec")
		if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("rpmbuild", "--quiet", "--define", "_topdir "+top, "-bb", specFile).CombinedOutput(); err != nil {
			t.Fatalf("rpmbuild %s: %v\n%s", name, err, out)
		}
	}
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "noarch", "*.rpm"))
	if len(rpms) != 3 {
		t.Fatalf("rpmbuild made %v", rpms)
	}

	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "var/lib/rpm"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink("busybox", filepath.Join(rootfs, "bin/sh"))
	osRelease := "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME=\"Fedora Linux 40 (Container Image)\"\n"
	if err := os.WriteFile(filepath.Join(rootfs, "etc/os-release"), []byte(osRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	install := append([]string{"--root", rootfs, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts", "--ignoreos", "--ignorearch"}, rpms...)
	if out, err := exec.Command("rpm", install...).CombinedOutput(); err != nil {
		t.Fatalf("rpm -i: %v\n%s", err, out)
	}
	qa, err := exec.Command("rpm", "-qa", "--root", rootfs, "--dbpath", "/var/lib/rpm", "--qf", "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\n").Output()
	if err != nil {
		t.Fatalf("rpm -qa: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(qa)), "\n")
	sort.Strings(want)
	if len(want) != 3 {
		t.Fatalf("rpm -qa lists %q", want)
	}
	entries, _ := os.ReadDir(filepath.Join(rootfs, "var/lib/rpm"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Logf("rpm wrote %v", names)

	file := saveRootfs(t, rootfs, rpmImage, `["/bin/sh"]`, dir)

	sbom := filepath.Join(dir, "rpm.cdx.json")
	r, res := analyzeJSON(t, file, "--sbom", sbom)
	if res.code != 0 || !r.Complete {
		t.Fatalf("exit %d, complete %v, problems %q", res.code, r.Complete, r.Problems)
	}
	if f := find(r, "rpmdb-unreadable", ""); f != nil {
		t.Errorf("finding %+v", f)
	}
	var got, gotPURLs, wantPURLs []string
	for _, p := range r.Packages {
		if p.Type != "rpm" {
			continue
		}
		if p.Path != "/var/lib/rpm/rpmdb.sqlite" {
			t.Errorf("%s read from %s", p.Name, p.Path)
		}
		// Version is [epoch:]version-release.
		epoch, vr := "(none)", p.Version
		if e, rest, ok := strings.Cut(vr, ":"); ok {
			epoch, vr = e, rest
		}
		i := strings.LastIndexByte(vr, '-')
		if i < 0 {
			t.Fatalf("version %q has no release", p.Version)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s", p.Name, epoch, vr[:i], vr[i+1:], p.Arch))
		gotPURLs = append(gotPURLs, p.PURL)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packages (-rpm -qa +analyze):\n%s", diff)
	}
	for _, line := range want {
		f := strings.Fields(line) // name epoch version release arch
		purl := "pkg:rpm/fedora/" + f[0] + "@" + f[2] + "-" + f[3] + "?arch=" + f[4] + "&distro=fedora-40"
		if f[1] != "(none)" {
			purl += "&epoch=" + f[1]
		}
		wantPURLs = append(wantPURLs, purl)
	}
	sort.Strings(gotPURLs)
	if diff := cmp.Diff(wantPURLs, gotPURLs); diff != "" {
		t.Errorf("purls (-want +got):\n%s", diff)
	}
	components, b := readSBOM(t, sbom)
	for _, purl := range wantPURLs {
		found := false
		for _, c := range components {
			found = found || c.PURL == purl
		}
		if !found {
			t.Errorf("SBOM lacks %s", purl)
		}
	}
	if !bytes.Contains(b, []byte(`"bomFormat": "CycloneDX"`)) {
		t.Error("SBOM is not CycloneDX")
	}
}
