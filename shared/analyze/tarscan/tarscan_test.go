package tarscan

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// tarOf writes headers (and content for regular files) into a tar.
func tarOf(t testing.TB, hs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hs {
		if h.ModTime.IsZero() {
			h.ModTime = t0
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		body := strings.Repeat("x", int(h.Size))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			if _, err := io.WriteString(tw, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestNormalize(t *testing.T) {
	type result struct {
		Path, Link string
		Type       string
		Rules      []string
		OK         bool
	}
	tests := []struct {
		name string
		h    tar.Header
		want result
	}{
		{"plain file", tar.Header{Name: "./etc/passwd", Typeflag: tar.TypeReg}, result{Path: "/etc/passwd", Type: "file", OK: true}},
		{"dir", tar.Header{Name: "usr/bin/", Typeflag: tar.TypeDir}, result{Path: "/usr/bin", Type: "dir", OK: true}},
		{"root dir", tar.Header{Name: "./", Typeflag: tar.TypeDir}, result{Path: "/", Type: "dir", OK: true}},
		{"dot dot inside stays", tar.Header{Name: "a/b/../c", Typeflag: tar.TypeReg}, result{Path: "/a/c", Type: "file", OK: true}},
		{"escape", tar.Header{Name: "../../etc/passwd", Typeflag: tar.TypeReg}, result{Rules: []string{RulePathEscape}}},
		{"hidden escape", tar.Header{Name: "a/../../etc/cron.d/x", Typeflag: tar.TypeReg}, result{Rules: []string{RulePathEscape}}},
		{"absolute", tar.Header{Name: "/etc/shadow", Typeflag: tar.TypeReg}, result{Path: "/etc/shadow", Type: "file", Rules: []string{RuleAbsolutePath}, OK: true}},
		{"symlink absolute is fine", tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "/bin/busybox"}, result{Path: "/bin/sh", Link: "/bin/busybox", Type: "symlink", OK: true}},
		{"symlink relative inside", tar.Header{Name: "usr/lib/x", Typeflag: tar.TypeSymlink, Linkname: "../../etc/x"}, result{Path: "/usr/lib/x", Link: "../../etc/x", Type: "symlink", OK: true}},
		{"symlink escape", tar.Header{Name: "usr/x", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"}, result{Path: "/usr/x", Link: "../../../etc", Type: "symlink", Rules: []string{RuleLinkEscape}, OK: true}},
		{"hardlink inside", tar.Header{Name: "bin/b", Typeflag: tar.TypeLink, Linkname: "./bin/a"}, result{Path: "/bin/b", Link: "/bin/a", Type: "hardlink", OK: true}},
		{"hardlink escape", tar.Header{Name: "bin/b", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"}, result{Path: "/bin/b", Link: "/etc/shadow", Type: "hardlink", Rules: []string{RuleHardlinkEscape}, OK: true}},
		{"whiteout", tar.Header{Name: "etc/.wh.motd", Typeflag: tar.TypeReg}, result{Path: "/etc/motd", Type: "whiteout", OK: true}},
		{"opaque", tar.Header{Name: "var/cache/.wh..wh..opq", Typeflag: tar.TypeReg}, result{Path: "/var/cache", Type: "opaque", OK: true}},
		{"aufs metadata", tar.Header{Name: ".wh..wh.plnk/1.2", Typeflag: tar.TypeReg}, result{Path: "/.wh..wh.plnk/1.2", Type: "file", OK: true}},
		{"aufs metadata dir", tar.Header{Name: ".wh..wh.plnk", Typeflag: tar.TypeDir}, result{Path: "/.wh..wh.plnk", Type: "other", OK: true}},
		{"whiteout of parent", tar.Header{Name: "etc/.wh...", Typeflag: tar.TypeReg}, result{Rules: []string{RuleWhiteoutEscape}}},
		{"whiteout escaping by name", tar.Header{Name: "../.wh.etc", Typeflag: tar.TypeReg}, result{Rules: []string{RulePathEscape}}},
		{"empty name", tar.Header{Name: "", Typeflag: tar.TypeReg}, result{Rules: []string{RuleBadName}}},
		{"long name", tar.Header{Name: strings.Repeat("a/", 3000), Typeflag: tar.TypeReg}, result{Rules: []string{RuleBadName}}},
		{"file named root", tar.Header{Name: "/", Typeflag: tar.TypeReg}, result{Rules: []string{RuleAbsolutePath, RuleBadName}}},
		{"setuid kept", tar.Header{Name: "bin/su", Typeflag: tar.TypeReg, Mode: 0o104755}, result{Path: "/bin/su", Type: "file", OK: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, issues, ok := Normalize(&tt.h)
			got := result{OK: ok}
			if ok {
				got.Path, got.Link, got.Type = e.Path, e.Link, e.Type.String()
			}
			for _, is := range issues {
				got.Rules = append(got.Rules, is.Rule)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize(%q) (-want +got):\n%s", tt.h.Name, diff)
			}
		})
	}
	e, _, _ := Normalize(&tar.Header{Name: "bin/su", Typeflag: tar.TypeReg, Mode: 0o104755})
	if e.Mode != 0o4755 {
		t.Errorf("mode = %o, want 4755", e.Mode)
	}
}

func TestWalk(t *testing.T) {
	good := tarOf(t,
		&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "bin/a", Size: 5, Mode: 0o755},
		&tar.Header{Name: "../escape", Size: 3},
		&tar.Header{Name: "etc/.wh.gone"},
	)
	tests := []struct {
		name    string
		data    []byte
		budget  *Budget
		want    []string
		issues  []string
		wantErr string
	}{
		{name: "good", data: good, want: []string{"dir /bin", "file /bin/a 5", "whiteout /etc/gone"}, issues: []string{RulePathEscape}},
		{name: "empty", data: make([]byte, 1024)},
		{name: "truncated header", data: good[:700], want: []string{"dir /bin"}, wantErr: "truncated"},
		{name: "truncated content", data: good[:1024+3], want: []string{"dir /bin", "file /bin/a 3"}, wantErr: "truncated"},
		{name: "garbage", data: bytes.Repeat([]byte("not a tar "), 100), wantErr: "corrupt after 0 entries"},
		{name: "too many entries", data: good, budget: &Budget{MaxEntries: 1}, want: []string{"dir /bin"}, wantErr: "more than 1 entries"},
		{name: "declared size over budget", data: good, budget: &Budget{MaxBytes: 4}, want: []string{"dir /bin"}, wantErr: "declares 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got, issues []string
			w := &Walker{Budget: tt.budget, OnIssue: func(is Issue) { issues = append(issues, is.Rule) }}
			_, err := w.Walk(context.Background(), bytes.NewReader(tt.data), func(e *Entry, body io.Reader) error {
				s := e.Type.String() + " " + e.Path
				if e.Type == Regular {
					n, _ := io.Copy(io.Discard, body)
					s += " " + strconv.FormatInt(n, 10)
				}
				got = append(got, s)
				return nil
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Walk: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Walk error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// zeros is an endless stream of zero bytes standing in for a compressed bomb.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestWalkRatioBomb(t *testing.T) {
	// One entry declaring 3 GiB of content, read from a "file" that
	// reports only 1 MiB consumed: the ratio check stops it once past the
	// grace of 1 GiB, long before the end.
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: "bomb", Size: 3 << 30, Typeflag: tar.TypeReg, ModTime: t0}); err != nil {
		t.Fatal(err)
	}
	b := NewBudget(func() int64 { return 1 << 20 })
	w := &Walker{Budget: b}
	_, err := w.Walk(context.Background(), io.MultiReader(&hdr, zeros{}), func(*Entry, io.Reader) error { return nil })
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "compression bomb") {
		t.Fatalf("Walk error = %v, want a compression bomb limit", err)
	}
	if b.Bytes() > (1<<30)+drainBufSize {
		t.Errorf("read %d bytes before stopping, want about 1 GiB", b.Bytes())
	}
}

func TestWalkCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := &Walker{}
	_, err := w.Walk(ctx, bytes.NewReader(tarOf(t, &tar.Header{Name: "a"})), func(*Entry, io.Reader) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk error = %v, want context.Canceled", err)
	}
}
