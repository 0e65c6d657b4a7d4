package kube

import "github.com/forensic-tools/forensic/shared/evidence"

// IsFatal reports whether a sink error means the bundle is unwritable.
func IsFatal(err error) bool { return err != nil && !evidence.IsSourceError(err) }

// FirstFatal returns the first error that makes the bundle unwritable,
// else nil: per-artifact failures are in the manifest already.
func FirstFatal(errs []error) error {
	for _, err := range errs {
		if IsFatal(err) {
			return err
		}
	}
	return nil
}
