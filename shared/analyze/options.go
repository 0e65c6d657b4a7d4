package analyze

import (
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/tarscan"
)

// Options configure Analyze. The zero value is usable.
type Options struct {
	// MaxEntries bounds the number of archive entries read, over every
	// nested archive; 0 means tarscan.DefaultMaxEntries.
	MaxEntries int64
	// MaxBytes bounds the number of file content bytes read; 0 means
	// tarscan.DefaultMaxBytes.
	MaxBytes int64
	// ShowSecrets puts secret values in the report in clear.
	ShowSecrets bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Tool names the program, for the report and the SBOM.
	Tool Tool
	// Memory is the memory search and core writing of checkpoints and cores.
	Memory SearchOptions
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o *Options) budget(input func() int64) *tarscan.Budget {
	b := tarscan.NewBudget(input)
	if o.MaxEntries > 0 {
		b.MaxEntries = o.MaxEntries
	}
	if o.MaxBytes > 0 {
		b.MaxBytes = o.MaxBytes
	}
	return b
}

// Limits of what is read of one file.
const (
	// headSize is what is read of every file to tell its format.
	headSize = 64 << 10
	// maxTextScan is the largest text file searched for secrets.
	maxTextScan = 1 << 20
	// largeBlob is the size from which a file's entropy is estimated.
	largeBlob = 1 << 20
	// maxKept is the largest JSON file of a tarball kept in memory
	// (configurations, manifests, inspect output).
	maxKept = 16 << 20
	// maxKeptTotal bounds all kept files of one analysis.
	maxKeptTotal = 64 << 20
	// maxListed bounds the newest files listed for a filesystem stage.
	maxListed = 25
)
