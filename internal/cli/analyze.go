package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/analyze"
	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
	"github.com/forensic-tools/forensic/shared/analyze/vulns"
	"github.com/forensic-tools/forensic/shared/version"
)

// Exit codes of analyze.
const (
	AnalyzeOK       = 0   // analysed in full, nothing at or above --fail-on
	AnalyzeNothing  = 1   // nothing analysed: unreadable file, not an archive, bad flags, output exists
	AnalyzePartial  = 2   // analysed in part: damaged or altered input, missing layers, a limit reached
	AnalyzeFindings = 3   // analysed in full, with findings at or above --fail-on
	AnalyzeSignal   = 130 // interrupted by Ctrl-C or SIGTERM
)

// AnalyzeOptions are the options of the analyze command.
type AnalyzeOptions struct {
	Output      string
	HTML        string
	SBOM        string
	ShowSecrets bool
	FailOn      string
	MaxEntries  int64
	MaxBytes    ByteSize
	// Vulns are the OSV database files or folders of --vulns.
	Vulns []string
	// Search, SearchRegex, Context and CoreDir read process memory of a
	// checkpoint or a core.
	Search      string
	SearchRegex string
	Context     int
	CoreDir     string
	File        string
	// CommandPath is how users call the plugin, e.g. "docker forensic".
	CommandPath string
	Out         io.Writer
}

