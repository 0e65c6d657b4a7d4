package vulns

import (
	"strings"

	"github.com/forensic-tools/forensic/shared/analyze/vulns/version"
)

// Package is an installed package to match.
type Package struct {
	// Type is the package URL type: "deb", "apk", "rpm", "pypi", "npm",
	// "gem", "golang".
	Type    string
	Name    string
	Version string
	// Source is the source package, for Debian and Alpine, whose records
	// name source packages.
	Source string
	PURL   string
}

// Release is the image's distribution, from its os-release.
type Release struct {
	ID        string // "debian", "alpine", "rocky"
	VersionID string // "12", "3.19.1", "9.3"
}

// target is what the matcher looks a package up by.
type target struct {
	// ecosystem is the OSV ecosystem without a release: "Debian", "PyPI".
	ecosystem string
	// release is the release OSV names for the image's distribution:
	// "12" for Debian 12, "v3.19" for Alpine 3.19; "" when unknown.
	release string
	name    string
}

// distros maps os-release IDs to OSV ecosystems for distribution packages.
var distros = map[string]string{
	"debian": "Debian", "ubuntu": "Ubuntu", "alpine": "Alpine", "wolfi": "Wolfi", "chainguard": "Chainguard",
	"rhel": "Red Hat", "rocky": "Rocky Linux", "almalinux": "AlmaLinux", "opensuse-leap": "openSUSE",
	"opensuse-tumbleweed": "openSUSE", "sles": "SUSE", "mageia": "Mageia", "openEuler": "openEuler", "azurelinux": "Azure Linux",
}

// family is the package type of each distribution ecosystem.
var family = map[string]string{
	"Debian": "deb", "Ubuntu": "deb", "Alpine": "apk", "Wolfi": "apk", "Chainguard": "apk",
	"Red Hat": "rpm", "Rocky Linux": "rpm", "AlmaLinux": "rpm", "openSUSE": "rpm", "SUSE": "rpm",
	"Mageia": "rpm", "openEuler": "rpm", "Azure Linux": "rpm",
}

// targetOf is where a package is looked up; ok is false for packages of
// an ecosystem OSV has no ordering for here.
func targetOf(p Package, rel Release) (target, bool) {
	switch p.Type {
	case "deb", "apk", "rpm":
		// The package manager decides the ecosystem, the os-release only
		// which of its family (Ubuntu's dpkg, Wolfi's apk, Rocky's rpm)
		// and the release, when it is of that family.
		eco := map[string]string{"deb": "Debian", "apk": "Alpine"}[p.Type]
		if d := distros[rel.ID]; d != "" && family[d] == p.Type {
			eco = d
		}
		if eco == "" {
			return target{}, false
		}
		name := p.Name
		if p.Source != "" && p.Type != "rpm" {
			name = p.Source
		}
		t := target{ecosystem: eco, name: name}
		if distros[rel.ID] == eco {
			t.release = releaseOf(eco, rel)
		}
		return t, true
	case "pypi":
		return target{ecosystem: "PyPI", name: normalisePyPI(p.Name)}, true
	case "npm":
		return target{ecosystem: "npm", name: p.Name}, true
	case "gem":
		return target{ecosystem: "RubyGems", name: p.Name}, true
	case "golang":
		return target{ecosystem: "Go", name: p.Name}, true
	}
	return target{}, false
}

// releaseOf names the image's release as OSV's ecosystem suffix does.
func releaseOf(eco string, rel Release) string {
	v := rel.VersionID
	if v == "" {
		return ""
	}
	switch eco {
	case "Debian":
		major, _, _ := strings.Cut(v, ".")
		return major
	case "Alpine":
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			return ""
		}
		return "v" + parts[0] + "." + parts[1]
	case "Rocky Linux", "AlmaLinux":
		major, _, _ := strings.Cut(v, ".")
		return major
	}
	return v
}

// normalisePyPI is PEP 503's name normalisation.
func normalisePyPI(n string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(n) {
		if r == '-' || r == '_' || r == '.' {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
	}
	return b.String()
}

// keyOf is the index key of an ecosystem and a name.
func keyOf(eco, name string) string {
	if eco == "PyPI" {
		name = normalisePyPI(name)
	}
	return eco + "\x00" + name
}

// purlBase is a package URL without version, qualifiers and subpath,
// its type lower case: what two purls of one package share.
func purlBase(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if i := strings.LastIndexByte(p, '@'); i > strings.LastIndexByte(p, '/') {
		p = p[:i]
	}
	t, rest, ok := strings.Cut(p, "/")
	if !ok {
		return p
	}
	t = strings.ToLower(t)
	if t == "pkg:pypi" {
		rest = normalisePyPI(rest)
	}
	return t + "/" + rest
}

// ecosystemMatches tells whether a record's ecosystem ("Debian:12",
// "Alpine:v3.19", "PyPI") covers the target: the same base ecosystem,
// and for a record naming a release, the image's release.
func ecosystemMatches(recordEco string, t target) (ok bool, unknownRelease bool) {
	base, rel, hasRel := strings.Cut(recordEco, ":")
	if base != t.ecosystem {
		return false, false
	}
	if !hasRel || rel == "" {
		return true, false
	}
	if t.release == "" {
		return false, true
	}
	switch t.ecosystem {
	case "Debian", "Alpine", "Rocky Linux", "AlmaLinux":
		return rel == t.release, false
	case "Ubuntu":
		// "Ubuntu:22.04:LTS", "Ubuntu:Pro:18.04:LTS".
		for _, part := range strings.Split(rel, ":") {
			if part == t.release {
				return true, false
			}
		}
		return false, false
	}
	// Other distributions name releases in ways not mapped here
	// ("Red Hat:enterprise_linux:9::appstream"): the ecosystem decides.
	return true, false
}

var versionFor = version.For
