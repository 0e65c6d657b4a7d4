package agentimage

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestFromExecutableHoldsNoCopy: the agent made from an executable (the
// plugin's own, tens of MiB) is hashed, not read into memory; the image
// written from it still holds the executable, byte for byte.
func TestFromExecutableHoldsNoCopy(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(self)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 4<<20 {
		t.Fatalf("test binary of %d bytes, too small to tell", fi.Size())
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err := FromExecutable(self, SourceSelf)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("FromExecutable of a %d MiB executable allocated %d KiB", fi.Size()>>20, alloc>>10)
	if alloc >= uint64(fi.Size()) {
		t.Errorf("FromExecutable of a %d-byte executable allocated %d bytes: it holds a copy", fi.Size(), alloc)
	}
	want, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	if a.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 %s, want %x", a.SHA256, sum)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := a.WriteImage(pw, "forensic/agent:test", time.Time{}, nil)
		pw.CloseWithError(err)
	}()
	found := false
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Name, "blobs/sha256/") || h.Size < fi.Size() {
			continue
		}
		lr := tar.NewReader(tr)
		for {
			lh, err := lr.Next()
			if err != nil {
				break
			}
			if lh.Typeflag == tar.TypeReg && lh.Size == fi.Size() {
				got, _ := io.ReadAll(lr)
				found = string(got) == string(want)
			}
		}
	}
	if !found {
		t.Error("the image's layer does not hold the executable")
	}
}
