package offline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	docker, ctd, neither := t.TempDir(), t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(docker, "containers"), 0o755)
	os.MkdirAll(filepath.Join(docker, "image/overlay2"), 0o755)
	os.MkdirAll(filepath.Join(ctd, "io.containerd.metadata.v1.bolt"), 0o755)
	os.MkdirAll(filepath.Join(neither, "containers"), 0o755)
	for dir, want := range map[string]Kind{docker: Docker, ctd: Containerd} {
		if k, err := Detect(dir); k != want || err != nil {
			t.Errorf("Detect(%s) = %q, %v; want %q", dir, k, err, want)
		}
	}
	if _, err := Detect(neither); !errors.Is(err, ErrUnknownRoot) {
		t.Errorf("Detect(neither) = %v, want ErrUnknownRoot", err)
	}
}

func TestResolve(t *testing.T) {
	l := Listing{Root: "/r", Containers: []Container{
		{ID: "abc111", Name: "web"},
		{ID: "abc222", Name: "db"},
		{ID: "ff0000", Pod: "web-0", PodNamespace: "shop", KubeContainer: "app"},
	}}
	for ref, want := range map[string]string{"web": "abc111", "/db": "abc222", "abc1": "abc111", "shop/web-0/app": "ff0000", "web-0/app": "ff0000", "ff": "ff0000"} {
		if c, err := Resolve(l, ref); err != nil || c.ID != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, c.ID, err, want)
		}
	}
	if _, err := Resolve(l, "abc"); err == nil || !strings.Contains(err.Error(), `"abc" matches 2 containers (abc111, abc222)`) {
		t.Errorf("Resolve(abc) = %v, want an ambiguity naming both", err)
	}
	l.Containers = append(l.Containers, Container{ID: "cc3333", Name: "web"})
	if _, err := Resolve(l, "web"); err == nil || !strings.Contains(err.Error(), `name "web" matches 2 containers (abc111, cc3333)`) {
		t.Errorf("Resolve(web) with two named web = %v, want an ambiguity", err)
	}
	if _, err := Resolve(l, "zzz"); err == nil || !strings.Contains(err.Error(), "offline ls") {
		t.Errorf("Resolve(zzz) = %v, want a hint to offline ls", err)
	}
}
