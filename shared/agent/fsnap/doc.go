// Package fsnap writes a tar of a container's root filesystem as seen
// through /proc/<pid>/root, without entering the container.
//
// The walk never resolves a path: it holds an open descriptor of each
// directory on the way down and opens each entry by its single name
// relative to it, with O_NOFOLLOW, so a symbolic link inside the target
// (absolute ones would resolve against the agent's root, not the target's)
// is never followed; it is stored as a link with its target text as is.
// Regular files are opened with O_PATH first and checked to still be the
// regular file that was listed before they are opened for reading, so a
// file swapped for a device or FIFO mid-walk is never opened. Files are
// read with O_NOATIME where allowed, so that collection does not change
// their access times.
//
// Mount points of pseudo filesystems (proc, sysfs, devtmpfs, devpts,
// cgroup, mqueue and the like), found in /proc/<pid>/mountinfo, are stored
// as empty directories and not descended into; the /dev tmpfs of a
// container is kept, device nodes and all, because /dev/shm is a known
// staging place. ParseMountInfo classifies every mount (root, volume,
// service-account token, runtime file, pseudo) for the fs/mounts.json side
// artifact.
//
// Entries keep mode (with setuid, setgid, sticky), numeric owner, modify,
// access and change times (PAX), extended attributes (SCHILY.xattr, which
// holds file capabilities), hard links as hard links, and any name bytes:
// newlines, non-UTF-8 (flagged hdrcharset=BINARY) and long names go in PAX
// records. Devices and FIFOs are recorded as headers without being opened;
// sockets, which tar cannot represent, are listed in the Report.
// Directory loops (a directory that is its own ancestor, as bind mounts can
// make) are cut and reported. Entries that vanish or cannot be read are
// reported and the walk goes on.
package fsnap
