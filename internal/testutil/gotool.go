package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// ToolsCacheEnv names the variable that overrides the folder where
// CachedGoTool keeps the tools it builds (default /var/cache/forensic-tools,
// or the user's cache folder when that one cannot be created).
const ToolsCacheEnv = "FORENSIC_TOOLS_CACHE"

var (
	toolsMu   sync.Mutex
	toolsSeen = map[string]string{}
)

// CachedGoTool returns the path of pkg's command at version (for example
// "github.com/checkpoint-restore/checkpointctl", "v1.4.0"), built with `go
// install pkg@version` from the module proxy once per version into
// TOOLS/NAME-VERSION/ (TOOLS being ToolsCacheEnv's folder), a cache that
// later runs and other test packages share. env is added to the build's
// environment (GOTOOLCHAIN=..., CGO_ENABLED=0). It fails the test when the
// build fails.
func CachedGoTool(t testing.TB, pkg, version string, env ...string) string {
	t.Helper()
	exe, err := GoTool(pkg, version, env...)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// GoTool is CachedGoTool for callers without a testing.TB (TestMain). An
// entry is used only when its binary matches the sha256 written beside it
// (NAME.sha256, in `sha256sum -c` form); a build goes into a temporary
// folder of the cache folder renamed into place, so that an interrupted or
// concurrent build never leaves a half-written entry behind.
func GoTool(pkg, version string, env ...string) (string, error) {
	key := pkg + "@" + version + "\x00" + strings.Join(env, "\x00")
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if exe, ok := toolsSeen[key]; ok {
		return exe, nil
	}
	name := commandName(pkg)
	root, err := toolsCache()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, name+"-"+version)
	exe := filepath.Join(dir, name)
	if err := checkToolEntry(dir, name); err == nil {
		toolsSeen[key] = exe
		return exe, nil
	} else if !os.IsNotExist(err) {
		// Corrupt or half-written: build it again.
		if err := os.RemoveAll(dir); err != nil {
			return "", fmt.Errorf("removing the bad tool cache entry %s: %w", dir, err)
		}
	}
	tmp, err := os.MkdirTemp(root, ".build-"+name+"-"+version+"-")
	if err != nil {
		return "", fmt.Errorf("building %s@%s: %w", pkg, version, err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	src := filepath.Join(tmp, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "install", pkg+"@"+version)
	// Outside any module, so that no go.mod is read or touched.
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s@%s (%s): %v\n%s", pkg, version, strings.Join(env, " "), err, out)
	}
	sum, err := fileSHA256(filepath.Join(bin, name))
	if err != nil {
		return "", fmt.Errorf("building %s@%s: %w", pkg, version, err)
	}
	if err := os.WriteFile(filepath.Join(bin, name+".sha256"), []byte(sum+"  "+name+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(bin, dir); err != nil {
		// Another builder won the rename: use its entry when sound.
		if cerr := checkToolEntry(dir, name); cerr != nil {
			return "", fmt.Errorf("caching %s@%s in %s: %v (and the entry there: %v)", pkg, version, dir, err, cerr)
		}
	}
	toolsSeen[key] = exe
	return exe, nil
}

// toolsCache returns the cache folder, created when missing.
func toolsCache() (string, error) {
	if dir := os.Getenv(ToolsCacheEnv); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("creating the tool cache (%s): %w", ToolsCacheEnv, err)
		}
		return dir, nil
	}
	dir := "/var/cache/forensic-tools"
	if err := os.MkdirAll(dir, 0o755); err == nil && writable(dir) {
		return dir, nil
	}
	user, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no tool cache: /var/cache/forensic-tools is not writable and %w (set %s)", err, ToolsCacheEnv)
	}
	dir = filepath.Join(user, "forensic-tools")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the tool cache (set %s): %w", ToolsCacheEnv, err)
	}
	return dir, nil
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// commandName is the file name go install gives pkg's command: its last
// element, or the one before a major version suffix (.../cmd/tool/v2).
func commandName(pkg string) string {
	name := path.Base(pkg)
	if majorVersion.MatchString(name) && path.Dir(pkg) != "." {
		name = path.Base(path.Dir(pkg))
	}
	return name
}

// checkToolEntry returns nil when dir/name matches dir/name.sha256, an
// error satisfying os.IsNotExist when dir is missing, and another error
// otherwise.
func checkToolEntry(dir, name string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	want, err := os.ReadFile(filepath.Join(dir, name+".sha256"))
	if err != nil {
		return fmt.Errorf("tool cache entry %s: %w", dir, err)
	}
	got, err := fileSHA256(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("tool cache entry %s: %w", dir, err)
	}
	if !bytes.Equal(want, []byte(got+"  "+name+"\n")) {
		return fmt.Errorf("tool cache entry %s: %s does not match %s.sha256", dir, name, name)
	}
	return nil
}

func fileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
