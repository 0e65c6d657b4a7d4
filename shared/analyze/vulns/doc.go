// Package vulns matches installed packages against an OSV database on
// disk: the per-ecosystem all.zip exports osv.dev publishes, read in
// place from the zip (nothing is unpacked, nothing is fetched). It follows
// the OSV schema (https://ossf.github.io/osv-schema/): affected packages
// by ecosystem and name or by package URL, ECOSYSTEM and SEMVER ranges,
// versions lists, withdrawn records and aliases; GIT ranges name commits,
// not versions, and are reported as not judged. Versions are ordered by
// package version's per-ecosystem comparators.
//
// Every record is read for its id and modified time; only those naming a
// package of the image are parsed in full and checked (ParseRecord).
//
// Bad input never stops the match: a record that is not valid OSV JSON,
// one larger than MaxRecord, one whose versions no ordering accepts, is a
// note, and every other record is still matched. Only a database file
// that cannot be read as a zip at all is an error, given before anything
// is matched.
package vulns
