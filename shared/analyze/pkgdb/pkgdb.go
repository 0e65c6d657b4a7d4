package pkgdb

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"net/url"
	"path"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/rpmdb"
)

// Package is one installed package.
type Package struct {
	// Type is the package ecosystem as in package URLs: "deb", "apk",
	// "rpm", "pypi", "npm", "gem", "golang".
	Type string `json:"type"`
	Name string `json:"name"`
	// Version is the version as the package manager prints it, with
	// the epoch when there is one: "1:2.36-9" (deb), "2:1.2.3-4.fc40"
	// (rpm).
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// Source is the source package, when the database names one.
	Source  string `json:"source,omitempty"`
	License string `json:"license,omitempty"`
	// Path is the database or manifest file the package was read from;
	// for a Go module, the program built with it.
	Path string `json:"path"`
	// Go is what a Go program's build information says of a module; nil
	// for other ecosystems.
	Go *GoModule `json:"go,omitempty"`
}

// GoModule is what a Go program's build information says of a module
// beyond its path and version.
type GoModule struct {
	// Main is true for the program's own module, false for the modules
	// it uses and the standard library.
	Main bool `json:"main,omitempty"`
	// Sum is the module's go.sum hash ("h1:..."), when the build
	// recorded one.
	Sum string `json:"sum,omitempty"`
	// Replaces is the module path@version that a replace directive of
	// go.mod swapped for this one.
	Replaces string `json:"replaces,omitempty"`
	// Program is the import path of the program's main package
	// ("example.com/app/cmd/server", "cmd/go"), on the entry of the
	// standard library, which every Go program has.
	Program string `json:"program,omitempty"`
}

// DB is the kind of package database a file is.
type DB uint8

// Database kinds.
const (
	None DB = iota
	Dpkg
	Apk
	RPM // a database file or its SQLite write-ahead log: see ParseRPM
	Python
	NPM
	Gem
	OSRelease
)

// MaxSize is the largest database file parsed; dpkg status files of big
// images are a few MiB.
const MaxSize = 64 << 20

// Classify tells which database, if any, the file at p (rooted at "/") is.
func Classify(p string) DB {
	switch p {
	case "/var/lib/dpkg/status":
		return Dpkg
	case "/lib/apk/db/installed":
		return Apk
	case "/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db", "/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite-wal",
		"/usr/lib/sysimage/rpm/Packages", "/usr/lib/sysimage/rpm/Packages.db", "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite-wal":
		return RPM
	case "/etc/os-release", "/usr/lib/os-release":
		return OSRelease
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case dir == "/var/lib/dpkg/status.d" && !strings.HasSuffix(base, ".md5sums"):
		return Dpkg
	case (base == "METADATA" && strings.HasSuffix(dir, ".dist-info")) || (base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info")):
		if strings.Contains(dir, "-packages/") {
			return Python
		}
	case strings.HasSuffix(p, ".egg-info") && strings.Contains(dir, "-packages"):
		return Python // an egg-info file rather than a folder
	case base == "package.json":
		parent := path.Dir(dir)
		if path.Base(parent) == "node_modules" || (strings.HasPrefix(path.Base(parent), "@") && path.Base(path.Dir(parent)) == "node_modules") {
			return NPM
		}
	case strings.HasSuffix(base, ".gemspec") && path.Base(dir) == "specifications":
		return Gem
	}
	return None
}

// Parse reads the packages of a database file of kind db at p.
func Parse(db DB, p string, data []byte) []Package {
	var out []Package
	switch db {
	case Dpkg:
		out = dpkg(data)
	case Apk:
		out = apk(data)
	case Python:
		out = python(data)
	case NPM:
		out = npm(p, data)
	case Gem:
		out = gem(p)
	case RPM:
		out, _ = ParseRPM(p, data, nil)
	}
	for i := range out {
		out[i].Path = p
	}
	return out
}

// stanzas splits RFC 822 style records separated by blank lines and hands
// each record's fields to fn, continuation lines folded into their field.
func stanzas(data []byte, fn func(fields map[string]string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) > 0 {
			fn(fields)
		}
		fields = map[string]string{}
		last = ""
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" && len(fields[last]) < 4096 {
				fields[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	flush()
}

// RPMLogSuffix ends the name of the SQLite write-ahead log that rpm keeps
// beside rpmdb.sqlite; Classify tells it as RPM too.
const RPMLogSuffix = "-wal"

// ParseRPM reads an RPM database file at p (SQLite, Berkeley DB or NDB), with
// the write-ahead log beside it when there is one (nil otherwise). The
// error says what could not be read, such as an unsupported backend; the
// packages read despite it are returned with it.
func ParseRPM(p string, db, wal []byte) ([]Package, error) {
	ps, err := rpmdb.Read(db, wal)
	out := make([]Package, 0, len(ps))
	for _, rp := range ps {
		pk := Package{Type: "rpm", Name: rp.Name, Version: rp.EVR(), Arch: rp.Arch, License: rp.License, Path: p}
		if src := sourceName(rp.SourceRPM); src != rp.Name {
			pk.Source = src
		}
		out = append(out, pk)
	}
	return out, err
}

// sourceName is the package name of a source RPM file name,
// "name-version-release.src.rpm".
func sourceName(file string) string {
	s := strings.TrimSuffix(strings.TrimSuffix(file, ".rpm"), ".src")
	for range 2 {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return ""
		}
		s = s[:i]
	}
	return s
}

func dpkg(data []byte) []Package {
	var out []Package
	stanzas(data, func(f map[string]string) {
		name := f["Package"]
		if name == "" {
			return
		}
		if st := f["Status"]; st != "" && !strings.HasSuffix(st, " installed") {
			return // removed, leaving only configuration files
		}
		p := Package{Type: "deb", Name: name, Version: f["Version"], Arch: f["Architecture"]}
		if src := f["Source"]; src != "" {
			p.Source, _, _ = strings.Cut(src, " ")
		}
		out = append(out, p)
	})
	return out
}

func apk(data []byte) []Package {
	var out []Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur Package
	flush := func() {
		if cur.Name != "" {
			cur.Type = "apk"
			out = append(out, cur)
		}
		cur = Package{}
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'L':
			cur.License = v
		case 'o':
			cur.Source = v
		}
	}
	flush()
	return out
}

