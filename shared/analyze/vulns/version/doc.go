// Package version orders version strings the way each package ecosystem
// does: Debian's dpkg, Alpine's apk, RPM's rpmvercmp, Python's PEP 440,
// semantic versioning for npm and Go (pseudo-versions included) and
// RubyGems. Every comparator returns an error for a string its ecosystem
// does not accept, rather than a guess, so that a matcher can say which
// record or package it could not judge.
package version
