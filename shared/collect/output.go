package collect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/term"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// Output says where a bundle goes.
type Output struct {
	// Path is the file to create, "-" for standard output, or "" for the
	// default name in Dir.
	Path string
	// Dir holds bundles with default names; "" means the current folder.
	Dir string
	// Format, when FormatSet, overrides the format taken from the name.
	Format    evidence.Format
	FormatSet bool
	// Serial compresses each bundle on its writer's goroutine: see
	// evidence.Options.Serial (many bundles written at once).
	Serial bool
}

// Stdout names standard output as the bundle's destination.
const Stdout = "-"

// ErrTerminal is returned when a bundle would be written to a terminal.
var ErrTerminal = errors.New("refusing to write an evidence archive to a terminal: use -o FILE, or redirect standard output")

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// DefaultName is the bundle name used without -o:
// <target>-<UTC timestamp><extension>, e.g. web-20261129T124000Z.tar.gz.
func DefaultName(target string, at time.Time, f evidence.Format) string {
	t := unsafeName.ReplaceAllString(target, "_")
	if t == "" || t == "." || t == ".." {
		t = "target"
	}
	return t + "-" + at.UTC().Format("20060102T150405Z") + f.Extension()
}

// Format returns the bundle format this output will use.
func (o Output) format() (evidence.Format, error) {
	if o.FormatSet || o.Path == "" || o.Path == Stdout {
		return o.Format, nil
	}
	return evidence.FormatFromName(o.Path)
}

// Validate checks the output before anything is collected: the format is
// known, the file does not exist, and a terminal never receives an archive.
func (o Output) Validate(stdoutIsTerminal bool) error {
	if _, err := o.format(); err != nil {
		return err
	}
	switch o.Path {
	case Stdout:
		if stdoutIsTerminal {
			return ErrTerminal
		}
	case "":
		if o.Dir != "" {
			if st, err := os.Stat(o.Dir); err != nil || !st.IsDir() {
				return fmt.Errorf("output folder %s does not exist or is not a folder", o.Dir)
			}
		}
	default:
		if _, err := os.Lstat(o.Path); err == nil {
			return fmt.Errorf("output %s already exists: refusing to overwrite evidence, choose another name with -o", o.Path)
		}
	}
	return nil
}

// Create opens the bundle for target, started at `at`. With no path the
// bundle gets DefaultName in Dir; the root folder inside the archive is
// the file name without its extension.
func (o Output) Create(target string, at time.Time, stdout io.Writer) (*evidence.Writer, error) {
	f, err := o.format()
	if err != nil {
		return nil, err
	}
	name := o.Path
	if name == "" {
		name = filepath.Join(o.Dir, DefaultName(target, at, f))
	}
	root := evidence.TrimExtension(name)
	if name == Stdout {
		root = evidence.TrimExtension(DefaultName(target, at, f))
		return evidence.New(stdout, evidence.Options{Format: f, Root: root, Serial: o.Serial})
	}
	return evidence.Create(name, evidence.Options{Format: f, Root: root, Serial: o.Serial})
}

// IsTerminal reports whether f is a terminal (not merely a character
// device: /dev/null is one too).
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}