func python(data []byte) []Package {
	var p Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // the headers end at the first blank line
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			p.Name = v
		case "Version":
			p.Version = v
		case "License":
			if len(v) < 100 && !strings.EqualFold(v, "UNKNOWN") {
				p.License = v
			}
		}
	}
	if p.Name == "" || p.Version == "" {
		return nil
	}
	p.Type = "pypi"
	return []Package{p}
}

func npm(p string, data []byte) []Package {
	var m struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		License json.RawMessage `json:"license"`
	}
	if json.Unmarshal(data, &m) != nil || m.Name == "" || m.Version == "" {
		return nil
	}
	// Only the package's own folder counts: copies of package.json in
	// test fixtures carry other names.
	if !strings.HasSuffix(path.Dir(p), "/node_modules/"+m.Name) {
		return nil
	}
	pkg := Package{Type: "npm", Name: m.Name, Version: m.Version}
	var lic string
	if json.Unmarshal(m.License, &lic) == nil {
		pkg.License = lic
	} else {
		var lo struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(m.License, &lo) == nil {
			pkg.License = lo.Type
		}
	}
	return []Package{pkg}
}

func gem(p string) []Package {
	base := strings.TrimSuffix(path.Base(p), ".gemspec")
	for i := len(base) - 1; i > 0; i-- {
		if base[i] == '-' && i+1 < len(base) && base[i+1] >= '0' && base[i+1] <= '9' {
			return []Package{{Type: "gem", Name: base[:i], Version: base[i+1:]}}
		}
	}
	return nil
}

// GoStdlib is the name given to the Go standard library among a
// program's modules, as Syft and Trivy name it; its version is the
// toolchain's, "go1.26.8".
const GoStdlib = "stdlib"

