package imagecfg

import (
	"strings"
	"testing"
)

// FuzzResolve feeds arbitrary manifest.json, index.json and blob content
// to Resolve and ParseConfig: they must not panic, and every path they
// return must stay inside the tarball.
func FuzzResolve(f *testing.F) {
	f.Add(`[{"Config":"c.json","RepoTags":["a:1"],"Layers":["a/layer.tar"]}]`, "", "")
	f.Add("", `{"schemaVersion":2,"manifests":[{"digest":"`+dm+`"}]}`, `{"config":{"digest":"`+dc+`"},"layers":[{"digest":"`+d1+`"}]}`)
	f.Add("", `{"manifests":[{"digest":"`+dm+`"}]}`, `{"manifests":[{"digest":"`+dm+`"}]}`)
	f.Fuzz(func(t *testing.T, manifest, index, blob string) {
		files := map[string]string{BlobPath(dm): blob, BlobPath(di): blob}
		if manifest != "" {
			files["manifest.json"] = manifest
		}
		if index != "" {
			files["index.json"] = index
		}
		images, _, _ := Resolve(filesOf(files))
		for _, img := range images {
			for _, p := range append([]string{img.ConfigPath}, layerPaths(img)...) {
				if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
					t.Fatalf("unsafe path %q", p)
				}
			}
		}
		ParseConfig([]byte(blob))
	})
}

func layerPaths(img Image) []string {
	var out []string
	for _, l := range img.Layers {
		out = append(out, l.Path)
	}
	return out
}
