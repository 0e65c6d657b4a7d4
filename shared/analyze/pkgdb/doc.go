// Package pkgdb reads the package databases found in a container's
// filesystem: Debian's dpkg status (and the status.d folder of distroless
// images), Alpine's apk installed file, the RPM database, Python
// distribution metadata, npm package.json files under node_modules and
// Ruby gem specifications, plus /etc/os-release. GoModules lists the
// modules of a Go program from the build information package gobuild
// finds in it.
//
// RPM databases are read by package rpmdb, without a database library:
// the SQLite rpmdb.sqlite (Fedora, RHEL 9 and its rebuilds, Amazon Linux
// 2023) with its write-ahead log rpmdb.sqlite-wal applied; the Berkeley
// DB hash Packages file (RHEL 7 and 8, CentOS, Amazon Linux 2); and the
// NDB Packages.db of SUSE. ParseRPM returns an error with what it
// read when a database cannot be read in full.
//
// Every parser takes the file's bytes, bounded by the caller, and never
// fails on garbage: it returns what it could read.
package pkgdb
