package evidence

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is the archive format of a bundle.
type Format int

// The bundle formats. TarGz is the default.
const (
	TarGz Format = iota
	TarZst
	Tar
	Zip
)

var formatNames = map[Format]string{
	TarGz:  "tar.gz",
	TarZst: "tar.zst",
	Tar:    "tar",
	Zip:    "zip",
}

// String returns the format's usual file extension without the dot.
func (f Format) String() string { return formatNames[f] }

// Extension returns the file extension for the format, with the dot.
func (f Format) Extension() string { return "." + formatNames[f] }

// Set implements pflag.Value so the format can be a command-line flag.
func (f *Format) Set(s string) error {
	p, err := ParseFormat(s)
	if err != nil {
		return err
	}
	*f = p
	return nil
}

// Type implements pflag.Value.
func (f *Format) Type() string { return "format" }

// FormatNames lists the accepted format names, for help texts.
func FormatNames() []string { return []string{"tar.gz", "tgz", "tar.zst", "tar", "zip"} }

// ParseFormat parses a format name such as "tar.gz" or "zip".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "tar.gz", "tgz", "gz":
		return TarGz, nil
	case "tar.zst", "tzst", "zst":
		return TarZst, nil
	case "tar":
		return Tar, nil
	case "zip":
		return Zip, nil
	}
	return 0, fmt.Errorf("unknown bundle format %q (use one of %s)", s, strings.Join(FormatNames(), ", "))
}

// FormatFromName picks the format from an output file name. A name with no
// known extension is an error, so that "bundle.tar.bz2" is not silently
// written as gzip.
func FormatFromName(name string) (Format, error) {
	lower := strings.ToLower(filepath.Base(name))
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return TarGz, nil
	case strings.HasSuffix(lower, ".tar.zst"), strings.HasSuffix(lower, ".tzst"):
		return TarZst, nil
	case strings.HasSuffix(lower, ".tar"):
		return Tar, nil
	case strings.HasSuffix(lower, ".zip"):
		return Zip, nil
	}
	return 0, fmt.Errorf("cannot tell the bundle format from %q: name it .tar.gz, .tgz, .tar.zst, .tar or .zip, or pass --format", name)
}

// TrimExtension removes a known bundle extension from a file name, giving
// the name of the bundle's root folder.
func TrimExtension(name string) string {
	base := filepath.Base(name)
	lower := strings.ToLower(base)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar", ".zip"} {
		if strings.HasSuffix(lower, ext) {
			return base[:len(base)-len(ext)]
		}
	}
	return base
}
