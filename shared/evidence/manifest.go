package evidence

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Names of the files that Finish writes at the bundle's root.
const (
	ManifestName = "manifest.json"
	CustodyName  = "custody.json"
	LogName      = "collection.log"
	SumsName     = "SHA256SUMS"
)

// Schema identifies the manifest layout; it changes when fields change meaning.
const Schema = "forensic-bundle/v1"

// Manifest is the content of manifest.json.
type Manifest struct {
	Schema string `json:"schema"`
	// Root is the folder inside the archive that holds the bundle.
	Root string `json:"root"`
	// Complete is true only when every artifact was collected in full and
	// no step failed.
	Complete bool `json:"complete"`
	// Incomplete lists why the bundle is not complete.
	Incomplete []string  `json:"incomplete_reasons,omitempty"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	// Artifacts lists every artifact in the order it was written, and every
	// artifact that could not be produced (with no sha256 and an error).
	Artifacts []Artifact `json:"artifacts"`
	// Metadata holds the hashes of the other root files written by Finish
	// (custody.json and collection.log); SHA256SUMS covers this file too.
	Metadata map[string]string `json:"metadata"`
}

// Artifact is one entry of the manifest.
type Artifact struct {
	// Path is relative to the bundle root, slash separated.
	Path string `json:"path"`
	// Size is the number of bytes stored in the bundle.
	Size int64 `json:"size"`
	// SHA256 is the hex digest of the stored bytes; empty when nothing was stored.
	SHA256 string `json:"sha256,omitempty"`
	// Producer names the collection step, e.g. "docker.export".
	Producer string `json:"producer"`
	// Description says in words what the artifact is.
	Description string `json:"description,omitempty"`
	// MediaType is the content type, e.g. "application/json".
	MediaType string    `json:"media_type,omitempty"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended"`
	// Partial is true when the source failed after some bytes were stored:
	// the stored bytes are hashed and intact, but the artifact is cut short.
	// A source that ended before the size it announced is partial too; in
	// a tar bundle its entry is filled up with zeros to that size (hashed
	// with the rest), and Error says from which byte on it is no evidence.
	Partial bool `json:"partial,omitempty"`
	// Error is why the artifact is missing or partial.
	Error string `json:"error,omitempty"`
}

// Stored reports whether bytes of this artifact are in the bundle.
func (a Artifact) Stored() bool { return a.SHA256 != "" }

// Reserved reports whether name is one of the root files Finish writes.
func Reserved(name string) bool {
	switch name {
	case ManifestName, CustodyName, LogName, SumsName:
		return true
	}
	return false
}

// CleanPath checks an artifact path and returns its clean form. Paths are
// relative, slash separated, without "..", and free of characters that
// SHA256SUMS cannot carry (newline, backslash).
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty artifact path")
	}
	if strings.ContainsAny(p, "\n\r\\\x00") {
		return "", fmt.Errorf("artifact path %q has a newline, backslash or NUL", p)
	}
	if path.IsAbs(p) {
		return "", fmt.Errorf("artifact path %q is absolute", p)
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("artifact path %q leaves the bundle root", p)
	}
	if Reserved(c) {
		return "", fmt.Errorf("artifact path %q is reserved for the bundle's own files", p)
	}
	return c, nil
}
