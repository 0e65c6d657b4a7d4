package pkgdb

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

const dpkgStatus = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: old-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: openssl
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2
`

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl

C:Q1def=
P:busybox
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
o:busybox
`

func TestClassify(t *testing.T) {
	tests := map[string]DB{
		"/var/lib/dpkg/status":                                              Dpkg,
		"/var/lib/dpkg/status.d/libc6":                                      Dpkg,
		"/var/lib/dpkg/status.d/libc6.md5sums":                              None,
		"/lib/apk/db/installed":                                             Apk,
		"/var/lib/rpm/rpmdb.sqlite":                                         RPM,
		"/var/lib/rpm/rpmdb.sqlite-wal":                                     RPM,
		"/var/lib/rpm/rpmdb.sqlite-shm":                                     None,
		"/var/lib/rpm/Packages":                                             RPM,
		"/usr/lib/sysimage/rpm/rpmdb.sqlite":                                RPM,
		"/usr/lib/sysimage/rpm/rpmdb.sqlite-wal":                            RPM,
		"/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA": Python,
		"/usr/lib/python3.11/site-packages/six.egg-info/PKG-INFO":           Python,
		"/tmp/x.dist-info/METADATA":                                         None,
		"/app/node_modules/express/package.json":                            NPM,
		"/app/node_modules/@babel/core/package.json":                        NPM,
		"/app/node_modules/express/test/package.json":                       None,
		"/app/package.json":                                                 None,
		"/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec":       Gem,
		"/etc/os-release":                                                   OSRelease,
		"/etc/passwd":                                                       None,
	}
	for p, want := range tests {
		if got := Classify(p); got != want {
			t.Errorf("Classify(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		path string
		data string
		want []Package
	}{
		{"dpkg", "/var/lib/dpkg/status", dpkgStatus, []Package{
			{Type: "deb", Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", Source: "glibc", Path: "/var/lib/dpkg/status"},
			{Type: "deb", Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl", Path: "/var/lib/dpkg/status"},
		}},
		{"apk", "/lib/apk/db/installed", apkInstalled, []Package{
			{Type: "apk", Name: "musl", Version: "1.2.4-r2", Arch: "x86_64", Source: "musl", License: "MIT", Path: "/lib/apk/db/installed"},
			{Type: "apk", Name: "busybox", Version: "1.36.1-r5", Arch: "x86_64", Source: "busybox", License: "GPL-2.0-only", Path: "/lib/apk/db/installed"},
		}},
		{"python", "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
			"Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nLicense: Apache 2.0\n\nName: not-a-header\n",
			[]Package{{Type: "pypi", Name: "requests", Version: "2.28.1", License: "Apache 2.0", Path: "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA"}}},
		{"npm", "/app/node_modules/@babel/core/package.json", `{"name":"@babel/core","version":"7.23.0","license":"MIT"}`,
			[]Package{{Type: "npm", Name: "@babel/core", Version: "7.23.0", License: "MIT", Path: "/app/node_modules/@babel/core/package.json"}}},
		{"npm other name", "/app/node_modules/x/package.json", `{"name":"fixture","version":"1.0.0"}`, nil},
		{"npm garbage", "/app/node_modules/x/package.json", `{"name":`, nil},
		{"gem", "/g/specifications/net-http-0.4.1.gemspec", "", []Package{{Type: "gem", Name: "net-http", Version: "0.4.1", Path: "/g/specifications/net-http-0.4.1.gemspec"}}},
		{"garbage dpkg", "/var/lib/dpkg/status", "\x00\x01\xff\n\n:::\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(Classify(tt.path), tt.path, []byte(tt.data))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPURL(t *testing.T) {
	deb := OS{ID: "debian", VersionID: "12"}
	tests := []struct {
		p    Package
		os   OS
		want string
	}{
		{Package{Type: "deb", Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64"}, deb, "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12"},
		{Package{Type: "apk", Name: "musl", Version: "1.2.4-r2", Arch: "x86_64"}, OS{}, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"},
		{Package{Type: "npm", Name: "@babel/core", Version: "7.23.0"}, OS{}, "pkg:npm/%40babel/core@7.23.0"},
		{Package{Type: "pypi", Name: "Typing_Extensions", Version: "4.8.0"}, OS{}, "pkg:pypi/typing-extensions@4.8.0"},
		{Package{Type: "rpm", Name: "tiny-epoch", Version: "2:1.2.3-4.fc40", Arch: "noarch"}, OS{ID: "fedora", VersionID: "40"},
			"pkg:rpm/fedora/tiny-epoch@1.2.3-4.fc40?arch=noarch&distro=fedora-40&epoch=2"},
		{Package{Type: "rpm", Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64"}, OS{ID: "rocky", VersionID: "9.3"},
			"pkg:rpm/rocky/bash@5.1.8-9.el9?arch=x86_64&distro=rocky-9.3"},
		{Package{Type: "rpm", Name: "zero", Version: "0:1-1"}, OS{}, "pkg:rpm/zero@1-1"},
		// Go modules keep the OS out; the module path gives namespace
		// and name.
		{Package{Type: "golang", Name: "github.com/google/go-cmp", Version: "v0.7.0"}, deb, "pkg:golang/github.com/google/go-cmp@v0.7.0"},
		{Package{Type: "golang", Name: "github.com/docker/cli", Version: "v29.9.3+incompatible"}, OS{}, "pkg:golang/github.com/docker/cli@v29.9.3+incompatible"},
		{Package{Type: "golang", Name: "example.com/a b/v2", Version: "v2.0.0"}, OS{}, "pkg:golang/example.com/a%20b/v2@v2.0.0"},
		{Package{Type: "golang", Name: "example.com/app", Version: "(devel)"}, OS{}, "pkg:golang/example.com/app"},
		{Package{Type: "golang", Name: "stdlib", Version: "go1.26.8"}, OS{}, "pkg:golang/stdlib@1.26.8"},
		{Package{Type: "golang", Name: "stdlib", Version: "go1.24.1 X:boringcrypto"}, OS{}, "pkg:golang/stdlib@1.24.1"},
		{Package{Type: "golang", Name: "stdlib", Version: "devel go1.27-abcdef"}, OS{}, "pkg:golang/stdlib"},
	}
	for _, tt := range tests {
		if got := PURL(tt.p, tt.os); got != tt.want {
			t.Errorf("PURL(%v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestGoModules(t *testing.T) {
	bi, err := debug.ParseBuildInfo("path\texample.com/app/cmd/app\n" +
		"mod\texample.com/app\t(devel)\t\n" +
		"dep\texample.com/a\tv1.0.0\th1:a=\n" +
		"dep\texample.com/b\tv1.0.0\n=>\texample.com/fork/b\tv1.0.1\th1:b=\n" +
		"dep\texample.com/c\tv0.1.0\n=>\t../c\t\t\n" +
		"build\tCGO_ENABLED=0\n")
	if err != nil {
		t.Fatal(err)
	}
	bi.GoVersion = "go1.26.8"
	const bin = "/usr/local/bin/app"
	want := []Package{
		{Type: "golang", Name: "example.com/app", Version: "(devel)", Path: bin, Go: &GoModule{Main: true}},
		{Type: "golang", Name: "stdlib", Version: "go1.26.8", Path: bin, Go: &GoModule{Program: "example.com/app/cmd/app"}},
		{Type: "golang", Name: "example.com/a", Version: "v1.0.0", Path: bin, Go: &GoModule{Sum: "h1:a="}},
		{Type: "golang", Name: "example.com/fork/b", Version: "v1.0.1", Path: bin, Go: &GoModule{Sum: "h1:b=", Replaces: "example.com/b@v1.0.0"}},
		{Type: "golang", Name: "example.com/c", Version: "(devel)", Path: bin, Go: &GoModule{Replaces: "example.com/c@v0.1.0"}},
	}
	if diff := cmp.Diff(want, GoModules(bin, bi)); diff != "" {
		t.Errorf("GoModules (-want +got):\n%s", diff)
	}
}

func TestOSRelease(t *testing.T) {
	got := ParseOSRelease([]byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"))
	want := OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOSRelease (-want +got):\n%s", diff)
	}
}

// TestParseRPM reads a database written by the real rpm (see
// ../rpmdb/testdata/make-fixtures.sh) into packages.
func TestParseRPM(t *testing.T) {
	db, err := imagetest.ReadGzip("../rpmdb/testdata/sqlite.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	const p = "/var/lib/rpm/rpmdb.sqlite"
	got, err := ParseRPM(p, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	Sort(got)
	want := []Package{
		{Type: "rpm", Name: "long-desc", Version: "0.9-1", Arch: "noarch", License: "GPL-2.0-or-later", Path: p},
		{Type: "rpm", Name: "plain-pkg", Version: "10.0.1-2.el9", Arch: "noarch", License: "Apache-2.0 AND MIT", Path: p},
		{Type: "rpm", Name: "tiny-epoch", Version: "2:1.2.3-4.fc40", Arch: "noarch", License: "MIT", Path: p},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRPM (-want +got):\n%s", diff)
	}
	if _, err := ParseRPM(p, []byte("RpmP and more bytes of a broken NDB file"), nil); err == nil {
		t.Error("a broken NDB file parsed without an error")
	}
}

func TestSourceName(t *testing.T) {
	for file, want := range map[string]string{
		"glibc-2.34-60.el9.src.rpm":   "glibc",
		"python-six-1.16.0-1.src.rpm": "python-six",
		"":                            "",
		"odd":                         "",
	} {
		if got := sourceName(file); got != want {
			t.Errorf("sourceName(%q) = %q, want %q", file, got, want)
		}
	}
}
