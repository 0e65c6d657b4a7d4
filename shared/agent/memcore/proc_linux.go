//go:build linux

package memcore

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// stat is what the notes need from /proc/PID/stat.
type stat struct {
	state                        string
	ppid, pgrp, sid              int
	flags                        uint64
	utime, stime, cutime, cstime uint64 // clock ticks
	nice                         int
}

func readStat(path string) (stat, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("%s: no ')' in %q", path, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 17 {
		return stat{}, fmt.Errorf("%s: %d fields after the name", path, len(f))
	}
	n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
	u := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
	return stat{state: f[0], ppid: n(1), pgrp: n(2), sid: n(3), flags: u(6),
		utime: u(11), stime: u(12), cutime: u(13), cstime: u(14), nice: n(16)}, nil
}

// status is what the notes need from /proc/PID/status.
type status struct {
	sigPnd, sigBlk uint64
	uid, gid       uint32
}

func readStatus(path string) status {
	var st status
	b, err := os.ReadFile(path)
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "SigPnd":
			st.sigPnd, _ = strconv.ParseUint(v, 16, 64)
		case "SigBlk":
			st.sigBlk, _ = strconv.ParseUint(v, 16, 64)
		case "Uid", "Gid":
			// real, effective, saved, filesystem: the kernel's notes
			// carry the real one.
			fs := strings.Fields(v)
			if len(fs) > 0 {
				id, _ := strconv.ParseUint(fs[0], 10, 32)
				if k == "Uid" {
					st.uid = uint32(id)
				} else {
					st.gid = uint32(id)
				}
			}
		}
	}
	return st
}

// mapping is one line of /proc/PID/maps.
type mapping struct {
	start, end uint64
	perms      string
	offset     uint64
	dev        string
	inode      uint64
	path       string
}

// file reports whether the mapping is of a file (not anonymous memory,
// the heap, the stack or a special mapping such as [vdso]).
func (m mapping) file() bool { return m.inode != 0 && strings.HasPrefix(m.path, "/") }

func parseMaps(b []byte) ([]mapping, error) {
	var ms []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		var m mapping
		f := strings.Fields(line)
		if len(f) < 5 {
			return nil, fmt.Errorf("maps line %q: want at least 5 fields", line)
		}
		s, e, ok := strings.Cut(f[0], "-")
		var err1, err2, err3, err4 error
		m.start, err1 = strconv.ParseUint(s, 16, 64)
		m.end, err2 = strconv.ParseUint(e, 16, 64)
		m.offset, err3 = strconv.ParseUint(f[2], 16, 64)
		m.inode, err4 = strconv.ParseUint(f[4], 10, 64)
		if !ok || err1 != nil || err2 != nil || err3 != nil || err4 != nil || m.end < m.start || len(f[1]) != 4 {
			return nil, fmt.Errorf("maps line %q: bad range, offset or inode", line)
		}
		m.perms, m.dev = f[1], f[3]
		if len(f) > 5 {
			// The path is the rest of the line: it may hold spaces.
			rest := line
			for range 5 {
				rest = strings.TrimLeft(rest, " ")
				rest = rest[strings.IndexByte(rest, ' ')+1:]
			}
			m.path = strings.TrimLeft(rest, " ")
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

// smapsInfo is what Dump needs from /proc/PID/smaps for one mapping.
type smapsInfo struct {
	// anonKB is the "Anonymous:" field: how much of a file mapping was
	// written to (copied on write) and so is no longer the file's data.
	anonKB uint64
	// dontDump is the "dd" VmFlag: the process asked, with
	// madvise(MADV_DONTDUMP), that the mapping be left out of core dumps.
	dontDump bool
}

// parseSmaps reads /proc/PID/smaps per mapping start.
func parseSmaps(b []byte) map[uint64]smapsInfo {
	out := map[uint64]smapsInfo{}
	var cur uint64
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.Contains(k, " ") && !strings.Contains(k, "-") {
			in := out[cur]
			switch k {
			case "Anonymous":
				in.anonKB, _ = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			case "VmFlags":
				in.dontDump = slices.Contains(strings.Fields(v), "dd")
			}
			out[cur] = in
			continue
		}
		if s, _, ok := strings.Cut(line, "-"); ok {
			if a, err := strconv.ParseUint(s, 16, 64); err == nil {
				cur = a
			}
		}
	}
	return out
}
