package imagetest

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// GoModule is one version of a Go module that GoProxy serves. Files are
// the module's files by path inside it; go.mod is written from Path when
// Files has none.
type GoModule struct {
	Path, Version string
	Files         map[string]string
}

// GoProxy writes the modules into dir in the layout of a Go module proxy
// (what GOPROXY=file://DIR reads: @v/list, .info, .mod and .zip per
// version) and returns the environment that builds against it and
// nothing else: GOPROXY at that folder, checksums off (the go.sum is
// written by -mod=mod from what the proxy serves), a module cache of its
// own under dir so the user's is neither needed nor touched, and no
// toolchain switch. A program built with it needs no network and no
// module fetched before.
func GoProxy(dir string, mods ...GoModule) (env []string, err error) {
	versions := map[string][]string{}
	for _, m := range mods {
		files := map[string]string{}
		for k, v := range m.Files {
			files[k] = v
		}
		if _, ok := files["go.mod"]; !ok {
			files["go.mod"] = "module " + m.Path + "\n\ngo 1.22\n"
		}
		base := filepath.Join(dir, "proxy", filepath.FromSlash(strings.ToLower(m.Path)), "@v")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(base, m.Version+".mod"), []byte(files["go.mod"]), 0o644); err != nil {
			return nil, err
		}
		info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, m.Version, Epoch.Format("2006-01-02T15:04:05Z"))
		if err := os.WriteFile(filepath.Join(base, m.Version+".info"), []byte(info), 0o644); err != nil {
			return nil, err
		}
		if err := writeModuleZip(filepath.Join(base, m.Version+".zip"), m.Path+"@"+m.Version, files); err != nil {
			return nil, fmt.Errorf("writing module %s@%s: %w", m.Path, m.Version, err)
		}
		versions[base] = append(versions[base], m.Version)
	}
	for base, vs := range versions {
		sort.Strings(vs)
		if err := os.WriteFile(filepath.Join(base, "list"), []byte(strings.Join(vs, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	proxy, err := filepath.Abs(filepath.Join(dir, "proxy"))
	if err != nil {
		return nil, err
	}
	return []string{
		"GOPROXY=file://" + filepath.ToSlash(proxy),
		"GOSUMDB=off",
		"GONOSUMDB=*",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOMODCACHE=" + filepath.Join(dir, "modcache"),
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"CGO_ENABLED=0",
	}, nil
}

// writeModuleZip writes a module zip: every file under the prefix
// path@version/, as the go command expects.
func writeModuleZip(name, prefix string, files map[string]string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(prefix + "/" + n)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
