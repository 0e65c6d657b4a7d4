package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fixture = "../../shared/analyze/testdata/fixture-image.tar"

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		str  string
		err  bool
	}{
		{in: "64GiB", want: 64 << 30, str: "64GiB"},
		{in: "500MB", want: 500 * 1000 * 1000, str: "500000000"},
		{in: "1048576", want: 1 << 20, str: "1MiB"},
		{in: "2k", want: 2048, str: "2KiB"},
		{in: "-1", err: true},
		{in: "lots", err: true},
		{in: "99999999999TiB", err: true},
	}
	for _, tt := range tests {
		var b ByteSize
		err := b.Set(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Set(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && (int64(b) != tt.want || b.String() != tt.str) {
			t.Errorf("Set(%q) = %d %q, want %d %q", tt.in, b, b.String(), tt.want, tt.str)
		}
	}
}

// runAnalyze runs the command with args and returns its output and exit code.
func runAnalyze(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := NewAnalyzeCommand("docker forensic", &out)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(context.Background())
	code := 0
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	} else if err != nil {
		code = -1
	}
	return out.String(), code, err
}

func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists.html")
	os.WriteFile(existing, []byte("keep"), 0o600)
	truncated := filepath.Join(dir, "truncated.tar")
	raw, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(truncated, raw[:len(raw)/2], 0o600)
	text := filepath.Join(dir, "x.txt")
	os.WriteFile(text, []byte("hello\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		out  string // in the report or the error
	}{
		{"text report", []string{fixture}, 0, "TIMELINE"},
		{"json report", []string{"-o", "json", fixture}, 0, `"schema": "forensic-analyze/v1"`},
		{"fail on high", []string{"--fail-on", "high", fixture}, AnalyzeFindings, "findings of severity critical"},
		{"partial", []string{truncated}, AnalyzePartial, "analysed only in part"},
		{"not an archive", []string{text}, AnalyzeNothing, "not a tar archive"},
		{"bad format", []string{"-o", "xml", fixture}, AnalyzeNothing, "unknown output format"},
		{"bad severity", []string{"--fail-on", "severe", fixture}, AnalyzeNothing, "unknown severity"},
		{"existing html", []string{"--html", existing, fixture}, AnalyzeNothing, "never written over"},
		{"html is the input", []string{"--html", fixture, fixture}, AnalyzeNothing, "exists"},
		{"bad limit", []string{"--max-entries", "0", fixture}, AnalyzeNothing, "must be positive"},
		{"bad size", []string{"--max-bytes", "huge", fixture}, -1, "invalid size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := runAnalyze(t, tt.args...)
			msg := out
			if err != nil {
				msg += err.Error()
			}
			if code != tt.code || !strings.Contains(msg, tt.out) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s", code, tt.code, tt.out, msg)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Error("an existing file was overwritten")
	}
}

func TestAnalyzeWritesFiles(t *testing.T) {
	dir := t.TempDir()
	html, sbom := filepath.Join(dir, "r.html"), filepath.Join(dir, "s.json")
	if _, code, err := runAnalyze(t, "--html", html, "--sbom", sbom, fixture); code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var got []string
	for _, p := range []string{html, sbom} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, st.Mode().Perm().String())
	}
	if diff := cmp.Diff([]string{"-rw-------", "-rw-------"}, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
