//go:build linux

package nodesnap

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procPath is /proc/<pid>/<file> of the host: under the host root, or the
// agent's own /proc when the host root has no proc mounted there (a
// hostPath mount without its submounts; the agent then runs in the host's
// process namespace).
func (s *snap) procPath(pid int, file string) string {
	if _, err := os.Stat(s.host("/proc/1")); err != nil {
		return filepath.Join("/proc", strconv.Itoa(pid), file)
	}
	return filepath.Join(s.host("/proc"), strconv.Itoa(pid), file)
}

func parentPID(s *snap, pid int) (int, error) {
	v, err := statusField(s.procPath(pid, "status"), "PPid")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// statusField reads one field of /proc/<pid>/status.
func statusField(p, key string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == key {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s has no %s", p, key)
}

// findPID searches the host's processes for the container's init process:
// one whose cgroup names the container ID and that is process 1 of its PID
// namespace (NSpid ends in 1); else the lowest such PID.
func (s *snap) findPID(id string) (int, error) {
	procDir := filepath.Dir(s.procPath(1, ""))
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return 0, fmt.Errorf("listing processes in %s: %w", procDir, err)
	}
	lowest := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cgroup"))
		if err != nil || !containsID(cg, id) {
			continue
		}
		if ns, err := statusField(filepath.Join(procDir, e.Name(), "status"), "NSpid"); err == nil {
			f := strings.Fields(ns)
			if len(f) > 1 && f[len(f)-1] == "1" {
				return pid, nil
			}
		}
		if lowest == 0 || pid < lowest {
			lowest = pid
		}
	}
	if lowest == 0 {
		return 0, fmt.Errorf("no process in %s has a cgroup naming container %s", procDir, id)
	}
	return lowest, nil
}

// containsID reports whether b holds id as a whole word: not part of a
// longer hex string (a prefix of another container's ID).
func containsID(b []byte, id string) bool {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(id))
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if (start == 0 || !isHex(b[start-1])) && (end == len(b) || !isHex(b[end])) {
			return true
		}
		i = start + 1
	}
}
