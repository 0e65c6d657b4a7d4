package gobuild

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forensic-tools/forensic/shared/analyze/imagetest"
)

// scan writes data to a new Scanner in chunks of size chunk (all of it
// at once when chunk is 0).
func scan(data []byte, chunk int) (*Scanner, error) {
	var s Scanner
	if chunk <= 0 {
		chunk = len(data) + 1
	}
	for len(data) > 0 {
		k := min(chunk, len(data))
		if n, err := s.Write(data[:k]); n != k || err != nil {
			return nil, err
		}
		data = data[k:]
	}
	_, err := s.Result()
	return &s, err
}

// goBuild builds a program of one file in a module of its own, offline,
// against a module proxy folder that serves only depModules, and returns
// the binary's path. files are the module folder's files.
func goBuild(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	env, err := imagetest.GoProxy(filepath.Join(t.TempDir(), "goproxy"), depModules...)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// goVersionM is what `go version -m` prints of a binary's modules: its
// mod, dep and => lines.
func goVersionM(t *testing.T, bin string) (version string, mods []string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	first, rest, _ := strings.Cut(string(out), "\n")
	_, version, _ = strings.Cut(first, ": ")
	return version, modLines(rest)
}

// modLines keeps the mod, dep and => lines of a BuildInfo's text.
func modLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if k, _, _ := strings.Cut(line, "\t"); k == "mod" || k == "dep" || k == "=>" {
			out = append(out, line)
		}
	}
	return out
}

// depModules are what the test module proxy serves: two versions of one
// dependency, so that one can replace the other.
var depModules = []imagetest.GoModule{
	{Path: "example.com/dep", Version: "v1.2.0", Files: map[string]string{"dep.go": "package dep\n\n// V is the version.\nconst V = \"1.2.0\"\n"}},
	{Path: "example.com/dep", Version: "v1.1.0", Files: map[string]string{"dep.go": "package dep\n\n// V is the version.\nconst V = \"1.1.0\"\n"}},
}

// program is a module with one dependency from the module proxy
// (example.com/dep, replaced by an older version) and one replaced by a
// folder.
var program = map[string]string{
	"go.mod": "module example.com/hello\n\ngo 1.22\n\n" +
		"require (\n\texample.com/dep v1.2.0\n\texample.com/lib v1.0.0\n)\n\n" +
		"replace example.com/dep => example.com/dep v1.1.0\n\n" +
		"replace example.com/lib => ./lib\n",
	"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/dep\"\n\t\"example.com/lib\"\n)\n\n" +
		"func main() { fmt.Println(dep.V, lib.Name) }\n",
	"lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
	"lib/lib.go": "package lib\n\n// Name is a name.\nconst Name = \"lib\"\n",
}

// TestRealBinaries scans programs built by the real toolchain, in odd
// chunk sizes so that the magic falls across writes, and compares the
// modules found with what `go version -m` prints.
func TestRealBinaries(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	bins := map[string]string{
		"module with deps": goBuild(t, program),
		"no deps":          goBuild(t, map[string]string{"go.mod": "module example.com/tiny\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"}),
		// The go command holds the magic as a string of debug/buildinfo
		// before its own blob.
		"go command": filepath.Join(runtime.GOROOT(), "bin", "go"),
	}
	for name, bin := range bins {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			wantVersion, want := goVersionM(t, bin)
			if name == "module with deps" && len(want) != 5 {
				t.Fatalf("go version -m lists %q: want mod, dep, =>, dep, =>", want)
			}
			for _, chunk := range []int{1, 7, 4096, 0} {
				if chunk == 1 && len(data) > 8<<20 {
					continue
				}
				s, err := scan(data, chunk)
				if err != nil {
					t.Fatalf("chunks of %d: %v", chunk, err)
				}
				bi, _ := s.Result()
				if bi.GoVersion != wantVersion {
					t.Errorf("chunks of %d: Go version %q, want %q", chunk, bi.GoVersion, wantVersion)
				}
				if diff := cmp.Diff(want, modLines(bi.String())); diff != "" {
					t.Errorf("chunks of %d: modules (-go version -m +scanner):\n%s", chunk, diff)
				}
			}
		})
	}
}

// blob builds build information of the Go 1.18 layout.
func blob(vers, mod string) []byte {
	b := append([]byte(magicString), 8, flagInline)
	b = append(b, make([]byte, headerSize-len(b))...)
	b = binary.AppendUvarint(b, uint64(len(vers)))
	b = append(b, vers...)
	if mod != "" {
		mod = strings.Repeat("\x30", 16) + mod + strings.Repeat("\xf9", 16)
	}
	b = binary.AppendUvarint(b, uint64(len(mod)))
	return append(b, mod...)
}

// pad returns n bytes of filler, so that what follows is aligned when n
// is a multiple of 16.
func pad(n int) []byte { return bytes.Repeat([]byte{0x90}, n) }