// NewAnalyzeCommand returns `analyze FILE`. commandPath is how users call
// the plugin, e.g. "docker forensic", for the examples and the report.
func NewAnalyzeCommand(commandPath string, out io.Writer) *cobra.Command {
	o := &AnalyzeOptions{Out: out, CommandPath: commandPath, Output: "text", MaxBytes: tarscan.DefaultMaxBytes, MaxEntries: tarscan.DefaultMaxEntries}
	cmd := &cobra.Command{
		Use:   "analyze [OPTIONS] FILE",
		Short: "Analyse an image tarball, an exported filesystem, an evidence bundle, a checkpoint or a core",
		Long: `Analyze reads an image tarball (docker save, in the legacy or the OCI layout,
compressed or not), a filesystem tarball (docker export) or an evidence bundle
of this tool, recognised by content, and reports:

  timeline   each layer with its build time and command, and the files it
             adds, changes and deletes (whiteouts, opaque folders) with the
             times of the layer's own tar headers; for a bundle also the
             container's start time and its changes (docker diff)
  findings   setuid/setgid programs, world-writable files, executables in
             /tmp, /dev/shm, /var/tmp or hidden folders, files changed after
             the image was built, ELF programs named like system programs
             elsewhere, large high-entropy blobs, packed executables, layers
             that do not match their digests, hostile archive entries
  secrets    private keys, cloud keys, tokens and passwords in files, in the
             image's environment and history and in logs; masked unless
             --show-secrets
  packages   dpkg, apk, Python, npm and gem packages; --sbom writes them as
             CycloneDX 1.5 JSON for vulnerability scanners
  vulns      with --vulns DB, the packages' known vulnerabilities from an OSV
             database on disk (osv.dev's per-ecosystem all.zip exports, read
             in place, nothing fetched): ID, aliases, severity and CVSS,
             installed and fixed version, the layer; in every report and the
             SBOM, with each database file's SHA-256 and newest record

A CRIU checkpoint (a kubelet checkpoint archive, a CRIU image folder or tar,
a Docker checkpoint) and an ELF process core are reported with their
processes (command lines, credentials, environments masked), open files,
sockets, mounts and threads, secrets and executable anonymous memory found in
their pages; --search and --search-regex list hits in memory, --core-dir
writes one core per process of a checkpoint for gdb.

The input is read once, as a stream, and nothing is extracted to disk.
Bundles are verified first; an altered or incomplete bundle is still analysed
and the report says so. Input that is truncated, corrupt or hostile gives
findings and problems, not a crash.

Exit status: 0 analysed in full and nothing at or above --fail-on;
1 nothing analysed (unreadable or unknown input, bad flags, an output file
exists); 2 analysed in part (truncated or corrupt input, missing layers, a
limit reached, a bundle not intact or marked incomplete); 3 analysed in full
with findings at or above --fail-on; 130 interrupted.`,
		Example: fmt.Sprintf(`  docker save app:1 -o app.tar && %[1]s analyze app.tar
  %[1]s analyze -o json web-20261129T124000Z.tar.gz | jq '.findings[] | select(.severity=="critical")'
  %[1]s analyze --html report.html --sbom app.cdx.json app.tar.gz
  %[1]s analyze --fail-on high app.tar
  %[1]s analyze --vulns osv/ --fail-on critical app.tar   # osv/Debian/all.zip, osv/PyPI/all.zip, ...
  %[1]s analyze --search password --context 32 checkpoint-web_default-app-2026-12-06T20:00:00Z.tar
  %[1]s analyze --core-dir cores/ checkpoint.tar && gdb -c cores/core.1`, commandPath),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			if err := o.Validate(); err != nil {
				return Exit(AnalyzeNothing, err)
			}
			cmd.SilenceUsage = true
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags binds the command's flags.
func (o *AnalyzeOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Output, "output", "o", o.Output, "report format on standard output: text or json")
	fs.StringVar(&o.HTML, "html", "", "also write a self-contained HTML report, with the timeline drawn, to `FILE`")
	fs.StringVar(&o.SBOM, "sbom", "", "also write the packages as a CycloneDX 1.5 JSON SBOM to `FILE`")
	fs.BoolVar(&o.ShowSecrets, "show-secrets", false, "show secret values in clear in every report (masked by default)")
	fs.StringVar(&o.FailOn, "fail-on", "", "exit with status 3 when a finding has this `SEVERITY` or a higher one (critical, high, medium, low, info)")
	fs.Int64Var(&o.MaxEntries, "max-entries", o.MaxEntries, "stop after this many archive entries, nested ones included (tar bomb guard)")
	fs.Var(&o.MaxBytes, "max-bytes", "stop after reading this much file content, e.g. 64GiB (tar bomb guard)")
	fs.StringArrayVar(&o.Vulns, "vulns", nil, "match the packages against the OSV database `DB`: an osv.dev all.zip export or a folder of them (repeatable)")
	fs.StringVar(&o.Search, "search", "", "list every place `STRING` is in the memory of a checkpoint or a core")
	fs.StringVar(&o.SearchRegex, "search-regex", "", "list every match of the regular expression `RE` in the memory of a checkpoint or a core")
	fs.IntVar(&o.Context, "context", 0, "show `N` bytes before and after each --search hit")
	fs.StringVar(&o.CoreDir, "core-dir", "", "write one ELF core per process of a checkpoint into `DIR`, for gdb")
}

// Validate checks the flags, grouped by family, before anything is read.
func (o *AnalyzeOptions) Validate() error {
	switch o.Output {
	case "text", "json":
	default:
		return fmt.Errorf("unknown output format %q: use text or json (and --html FILE for HTML)", o.Output)
	}
	if o.FailOn != "" {
		if _, err := analyze.ParseSeverity(o.FailOn); err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
	}
	if o.MaxEntries <= 0 || o.MaxBytes <= 0 {
		return fmt.Errorf("--max-entries and --max-bytes must be positive")
	}
	for flag, p := range map[string]string{"--html": o.HTML, "--sbom": o.SBOM} {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %s exists, and reports are never written over: choose another name", flag, p)
		}
		if abs(p) == abs(o.File) {
			return fmt.Errorf("%s names the input file", flag)
		}
	}
	if o.Search != "" && o.SearchRegex != "" {
		return fmt.Errorf("--search and --search-regex: give one of them")
	}
	if o.SearchRegex != "" {
		if _, err := regexp.Compile(o.SearchRegex); err != nil {
			return fmt.Errorf("--search-regex: %w", err)
		}
	}
	if o.Context < 0 || o.Context > 4096 {
		return fmt.Errorf("--context must be between 0 and 4096 bytes")
	}
	if o.CoreDir != "" {
		if des, err := os.ReadDir(o.CoreDir); err == nil && len(des) > 0 {
			return fmt.Errorf("--core-dir: %s is not empty, and cores are never written over: choose another folder", o.CoreDir)
		}
	}
	if o.HTML != "" && o.HTML == o.SBOM {
		return fmt.Errorf("--html and --sbom name the same file")
	}
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// Run analyses the file and writes the reports.
func (o *AnalyzeOptions) Run(parent context.Context) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := SignalContext(parent)
	defer stop()
	mem := analyze.SearchOptions{Literal: o.Search, Context: o.Context, CoreDir: o.CoreDir}
	if o.SearchRegex != "" {
		mem.Regex = regexp.MustCompile(o.SearchRegex) // checked by Validate
	}
	var db *vulns.DB
	if len(o.Vulns) > 0 {
		// Opened first: a damaged database is said before a long analysis.
		var err error
		if db, err = vulns.Open(o.Vulns); err != nil {
			return Exit(AnalyzeNothing, fmt.Errorf("--vulns: %w", err))
		}
		defer db.Close()
	}
	rep, err := analyze.Analyze(ctx, o.File, analyze.Options{
		MaxEntries: o.MaxEntries, MaxBytes: int64(o.MaxBytes), ShowSecrets: o.ShowSecrets,
		Tool:   analyze.Tool{Name: o.CommandPath + " analyze", Version: version.Version},
		Memory: mem,
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrInterrupted) {
			return Exit(AnalyzeSignal, ErrInterrupted)
		}
		return Exit(AnalyzeNothing, err)
	}
	if db != nil {
		if err := rep.MatchVulnerabilities(ctx, db); err != nil {
			if errors.Is(context.Cause(ctx), ErrInterrupted) {
				return Exit(AnalyzeSignal, ErrInterrupted)
			}
			return Exit(AnalyzeNothing, err)
		}
	}
	if o.HTML != "" {
		if err := writeNew(o.HTML, rep.WriteHTML); err != nil {
			return Exit(AnalyzeNothing, fmt.Errorf("writing the HTML report: %w", err))
		}
	}
	if o.SBOM != "" {
		if err := writeNew(o.SBOM, rep.WriteSBOM); err != nil {
			return Exit(AnalyzeNothing, fmt.Errorf("writing the SBOM: %w", err))
		}
	}
	if o.Output == "json" {
		err = rep.WriteJSON(o.Out)
	} else {
		err = rep.WriteText(o.Out)
	}
	if err != nil {
		return Exit(AnalyzeNothing, fmt.Errorf("writing the report: %w", err))
	}
	switch {
	case !rep.Complete:
		return Exit(AnalyzePartial, fmt.Errorf("%s was analysed only in part: %s", o.File, strings.Join(rep.Problems, "; ")))
	case o.FailOn != "":
		limit, _ := analyze.ParseSeverity(o.FailOn)
		if w := rep.Worst(); w != "" && w.Rank() >= limit.Rank() {
			return Exit(AnalyzeFindings, fmt.Errorf("%s has findings of severity %s (--fail-on %s)", o.File, w, o.FailOn))
		}
	}
	return nil
}

// writeNew writes a new file through a temporary file in the same folder,
// with mode 0600, and links it into place only when complete, so that a
// reader never sees half a report and an existing file is never replaced.
func writeNew(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), name); err != nil {
		return err
	}
	return nil
}

// ByteSize is a flag value for sizes such as "64GiB", "500MB" or "1048576".
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000}, {"tb", 1000 * 1000 * 1000 * 1000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
}

// Set implements pflag.Value.
func (b *ByteSize) Set(s string) error {
	l := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(l, u.suffix) {
			l, mult = strings.TrimSpace(strings.TrimSuffix(l, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q: use a positive number of bytes, optionally with KiB, MiB, GiB or TiB", s)
	}
	*b = ByteSize(n * mult)
	return nil
}

// String implements pflag.Value.
func (b *ByteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.m && v%u.m == 0 {
			return fmt.Sprintf("%d%s", v/u.m, u.s)
		}
	}
	return strconv.FormatInt(v, 10)
}

// Type implements pflag.Value.
func (b *ByteSize) Type() string { return "size" }
