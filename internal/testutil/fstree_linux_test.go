package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestReadTarMatchesReadTree: GNU tar's archive of a folder reads, through
// ReadTar, as the folder does through ReadTree; and TreeState sees a
// chmod of one file and nothing else.
func TestReadTarMatchesReadTree(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Fatalf("tar is needed: %v", err)
	}
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc/cron.d"), 0o750))
	must(os.WriteFile(filepath.Join(dir, "etc/cron.d/job"), []byte("* * * * * root /tmp/x\n"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	must(os.Symlink("etc/cron.d/job", filepath.Join(dir, "link")))
	out, err := exec.Command("tar", "-C", dir, "-cf", "-", ".").Output()
	must(err)
	fromTar, fromTree := ReadTar(t, bytes.NewReader(out)), ReadTree(t, dir)
	if len(fromTree) != 5 || !reflect.DeepEqual(fromTar, fromTree) {
		t.Errorf("ReadTar:\n%v\nReadTree:\n%v", fromTar, fromTree)
	}
	before := TreeState(t, dir)
	must(os.Chmod(filepath.Join(dir, "empty"), 0o644))
	after := TreeState(t, dir)
	if reflect.DeepEqual(before, after) || before[dir] != after[dir] {
		t.Errorf("TreeState did not see exactly the chmod of one file:\nbefore %v\nafter  %v", before, after)
	}
}
