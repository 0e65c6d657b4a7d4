//go:build linux

package procsnap

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPasswdStaysInTargetRoot: absolute links resolve inside the target's
// root, and a FIFO planted as /etc/passwd is refused, not read (which would
// block the snapshot).
func TestPasswdStaysInTargetRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.WriteFile(filepath.Join(root, "real/passwd"), []byte("inside:x:7:7::/:/bin/sh\n"), 0o644)
	if err := os.Symlink("/real/passwd", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if m := readPasswd(root); m[7] != "inside" {
		t.Errorf("absolute link not resolved in the target root: %v", m)
	}

	os.Remove(filepath.Join(root, "etc/passwd"))
	if err := unix.Mkfifo(filepath.Join(root, "etc/passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan map[int]string, 1)
	go func() { done <- readPasswd(root) }()
	select {
	case m := <-done:
		if len(m) != 0 {
			t.Errorf("read names from a FIFO: %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO planted as /etc/passwd blocked the snapshot")
	}
}
