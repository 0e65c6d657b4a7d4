package analyze

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/analyze/elfcore"
)

// A core written with elfcore: executable anonymous memory and a deleted
// library mapped executable are findings, the vDSO is not, a secret in
// memory is masked, and --search finds the marker.
func TestCoreFindings(t *testing.T) {
	token := "ghp_" + "T4kq9ZbW2xLm7Np3Rv8Yc1Hd6Fs0Gj5Ue2Ko"
	mem := map[uint64]string{0x20000: "GITHUB_TOKEN=" + token + "\x00forensic-marker-1\x00"}
	p := &elfcore.Process{PID: 9, PPID: 1, Comm: "app", Args: "app",
		Threads: []elfcore.ThreadRegs{{TID: 9, Regs: [27]uint64{16: 0x30010}}},
		Auxv:    []uint64{33, 0x40000, 0, 0},
		Mappings: []elfcore.Mapping{
			{Start: 0x10000, End: 0x11000, Perms: "r-xp", File: "/usr/bin/app"},
			{Start: 0x20000, End: 0x21000, Perms: "rw-p"},
			{Start: 0x30000, End: 0x31000, Perms: "rwxp"},
			{Start: 0x40000, End: 0x41000, Perms: "r-xp"},
			{Start: 0x50000, End: 0x51000, Perms: "r-xp", File: "/tmp/libevil.so", Deleted: true},
		},
		Memory: func(b []byte, addr uint64) (int, error) {
			if s, ok := mem[addr]; ok {
				return copy(b, s), errors.New("end of the page's data")
			}
			return 0, errors.New("not dumped")
		},
	}
	file := filepath.Join(t.TempDir(), "app.core")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := elfcore.Write(f, p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep, err := Analyze(context.Background(), file, Options{Memory: SearchOptions{Literal: "forensic-marker-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Input.Kind != KindCore || !rep.Complete || rep.Core == nil || rep.Core.Threads[0].Mapping != "anonymous rwxp" {
		t.Fatalf("kind %s complete %v problems %q core %+v", rep.Input.Kind, rep.Complete, rep.Problems, rep.Core)
	}
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule+" "+f.Path)
		if f.Secret != nil && (!f.Secret.Masked || strings.Contains(f.Secret.Value, token)) {
			t.Errorf("secret %q not masked", f.Secret.Value)
		}
	}
	got := strings.Join(rules, ", ")
	for _, want := range []string{"memory-exec-anonymous ,", "memory-deleted-executable /tmp/libevil.so", "github-token"} {
		if !strings.Contains(got+",", want) {
			t.Errorf("findings %s lack %q", got, want)
		}
	}
	if strings.Count(got, "memory-exec-anonymous") != 1 {
		t.Errorf("findings %s: want one executable anonymous mapping (not the vDSO)", got)
	}
	if rep.Search == nil || len(rep.Search.Hits) != 1 || rep.Search.Hits[0].Address != 0x20000+uint64(len("GITHUB_TOKEN="+token)+1) {
		t.Errorf("search %+v", rep.Search)
	}
}
