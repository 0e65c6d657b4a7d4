package stream

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ExtractTo returns a Handler that writes each artifact to a file under dir,
// at the artifact's name (already checked by ValidName), creating
// directories as needed, with mode 0600. It refuses to overwrite a file.
// An artifact cut short is kept as far as it arrived, and the error is
// returned. It is meant for tests and for `forensic-agent unpack`; plugins
// stream artifacts into their evidence bundle instead.
func ExtractTo(dir string) Handler {
	return func(a *Artifact) error {
		p := filepath.Join(dir, filepath.FromSlash(a.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("creating directory for %s: %w", a.Name, err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", a.Name, err)
		}
		_, cerr := io.Copy(f, a)
		if err := f.Close(); err != nil && cerr == nil {
			cerr = err
		}
		if cerr != nil && !errors.Is(cerr, io.ErrUnexpectedEOF) {
			return fmt.Errorf("writing %s: %w", a.Name, cerr)
		}
		// A truncated artifact is reported by Demux itself.
		return nil
	}
}
