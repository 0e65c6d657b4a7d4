// Package pkgdb reads the package databases found in a container's
// filesystem: Debian's dpkg status (and the status.d folder of distroless
// images), Alpine's apk installed file, Python distribution metadata,
// npm package.json files under node_modules and Ruby gem specifications,
// plus /etc/os-release. RPM databases are recognised but not parsed (they
// are Berkeley DB or SQLite files).
//
// Every parser takes the file's bytes, bounded by the caller, and never
// fails on garbage: it returns what it could read.
package pkgdb