func TestSynthetic(t *testing.T) {
	mod := "path\texample.com/x\nmod\texample.com/x\tv1.2.3\th1:abc=\ndep\texample.com/y\tv0.1.0\th1:def=\n=>\texample.com/z\tv0.2.0\th1:ghi=\n"
	good := blob("go1.26.8", mod)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	stray := append([]byte(magicString), 0x41, 0x42) // the magic as a string, then other data
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"at start", good, nil},
		{"aligned later", cat(pad(4096), good), nil},
		{"misaligned", cat(pad(4097), good), ErrNotFound},
		{"stray magic first", cat(pad(32), stray, pad(16), good), nil},
		// A stray magic, then one whose header looks right and whose
		// version length is read from the blob's magic: the blob is
		// found among the bytes read for the second.
		{"stray magics in the blob's way", cat(stray, []byte(magicString), []byte{8, flagInline}, pad(16), good), nil},
		{"magic at the end", cat(pad(16), []byte(magicString)), ErrNotFound},
		{"truncated header", cat(pad(16), good[:20]), ErrNotFound},
		{"truncated in the module information", cat(pad(16), good[:len(good)-3]), ErrNotFound},
		{"huge varint", cat(good[:headerSize], bytes.Repeat([]byte{0xff}, 12), pad(64)), ErrNotFound},
		{"version longer than allowed", cat(good[:headerSize], binary.AppendUvarint(nil, maxVersion+1), pad(maxVersion+64)), ErrNotFound},
		{"module information longer than allowed", cat(blob("go1.26.8", "")[:headerSize+9], binary.AppendUvarint(nil, MaxModInfo+1), pad(64)), ErrNotFound},
		{"not a Go version", blob("Hello, world", mod), ErrNotFound},
		{"bad pointer size", cat([]byte(magicString), []byte{3, flagInline}, good[16:]), ErrNotFound},
		{"pointer layout", cat([]byte(magicString), []byte{8, 0}, pad(64)), ErrPointerFormat},
		{"pointer layout stray, then a blob", cat([]byte(magicString), []byte{8, 0}, pad(16), good), nil},
		{"unframed module information", append(good[:headerSize+9:headerSize+9], 3, 'a', 'b', 'c'), nil},
		{"too many stray magics", cat(bytes.Repeat(cat([]byte(magicString), []byte{8, 0}), maxCandidates), good), ErrPointerFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 7, 16, 4096, 0} {
				s, err := scan(tt.data, chunk)
				if !errors.Is(err, tt.want) {
					t.Fatalf("chunks of %d: error %v, want %v", chunk, err, tt.want)
				}
				if err != nil {
					continue
				}
				bi, _ := s.Result()
				if bi.GoVersion != "go1.26.8" {
					t.Errorf("chunks of %d: version %q", chunk, bi.GoVersion)
				}
				if tt.name != "unframed module information" && (bi.Main.Version != "v1.2.3" || len(bi.Deps) != 1 || bi.Deps[0].Replace == nil || bi.Deps[0].Replace.Path != "example.com/z") {
					t.Errorf("chunks of %d: %+v", chunk, bi)
				}
			}
		})
	}
}

// TestBoundedMemory feeds a blob that claims the largest module
// information allowed, without its sentinels, in a long stream: the
// scanner keeps no more than the blob while reading it, and nothing once
// it has it (a Go version without modules, as debug/buildinfo reads it).
func TestBoundedMemory(t *testing.T) {
	var s Scanner
	s.Write(blob("go1.26.8", "")[:headerSize+9])
	s.Write(binary.AppendUvarint(nil, MaxModInfo))
	chunk := pad(64 << 10)
	for i := range 64 {
		s.Write(chunk)
		if c := cap(s.buf); c > 2*MaxModInfo {
			t.Fatalf("after %d KiB, kept %d bytes", (i+1)*64, c)
		}
	}
	bi, err := s.Result()
	if err != nil || bi.GoVersion != "go1.26.8" || len(bi.Deps) != 0 || s.buf != nil {
		t.Errorf("build info %v, error %v, kept %d bytes", bi, err, cap(s.buf))
	}
}

// FuzzGoBuild checks that no input makes the scanner panic and that the
// chunking of the stream never changes what it finds.
func FuzzGoBuild(f *testing.F) {
	mod := "path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\texample.com/y\tv0.1.0\th1:def=\n"
	f.Add(blob("go1.26.8", mod), uint16(7))
	f.Add(append(pad(16), blob("go1.21.0", "")...), uint16(1))
	f.Add(append([]byte(magicString), 8, 0), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		whole, errWhole := scan(data, 0)
		parts, errParts := scan(data, int(chunk%64)+1)
		if errWhole != errParts {
			t.Fatalf("whole: %v, in chunks of %d: %v", errWhole, chunk%64+1, errParts)
		}
		if errWhole == nil {
			a, _ := whole.Result()
			b, _ := parts.Result()
			if a.String() != b.String() {
				t.Fatalf("whole:\n%s\nin chunks:\n%s", a, b)
			}
		}
	})
}
