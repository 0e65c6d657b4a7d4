#!/usr/bin/env bash
# make-fixtures.sh: rebuilds the RPM database fixtures of this folder with
# the real tools, so that the readers are tested against what rpm and
# Berkeley DB write rather than against files of our own making.
#
#   shared/analyze/rpmdb/testdata/make-fixtures.sh
#
# Needs the Debian packages rpm (rpm 4.18 and rpmbuild: sqlite is its only
# writable backend), sqlite3, db5.3-util (db5.3_load) and gzip. It writes:
#
#   sqlite.db.gz       rpmdb.sqlite after installing three packages, the
#                      write-ahead log checkpointed into it (rpm leaves an
#                      empty rpmdb.sqlite-wal beside it)
#   sqlite.want        `rpm -qa` of that database
#   wal.db.gz          rpmdb.sqlite with only the first package, and
#   wal.wal.gz         its rpmdb.sqlite-wal holding the transactions that
#                      installed the other two: a reader kept a snapshot
#                      open while rpm wrote, so nothing was checkpointed
#   wal.want           `rpm -qa` of the pair
#   bdb.db.gz          a Berkeley DB hash database (/var/lib/rpm/Packages of
#                      RHEL 7/8) made by db5.3_load from the header blobs of
#                      sqlite.db, with 512-byte pages so every blob lies on
#                      overflow pages
#   bdb16k.db.gz       the same with 16 KiB pages: the small blobs lie on the
#                      hash pages, the large one on overflow pages
#   bdb.want           `rpm -qa` of sqlite.db (the blobs are the same)
#
# The databases are gzipped: they are mostly empty pages.
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
qf='%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\n'

# Three tiny noarch packages: one with an epoch, one whose long
# description makes its header larger than a page, one plain.
spec() { # name version release epoch license vendor description
  cat <<SPEC
Name: $1
Version: $2
Release: $3
${4:+Epoch: $4}
Summary: $1, a fixture of the forensic rpmdb tests
License: $5
${6:+Vendor: $6}
BuildArch: noarch
%description
$7
%files
SPEC
}
long=$(for i in $(seq 1 200); do printf 'Line %03d of a description long enough to put the header on overflow pages.\n' "$i"; done)
spec tiny-epoch 1.2.3 4.fc40 2 MIT 'Fixture Vendor' 'A package with an epoch.' >"$tmp/a.spec"
spec long-desc 0.9 1 '' 'GPL-2.0-or-later' 'Fixture Vendor' "$long" >"$tmp/b.spec"
spec plain-pkg 10.0.1 2.el9 '' 'Apache-2.0 AND MIT' '' 'A plain package.' >"$tmp/c.spec"
for s in a b c; do
  rpmbuild --quiet --define "_topdir $tmp/top" -bb "$tmp/$s.spec" >/dev/null
done
rpms=("$tmp"/top/RPMS/noarch/*.rpm)
a=$(ls "$tmp"/top/RPMS/noarch/tiny-epoch-*.rpm)
inst() { # root rpm...
  local root=$1
  shift
  rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --noscripts --ignoreos --ignorearch "$@" 2>/dev/null
}
qa() { rpm -qa --root "$1" --dbpath /var/lib/rpm --qf "$qf" 2>/dev/null | LC_ALL=C sort; }

# sqlite: everything checkpointed.
inst "$tmp/r1" "${rpms[@]}"
gzip -9nc "$tmp/r1/var/lib/rpm/rpmdb.sqlite" >"$out/sqlite.db.gz"
qa "$tmp/r1" >"$out/sqlite.want"

# wal: a reader holds a snapshot taken before the second install, so the
# new pages stay in the log.
inst "$tmp/r2" "$a"
db=$tmp/r2/var/lib/rpm/rpmdb.sqlite
mkfifo "$tmp/hold"
sqlite3 "$db" <"$tmp/hold" >/dev/null &
holder=$!
exec 3>"$tmp/hold"
echo 'BEGIN; SELECT count(*) FROM Packages;' >&3
sleep 1
others=()
for r in "${rpms[@]}"; do [ "$r" = "$a" ] || others+=("$r"); done
for r in "${others[@]}"; do inst "$tmp/r2" "$r"; done
mkdir -p "$tmp/r3/var/lib/rpm"
cp "$db" "$db-wal" "$tmp/r3/var/lib/rpm/"
exec 3>&-
wait "$holder"
[ -s "$tmp/r3/var/lib/rpm/rpmdb.sqlite-wal" ] || { echo "rpm left no write-ahead log content" >&2; exit 1; }
gzip -9nc "$tmp/r3/var/lib/rpm/rpmdb.sqlite" >"$out/wal.db.gz"
gzip -9nc "$tmp/r3/var/lib/rpm/rpmdb.sqlite-wal" >"$out/wal.wal.gz"
qa "$tmp/r3" >"$out/wal.want"

# bdb: db5.3_load in its printable format (-T): key and value lines, a
# backslash and two lowercase hex digits for other bytes. Keys are the header
# numbers, 4 bytes in host (little-endian) order, as rpm writes them.
sqlite3 "$tmp/r1/var/lib/rpm/rpmdb.sqlite" 'SELECT hnum, lower(hex(blob)) FROM Packages ORDER BY hnum' |
  while IFS='|' read -r n hex; do
    printf '\\%02x\\%02x\\%02x\\%02x\n' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255))
    sed 's/../\\&/g' <<<"$hex"
  done >"$tmp/bdb.txt"
db5.3_load -T -t hash -c db_pagesize=512 -f "$tmp/bdb.txt" "$tmp/bdb.db"
db5.3_load -T -t hash -c db_pagesize=16384 -f "$tmp/bdb.txt" "$tmp/bdb16k.db"
gzip -9nc "$tmp/bdb.db" >"$out/bdb.db.gz"
gzip -9nc "$tmp/bdb16k.db" >"$out/bdb16k.db.gz"
cp "$out/sqlite.want" "$out/bdb.want"
ls -l "$out"
