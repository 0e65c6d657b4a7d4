package evidence

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
)

// Format is an archive format: one of the bundle formats, which bundles
// are written in, or a further compressed tar that analyze reads.
type Format int

// The bundle formats. TarGz is the default.
const (
	TarGz Format = iota
	TarZst
	Tar
	Zip
)

// The compressed tars that are read (by analyze, from content) but not
// written.
const (
	tarBz2 Format = iota + Zip + 1
	tarXz
	tarLz4
	tarLzip
	tarMinLZ
	tarSnappy
	tarZlib
	tarBrotli
	numFormats
)

// Archive backends.
const (
	BackendTar = "tar"
	BackendZip = "zip"
)

// formatInfo is one row of the format table.
type formatInfo struct {
	// exts are the file-name endings of the format, the one written first;
	// the first without its dot is the format's name.
	exts []string
	// backend is BackendTar or BackendZip.
	backend string
	// comp compresses a tar backend's stream, with the settings bundles
	// are written with; nil for none. Reading identifies the compression
	// from content and only takes the format's name from here.
	comp archives.Compression
	// serial is comp's settings without its own goroutines (Options.Serial);
	// nil when comp has none.
	serial archives.Compression
	// bundle is true for the formats bundles are written in.
	bundle bool
}

// formats is the one table of archive formats: the bundle writer, the
// plugins' --format flag and -o names, and analyze's naming of what it
// read all come from it. A new format is a new row (and, for a bundle
// format, an exported constant).
var formats = [numFormats]formatInfo{
	// Level 1 with pgzip: evidence acquisition must keep up with the
	// engine; the size saved by higher levels is small next to the time.
	TarGz: {exts: []string{".tar.gz", ".tgz"}, backend: BackendTar, comp: archives.Gz{CompressionLevel: 1, Multithreaded: true},
		serial: archives.Gz{CompressionLevel: 1}, bundle: true},
	// zstd's encoder costs no more memory than a serial one would.
	TarZst:    {exts: []string{".tar.zst", ".tzst"}, backend: BackendTar, comp: archives.Zstd{EncoderOptions: []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest)}}, bundle: true},
	Tar:       {exts: []string{".tar"}, backend: BackendTar, bundle: true},
	Zip:       {exts: []string{".zip"}, backend: BackendZip, bundle: true},
	tarBz2:    {exts: []string{".tar.bz2"}, backend: BackendTar, comp: archives.Bz2{}},
	tarXz:     {exts: []string{".tar.xz"}, backend: BackendTar, comp: archives.Xz{}},
	tarLz4:    {exts: []string{".tar.lz4"}, backend: BackendTar, comp: archives.Lz4{}},
	tarLzip:   {exts: []string{".tar.lz"}, backend: BackendTar, comp: archives.Lzip{}},
	tarMinLZ:  {exts: []string{".tar.mz"}, backend: BackendTar, comp: archives.MinLZ{}},
	tarSnappy: {exts: []string{".tar.sz"}, backend: BackendTar, comp: archives.Sz{}},
	tarZlib:   {exts: []string{".tar.zz"}, backend: BackendTar, comp: archives.Zlib{}},
	tarBrotli: {exts: []string{".tar.br"}, backend: BackendTar, comp: archives.Brotli{}},
}

func (f Format) info() formatInfo {
	if f < 0 || f >= numFormats {
		return formatInfo{}
	}
	return formats[f]
}

// String returns the format's name, its usual file extension without the
// dot, such as "tar.gz".
func (f Format) String() string {
	if e := f.Extension(); e != "" {
		return e[1:]
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// Extension returns the file extension for the format, with the dot.
func (f Format) Extension() string {
	if exts := f.Extensions(); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// Extensions returns every file-name ending of the format, with the dot,
// the one written first.
func (f Format) Extensions() []string { return append([]string(nil), f.info().exts...) }

// Backend returns BackendTar or BackendZip.
func (f Format) Backend() string { return f.info().backend }

// Compression returns the extension of the format's compression without
// the dot, such as "gz", or "" for none.
func (f Format) Compression() string {
	if c := f.info().comp; c != nil {
		return strings.TrimPrefix(c.Extension(), ".")
	}
	return ""
}

// Bundle reports whether bundles are written in the format.
func (f Format) Bundle() bool { return f.info().bundle }

// Formats lists every format of the table, the bundle formats first.
func Formats() []Format {
	out := make([]Format, numFormats)
	for i := range out {
		out[i] = Format(i)
	}
	return out
}

// CompressedTar returns the format of a tar stream compressed with c, as
// archives.Identify found it; c nil is a plain tar. ok is false for a
// compression the table does not list.
func CompressedTar(c archives.Compression) (f Format, ok bool) {
	for _, f := range Formats() {
		fc := formats[f].comp
		if formats[f].backend != BackendTar || (c == nil) != (fc == nil) {
			continue
		}
		if c == nil || fc.Extension() == c.Extension() {
			return f, true
		}
	}
	return 0, false
}

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

// FormatNames lists the accepted bundle format names, for help texts:
// each bundle format's extensions without the dot.
func FormatNames() []string {
	var names []string
	for _, f := range Formats() {
		if f.Bundle() {
			for _, e := range f.info().exts {
				names = append(names, e[1:])
			}
		}
	}
	return names
}

// ParseFormat parses a bundle format name: one of FormatNames, with or
// without a leading dot, or a compression's own extension such as "gz".
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimPrefix(s, "."))
	for _, f := range Formats() {
		if !f.Bundle() {
			continue
		}
		if c := f.Compression(); c != "" && name == c {
			return f, nil
		}
		for _, e := range f.info().exts {
			if name == e[1:] {
				return f, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown bundle format %q (use one of %s)", s, strings.Join(FormatNames(), ", "))
}

// FormatFromName picks the bundle format from an output file name. A name
// with no bundle format's extension is an error, so that "bundle.tar.bz2"
// is not silently written as gzip.
func FormatFromName(name string) (Format, error) {
	if f, _, ok := bundleExtension(name); ok {
		return f, nil
	}
	var exts []string
	for _, f := range Formats() {
		if f.Bundle() {
			exts = append(exts, f.info().exts...)
		}
	}
	list := strings.Join(exts[:len(exts)-1], ", ") + " or " + exts[len(exts)-1]
	return 0, fmt.Errorf("cannot tell the bundle format from %q: name it %s, or pass --format", name, list)
}

// bundleExtension finds the bundle format whose extension ends name, and
// that extension.
func bundleExtension(name string) (Format, string, bool) {
	lower := strings.ToLower(filepath.Base(name))
	for _, f := range Formats() {
		if !f.Bundle() {
			continue
		}
		for _, e := range f.info().exts {
			if strings.HasSuffix(lower, e) {
				return f, e, true
			}
		}
	}
	return 0, "", false
}

// TrimExtension removes a known bundle extension from a file name, giving
// the name of the bundle's root folder.
func TrimExtension(name string) string {
	base := filepath.Base(name)
	if _, e, ok := bundleExtension(base); ok {
		return base[:len(base)-len(e)]
	}
	return base
}
