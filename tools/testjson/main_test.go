package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// module writes a small module with a test that passes, one that skips,
// one whose subtest skips and one that fails, and a package without tests.
func module(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/tj\n\ngo 1.22\n",
		"a_test.go": `package tj

import "testing"

func TestOK(t *testing.T)   {}
func TestSkip(t *testing.T) { t.Skip("not here") }
func TestSub(t *testing.T)  { t.Run("inner", func(t *testing.T) { t.Skip("not here") }) }
func TestFail(t *testing.T) { t.Fatal("broken on purpose") }
`,
		"b/b.go": "package b\n",
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
	return dir
}

// TestVerdicts runs the real go test on the module and checks the exit
// code and the closing line for each kind of run.
func TestVerdicts(t *testing.T) {
	dir := module(t)
	t.Chdir(dir)
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")
	for _, tc := range []struct {
		name    string
		args    []string
		quiet   bool
		label   string
		code    int
		closing string
		says    []string
		hides   []string
	}{
		{name: "pass", args: []string{"-run", "^TestOK$", "./..."}, code: 0, closing: "testjson: 1 passed, 0 failed, 0 skipped",
			says: []string{"=== RUN   TestOK", "?   \texample.com/tj/b\t[no test files]"}},
		{name: "pass quiet", args: []string{"-run", "^TestOK$", "./..."}, quiet: true, code: 0, closing: "testjson: 1 passed, 0 failed, 0 skipped",
			hides: []string{"=== RUN"}},
		{name: "skip", args: []string{"-run", "^TestSkip$", "./..."}, code: 1, closing: "testjson: 0 passed, 0 failed, 1 skipped",
			says: []string{"skipped (a skipped test proves nothing; make it run or fail): example.com/tj TestSkip"}},
		{name: "skipped subtest", args: []string{"-run", "^TestSub$", "./..."}, quiet: true, code: 1, closing: "testjson: 1 passed, 0 failed, 1 skipped",
			says: []string{"example.com/tj TestSub/inner", "not here"}},
		{name: "filter matches nothing", args: []string{"-run", "^TestNothing$", "./..."}, code: 1, closing: "testjson: 0 passed, 0 failed, 0 skipped",
			says: []string{"example.com/tj has tests but ran none", "no test ran"}},
		{name: "no test files at all", args: []string{"./b"}, code: 1, closing: "testjson: 0 passed, 0 failed, 0 skipped",
			says: []string{"no test ran"}},
		{name: "fail", args: []string{"-run", "^TestFail$|^TestOK$", "./..."}, quiet: true, code: 1, closing: "testjson: 1 passed, 1 failed, 0 skipped",
			says: []string{"broken on purpose", "failed: example.com/tj TestFail", "go test exited with status 1"}},
		{name: "labelled", args: []string{"-run", "^TestFail$|^TestOK$", "./..."}, quiet: true, label: "engine modern", code: 1,
			closing: "testjson (engine modern): 1 passed, 1 failed, 0 skipped",
			says:    []string{"testjson (engine modern): failed: example.com/tj TestFail"}},
		{name: "build failure", args: []string{"./nosuchpackage"}, code: 1, closing: "testjson: 0 passed, 0 failed, 0 skipped",
			says: []string{"go test exited with status 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, tc.quiet, tc.label, &out, &errOut)
			text := out.String()
			lines := strings.Split(strings.TrimSpace(text), "\n")
			if code != tc.code || lines[len(lines)-1] != tc.closing {
				t.Errorf("exit %d, closing line %q; want %d, %q\n%s%s", code, lines[len(lines)-1], tc.code, tc.closing, text, errOut.String())
			}
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("output lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tc.hides {
				if strings.Contains(text, s) {
					t.Errorf("output has %q:\n%s", s, text)
				}
			}
		})
	}
}
