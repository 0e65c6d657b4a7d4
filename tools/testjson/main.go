// Command testjson runs `go test -json` and fails the run when it proves
// less than it seems to.
//
//	go run ./tools/testjson [-quiet] [-label LABEL] -- [go test flags] [packages]
//
// It prints the tests' output as `go test -v` would (with -quiet, only the
// packages' result lines and the whole output of each failed test), then
// one closing line "testjson: N passed, N failed, N skipped" (with -label,
// "testjson (LABEL): ...", on this and every verdict line, so that a suite
// run once per engine says which engine each result is from), and exits
// non-zero when go test failed, when any test failed or was skipped, when
// a package with tests ran none of them (a -run filter that matched
// nothing), or when no test ran at all. A package with no test files is
// not a failure: `./...` holds packages without tests.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// tally is what a whole run proved.
type tally struct {
	passed, failed, skipped int
	skippedTests            []string
	failedTests             []string
	// noTests lists the packages that have tests but ran none.
	noTests []string
	// ranTests counts, per package, the tests that ran.
	ranTests map[string]int
}

func main() {
	quiet := flag.Bool("quiet", false, "print only package results and the output of failed tests")
	label := flag.String("label", "", "name the run in every verdict line, such as the engine it ran against")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testjson [-quiet] [-label LABEL] -- [go test flags] [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	os.Exit(run(flag.Args(), *quiet, *label, os.Stdout, os.Stderr))
}

func run(args []string, quiet bool, label string, stdout, stderr io.Writer) int {
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testjson: %v\n", err)
		return 2
	}
	// Ctrl-C reaches go test through the process group; keep reading
	// what it still reports.
	signal.Ignore(syscall.SIGINT)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testjson: starting go test: %v\n", err)
		return 2
	}
	t, perr := read(out, quiet, stdout)
	werr := cmd.Wait()
	return verdict(t, perr, werr, label, stdout)
}

// read reads the events, prints what is to be printed, and counts.
func read(r io.Reader, quiet bool, w io.Writer) (*tally, error) {
	t := &tally{ranTests: map[string]int{}}
	// Output held per test until it ends, in quiet mode.
	held := map[string]*strings.Builder{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (go test writes some build failures as text).
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "output":
			switch {
			case e.Test == "":
				if strings.HasPrefix(e.Output, "testing: warning: no tests to run") {
					t.noTests = append(t.noTests, e.Package)
				}
				if !quiet || !(strings.HasPrefix(e.Output, "=== ") || e.Output == "PASS\n") {
					fmt.Fprint(w, e.Output)
				}
			case quiet:
				b := held[key]
				if b == nil {
					b = &strings.Builder{}
					held[key] = b
				}
				b.WriteString(e.Output)
			default:
				fmt.Fprint(w, e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				continue
			}
			t.ranTests[e.Package]++
			name := e.Package + " " + e.Test
			switch e.Action {
			case "pass":
				t.passed++
			case "fail":
				t.failed++
				t.failedTests = append(t.failedTests, name)
				if b := held[key]; quiet && b != nil {
					fmt.Fprint(w, b.String())
				}
			case "skip":
				t.skipped++
				t.skippedTests = append(t.skippedTests, name)
				if b := held[key]; quiet && b != nil {
					fmt.Fprint(w, b.String())
				}
			}
			delete(held, key)
		}
	}
	return t, sc.Err()
}

// verdict prints the closing lines, each starting with "testjson: " or,
// with a label, "testjson (LABEL): ", and returns the exit code.
func verdict(t *tally, readErr, waitErr error, label string, w io.Writer) int {
	code := 0
	prefix := "testjson: "
	if label != "" {
		prefix = "testjson (" + label + "): "
	}
	fail := func(format string, a ...any) {
		fmt.Fprintf(w, prefix+format+"\n", a...)
		code = 1
	}
	if readErr != nil {
		fail("reading go test's events: %v", readErr)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit):
		fail("go test exited with status %d", exit.ExitCode())
	case waitErr != nil:
		fail("go test: %v", waitErr)
	}
	for _, name := range t.failedTests {
		fail("failed: %s", name)
	}
	for _, name := range t.skippedTests {
		fail("skipped (a skipped test proves nothing; make it run or fail): %s", name)
	}
	sort.Strings(t.noTests)
	for _, pkg := range t.noTests {
		fail("%s has tests but ran none: the -run filter matched nothing", pkg)
	}
	if t.passed+t.failed+t.skipped == 0 {
		fail("no test ran")
	}
	fmt.Fprintf(w, prefix+"%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped)
	return code
}
