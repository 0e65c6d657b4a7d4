package analyze

import (
	"io"
	"path/filepath"

	"github.com/forensic-tools/forensic/shared/analyze/pkgdb"
	"github.com/forensic-tools/forensic/shared/analyze/sbom"
)

// SBOM returns the report's packages as a CycloneDX document.
func (r *Report) SBOM() sbom.BOM {
	subject := sbom.Subject{Name: filepath.Base(r.Input.Path)}
	if im := r.Image; im != nil {
		if len(im.Tags) > 0 {
			subject.Name = im.Tags[0]
		}
		subject.Version = im.ID
	}
	if r.OS != nil {
		subject.OS = *r.OS
	} else {
		subject.OS = pkgdb.OS{}
	}
	pkgs := make([]sbom.Package, 0, len(r.Packages))
	for _, p := range r.Packages {
		pkgs = append(pkgs, sbom.Package{Package: p.Package, Layer: p.Layer})
	}
	b := sbom.New(subject, sbom.Tool{Name: r.Tool.Name, Version: r.Tool.Version}, pkgs, r.Analyzed)
	// Every vulnerability names a package of r.Packages, given to New in
	// order: adding them cannot fail.
	_ = r.sbomVulnerabilities(&b)
	return b
}

// WriteSBOM writes the report's packages as CycloneDX 1.5 JSON.
func (r *Report) WriteSBOM(w io.Writer) error {
	return r.SBOM().Write(w)
}
