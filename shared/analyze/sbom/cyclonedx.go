package sbom

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
)

// Subject describes what the bill of materials is about.
type Subject struct {
	// Name is the image reference or the input file's name.
	Name string
	// Version is the image ID or another stable identifier; it also seeds
	// the document's serial number, so that the same input gives the same
	// serial number.
	Version string
	// OS is the distribution, if known.
	OS pkgdb.OS
}

// Tool identifies the program writing the document.
type Tool struct {
	Name, Version string
}

// Package is a package with where it was found.
type Package struct {
	pkgdb.Package
	// Layer is the digest or name of the layer holding the database.
	Layer string
}

// BOM is a CycloneDX document, with just the fields this package writes.
type BOM struct {
	BOMFormat    string      `json:"bomFormat"`
	SpecVersion  string      `json:"specVersion"`
	SerialNumber string      `json:"serialNumber"`
	Version      int         `json:"version"`
	Metadata     Metadata    `json:"metadata"`
	Components   []Component `json:"components"`
	// Vulnerabilities are the known vulnerabilities of the components.
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
	// refs is the bom-ref of each package given to New, in order.
	refs []string
}

// Metadata is the document's metadata.
type Metadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     Tools     `json:"tools"`
	Component Component `json:"component"`
}

// Tools lists the tools that made the document (CycloneDX 1.5 form).
type Tools struct {
	Components []Component `json:"components"`
}

// Component is a CycloneDX component.
type Component struct {
	BOMRef     string     `json:"bom-ref,omitempty"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	PURL       string     `json:"purl,omitempty"`
	Licenses   []License  `json:"licenses,omitempty"`
	Properties []Property `json:"properties,omitempty"`
}

// License names a license.
type License struct {
	License struct {
		Name string `json:"name"`
	} `json:"license"`
}

// Property is a name-value pair.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// New builds the document for the packages of subject.
func New(subject Subject, tool Tool, pkgs []Package, now time.Time) BOM {
	b := BOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: serial(subject),
		Version:      1,
		Metadata: Metadata{
			Timestamp: now.UTC().Format(time.RFC3339),
			Tools:     Tools{Components: []Component{{Type: "application", Name: tool.Name, Version: tool.Version}}},
			Component: Component{BOMRef: "subject", Type: "container", Name: subject.Name, Version: subject.Version},
		},
		Components: []Component{},
	}
	if subject.OS.ID != "" {
		b.Components = append(b.Components, Component{
			BOMRef: "os:" + subject.OS.ID, Type: "operating-system", Name: subject.OS.ID, Version: subject.OS.VersionID,
		})
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		purl := pkgdb.PURL(p.Package, subject.OS)
		ref := purl
		for i := 2; seen[ref]; i++ {
			ref = fmt.Sprintf("%s#%d", purl, i)
		}
		seen[ref] = true
		b.refs = append(b.refs, ref)
		c := Component{BOMRef: ref, Type: "library", Name: p.Name, Version: p.Version, PURL: purl,
			Properties: []Property{{Name: "forensic:path", Value: p.Path}}}
		if p.Layer != "" {
			c.Properties = append(c.Properties, Property{Name: "forensic:layer", Value: p.Layer})
		}
		if p.Source != "" {
			c.Properties = append(c.Properties, Property{Name: "forensic:source-package", Value: p.Source})
		}
		if g := p.Go; g != nil {
			if g.Main {
				c.Type = "application" // the program itself
			}
			if g.Sum != "" {
				c.Properties = append(c.Properties, Property{Name: "forensic:go-sum", Value: g.Sum})
			}
			if g.Replaces != "" {
				c.Properties = append(c.Properties, Property{Name: "forensic:go-replaces", Value: g.Replaces})
			}
		}
		if p.License != "" {
			var l License
			l.License.Name = p.License
			c.Licenses = []License{l}
		}
		b.Components = append(b.Components, c)
	}
	return b
}

// serial makes an RFC 4122 UUID URN from the subject, so that analysing the
// same image twice gives the same serial number.
func serial(s Subject) string {
	h := sha256.Sum256([]byte("forensic-sbom\x00" + s.Name + "\x00" + s.Version))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout (name-based)
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Write encodes the document as indented JSON.
func (b BOM) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}
