// Package sbom writes a software bill of materials in CycloneDX 1.5 JSON
// (https://cyclonedx.org/docs/1.5/json/), the format vulnerability
// scanners such as Trivy and Grype read with their "sbom" commands.
//
// Every component carries its package URL, and the database file and
// layer it was read from as properties, so a finding can be traced back
// to the evidence.
package sbom