// GoModules lists the modules of the Go program at p from its build
// information: the main module, the standard library and each
// dependency. A replaced dependency is listed as its replacement, with
// the module it replaces; one replaced by a local folder keeps its path,
// with version "(devel)" as for a main module built from a checkout.
func GoModules(p string, bi *debug.BuildInfo) []Package {
	out := make([]Package, 0, len(bi.Deps)+2)
	if bi.Main.Path != "" {
		out = append(out, Package{Type: "golang", Name: bi.Main.Path, Version: bi.Main.Version, Path: p,
			Go: &GoModule{Main: true, Sum: bi.Main.Sum}})
	}
	if bi.GoVersion != "" {
		pk := Package{Type: "golang", Name: GoStdlib, Version: bi.GoVersion, Path: p}
		if bi.Path != "" {
			pk.Go = &GoModule{Program: bi.Path}
		}
		out = append(out, pk)
	}
	for _, d := range bi.Deps {
		if d == nil || d.Path == "" {
			continue
		}
		pk := Package{Type: "golang", Name: d.Path, Version: d.Version, Path: p, Go: &GoModule{Sum: d.Sum}}
		if r := d.Replace; r != nil {
			pk.Go = &GoModule{Sum: r.Sum, Replaces: d.Path + "@" + d.Version}
			if r.Version != "" {
				pk.Name, pk.Version = r.Path, r.Version
			} else {
				pk.Version = "(devel)"
			}
		}
		out = append(out, pk)
	}
	return out
}

// goPURLVersion is the version of a Go module's package URL: none for a
// module built from a checkout ("(devel)"); the standard library's
// without "go" ("go1.26.8" is 1.26.8), as Syft and Trivy write it, and
// none for a development toolchain.
func goPURLVersion(p Package) string {
	v := p.Version
	switch {
	case v == "(devel)":
		return ""
	case p.Name == GoStdlib:
		v, _, _ = strings.Cut(v, " ") // "go1.24.1 X:boringcrypto"
		if !strings.HasPrefix(v, "go1") {
			return ""
		}
		return strings.TrimPrefix(v, "go")
	}
	return v
}

// OS is what /etc/os-release says about the distribution.
type OS struct {
	ID         string `json:"id"`
	VersionID  string `json:"version_id,omitempty"`
	PrettyName string `json:"pretty_name,omitempty"`
	// Path is the file it was read from.
	Path string `json:"path"`
}

// ParseOSRelease reads an os-release file.
func ParseOSRelease(data []byte) OS {
	var o OS
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "VERSION_ID":
			o.VersionID = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}

// PURL returns the package URL of p (github.com/package-url/purl-spec),
// with the distribution as namespace and qualifier for OS packages.
func PURL(p Package, os OS) string {
	name, version := url.PathEscape(p.Name), p.Version
	q := url.Values{}
	ns := ""
	switch p.Type {
	case "deb", "apk", "rpm":
		ns = os.ID
		if ns == "" {
			ns = map[string]string{"deb": "debian", "apk": "alpine"}[p.Type]
		}
		// An RPM epoch is a qualifier, not part of the version.
		if e, v, ok := strings.Cut(version, ":"); ok && p.Type == "rpm" && e != "" && strings.Trim(e, "0123456789") == "" {
			version = v
			if strings.TrimLeft(e, "0") != "" {
				q.Set("epoch", e)
			}
		}
		if p.Arch != "" {
			q.Set("arch", p.Arch)
		}
		if os.ID != "" && os.VersionID != "" {
			q.Set("distro", os.ID+"-"+os.VersionID)
		}
	case "npm":
		if scope, n, ok := strings.Cut(p.Name, "/"); ok && strings.HasPrefix(scope, "@") {
			ns, name = strings.ReplaceAll(url.PathEscape(scope), "@", "%40"), url.PathEscape(n)
		}
	case "pypi":
		name = url.PathEscape(strings.ToLower(strings.ReplaceAll(p.Name, "_", "-")))
	case "golang":
		// The module path's elements are the namespace and the name,
		// each escaped: pkg:golang/github.com/google/go-cmp@v0.7.0.
		var segs []string
		for _, s := range strings.Split(strings.Trim(p.Name, "/"), "/") {
			if s != "" {
				segs = append(segs, url.PathEscape(s))
			}
		}
		if len(segs) == 0 {
			segs = []string{""}
		}
		ns, name = strings.Join(segs[:len(segs)-1], "/"), segs[len(segs)-1]
		version = goPURLVersion(p)
	}
	s := "pkg:" + p.Type + "/"
	if ns != "" {
		s += ns + "/"
	}
	s += name
	if version != "" {
		s += "@" + url.PathEscape(version)
	}
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// Sort orders packages with Compare, for stable reports.
func Sort(ps []Package) {
	slices.SortStableFunc(ps, Compare)
}

// Compare orders packages by type, name, version and then the database
// they were read from.
func Compare(a, b Package) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version), cmp.Compare(a.Path, b.Path))
}
