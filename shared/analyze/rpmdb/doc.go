// Package rpmdb reads the package database of RPM based distributions
// from the bytes of its files, with no database library: the SQLite
// rpmdb.sqlite of Fedora, RHEL 9 and Amazon Linux 2023 (its write-ahead
// log applied), the Berkeley DB hash Packages file of RHEL 7 and 8,
// CentOS and Amazon Linux 2, and the NDB Packages.db of SUSE. Each
// record of any of them holds one package's RPM header, from which the
// name, epoch, version, release, architecture, license, vendor and
// source package are taken.
//
// The readers are written from the published file formats and treat the
// input as hostile: every offset and count is checked against the input,
// every page is visited at most once, and what is allocated is bounded by
// the input's size. The NDB reader is tested only against files written
// from the published layout: Debian's rpm, which makes the other
// fixtures, cannot write NDB.
package rpmdb
