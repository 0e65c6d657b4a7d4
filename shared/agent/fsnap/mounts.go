package fsnap

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo, classified.
type Mount struct {
	ID       int    `json:"id"`
	ParentID int    `json:"parent_id"`
	Device   string `json:"device"`
	// Root is the path within the source filesystem that is mounted, such
	// as the directory of a bind mount.
	Root string `json:"root"`
	// MountPoint is relative to the target's root, starting with "/".
	MountPoint   string   `json:"mount_point"`
	Options      string   `json:"options"`
	Optional     []string `json:"optional,omitempty"`
	FSType       string   `json:"fs_type"`
	Source       string   `json:"source"`
	SuperOptions string   `json:"super_options"`
	// Kind is root, pseudo, service-account-token, runtime-file (hosts,
	// hostname, resolv.conf, termination log) or volume.
	Kind string `json:"kind"`
	// Skipped is true for mounts whose contents the tar leaves out.
	Skipped bool `json:"skipped"`
}

// pseudoFS are the filesystem types whose contents are the kernel's, not
// the container's.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"mqueue": true, "tracefs": true, "debugfs": true, "securityfs": true, "pstore": true, "bpf": true,
	"configfs": true, "fusectl": true, "hugetlbfs": true, "binfmt_misc": true, "autofs": true,
	"selinuxfs": true, "efivarfs": true, "nsfs": true, "rpc_pipefs": true,
}

// runtimeFiles are the files container runtimes bind-mount into every
// container.
var runtimeFiles = map[string]bool{
	"/etc/hosts": true, "/etc/hostname": true, "/etc/resolv.conf": true, "/dev/termination-log": true,
}

// ParseMountInfo reads /proc/<pid>/mountinfo (proc(5)).
func ParseMountInfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return out, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading mountinfo: %w", err)
	}
	return out, nil
}

func parseMountLine(line string) (Mount, error) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Mount{}, fmt.Errorf("no separator in %q", line)
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 6 || len(g) < 2 {
		return Mount{}, fmt.Errorf("too few fields in %q", line)
	}
	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return m, fmt.Errorf("mount id %q: %w", f[0], err)
	}
	if m.ParentID, err = strconv.Atoi(f[1]); err != nil {
		return m, fmt.Errorf("parent id %q: %w", f[1], err)
	}
	m.Device = f[2]
	m.Root = UnescapeOctal(f[3])
	m.MountPoint = UnescapeOctal(f[4])
	m.Options = f[5]
	m.Optional = f[6:]
	m.FSType = g[0]
	m.Source = UnescapeOctal(g[1])
	if len(g) > 2 {
		m.SuperOptions = g[2]
	}
	m.Kind, m.Skipped = classify(m)
	return m, nil
}

func classify(m Mount) (string, bool) {
	switch {
	case pseudoFS[m.FSType]:
		return "pseudo", true
	case m.MountPoint == "/":
		return "root", false
	case strings.Contains(m.MountPoint, "/secrets/kubernetes.io/serviceaccount") ||
		strings.Contains(m.MountPoint, "/secrets/eks.amazonaws.com/serviceaccount") ||
		strings.Contains(m.MountPoint, "/secrets/azure/tokens"):
		return "service-account-token", false
	case runtimeFiles[m.MountPoint]:
		return "runtime-file", false
	}
	return "volume", false
}

// UnescapeOctal undoes the \NNN escapes the kernel writes for space,
// tab, newline and backslash in mountinfo paths and options.
func UnescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
