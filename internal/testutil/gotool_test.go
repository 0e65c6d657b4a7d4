package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// writeEntry lays out a cache entry NAME-VERSION/NAME with its sha256.
func writeEntry(t *testing.T, root, name, version string, body []byte) string {
	t.Helper()
	dir := filepath.Join(root, name+"-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".sha256"), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// A sound entry is used as it is: no build (GOPROXY=off and a module that
// does not exist would make one fail).
func TestGoToolUsesSoundEntry(t *testing.T) {
	root := t.TempDir()
	t.Setenv(ToolsCacheEnv, root)
	want := writeEntry(t, root, "tool", "v1.0.0", []byte("#!/bin/sh\n"))
	got, err := GoTool("example.invalid/nothing/cmd/tool/v2", "v1.0.0", "GOPROXY=off", "case=sound")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("GoTool = %s, want %s", got, want)
	}
}

// A truncated binary or a missing sha256 is never used: the entry is
// removed and a build is tried (which fails here, offline).
func TestGoToolRejectsBadEntry(t *testing.T) {
	for name, spoil := range map[string]func(exe string){
		"truncated": func(exe string) { os.WriteFile(exe, []byte("#!"), 0o755) },
		"no sha256": func(exe string) { os.Remove(exe + ".sha256") },
		"no binary": func(exe string) { os.Remove(exe) },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv(ToolsCacheEnv, root)
			exe := writeEntry(t, root, "tool", "v1.0.0", []byte("#!/bin/sh\n"))
			spoil(exe)
			got, err := GoTool("example.invalid/nothing/cmd/tool", "v1.0.0", "GOPROXY=off", "case="+name)
			if err == nil {
				t.Fatalf("GoTool used the bad entry %s", got)
			}
			if _, serr := os.Stat(filepath.Dir(exe)); !os.IsNotExist(serr) {
				t.Errorf("the bad entry is still there (%v); GoTool: %v", serr, err)
			}
			left, _ := filepath.Glob(filepath.Join(root, ".build-*"))
			if len(left) > 0 {
				t.Errorf("temporary build folders left behind: %v", left)
			}
		})
	}
}

func TestCommandName(t *testing.T) {
	for pkg, want := range map[string]string{
		"github.com/checkpoint-restore/checkpointctl":      "checkpointctl",
		"github.com/google/osv-scanner/v2/cmd/osv-scanner": "osv-scanner",
		"example.com/cmd/tool/v3":                          "tool",
	} {
		if got := commandName(pkg); got != want {
			t.Errorf("commandName(%s) = %s, want %s", pkg, got, want)
		}
	}
}
