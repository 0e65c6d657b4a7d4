package kube

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kubeLayers says which kube packages each kube package may import:
// imports point down, from the capture of many pods to the cluster.
// kubetest is for tests only.
var kubeLayers = map[string][]string{
	".":           {},
	"target":      {"."},
	"live":        {"."},
	"nodecollect": {".", "live"},
	"preflight":   {".", "target", "live", "nodecollect"},
	"podcollect":  {".", "target", "live", "preflight", "nodecollect"},
	"kubetest":    {"."},
}

// TestBoundaries keeps the kube packages plain libraries over client-go:
// no cobra or flags, no Docker or moby client, neither plugin, nothing
// written to the process's standard streams; and their imports of each
// other point down (kubeLayers).
func TestBoundaries(t *testing.T) {
	const mod = "github.com/forensic-tools/forensic/"
	const self = mod + "shared/kube"
	seen := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		allowed, known := kubeLayers[pkg]
		if !known {
			t.Errorf("%s: package shared/kube/%s is not in kubeLayers: say what it may import", path, pkg)
		}
		seen[pkg] = true
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"github.com/spf13/", "github.com/docker/", "github.com/moby/", mod + "shared/docker", mod + "kubectl-forensic", mod + "docker-forensic"} {
				if strings.HasPrefix(p, banned) {
					t.Errorf("%s imports %s: the kube packages use client-go only, without cobra (flags live in kubectl-forensic/cmd)", path, p)
				}
			}
			if strings.HasSuffix(p, "/internal/cli") {
				t.Errorf("%s imports %s: flags live in kubectl-forensic/cmd", path, p)
			}
			if p == self || strings.HasPrefix(p, self+"/") {
				dep := strings.TrimPrefix(strings.TrimPrefix(p, self), "/")
				if dep == "" {
					dep = "."
				}
				if known && !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s: shared/kube/%s may import only %q (imports point down)", path, p, pkg, allowed)
				}
			}
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, banned := range []string{"os.Stdout", "os.Stderr", "os.Exit(", "panic(", "context.Background()"} {
			if strings.Contains(string(src), banned) {
				t.Errorf("%s uses %s", path, banned)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range kubeLayers {
		if !seen[pkg] {
			t.Errorf("kubeLayers names shared/kube/%s, which has no Go files", pkg)
		}
	}
}
