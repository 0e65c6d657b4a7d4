package procsnap

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options say what to snapshot.
type Options struct {
	// ProcRoot is the proc filesystem to read; empty means "/proc".
	ProcRoot string
	// TargetPID is the process whose network namespace the sockets are
	// read from and whose /etc/passwd names users.
	TargetPID int
	// Env includes each process's environment.
	Env bool
	// SelfPID is the agent's own pid in ProcRoot, marked in the snapshot;
	// 0 means found from ProcRoot/self.
	SelfPID int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Snapshot is the document the agent streams as proc/snapshot.json.
type Snapshot struct {
	Taken     time.Time `json:"taken"`
	ProcRoot  string    `json:"proc_root"`
	TargetPID int       `json:"target_pid"`
	// BootTime is the kernel's boot time (btime in /proc/stat), from which
	// process start times are computed.
	BootTime  time.Time `json:"boot_time,omitzero"`
	Processes []Process `json:"processes"`
	Sockets   []Socket  `json:"sockets"`
	// Errors are problems that cost a whole process or socket table.
	Errors []string `json:"errors,omitempty"`
}

// Process is one process.
type Process struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Name string `json:"name"`
	// State is the one-letter state of /proc/<pid>/stat (R, S, D, Z, ...).
	State string `json:"state"`
	// UIDs and GIDs are real, effective, saved and filesystem ids.
	UIDs []int `json:"uids"`
	GIDs []int `json:"gids"`
	// User is the name of the effective uid in the target's /etc/passwd.
	User      string    `json:"user,omitempty"`
	Cmdline   []string  `json:"cmdline"`
	StartTime time.Time `json:"start_time,omitzero"`
	Threads   int       `json:"threads"`
	// Exe is the executable's link text; ExeDeleted is true when the file
	// was deleted or replaced since it was started ("(deleted)").
	Exe        string `json:"exe,omitempty"`
	ExeDeleted bool   `json:"exe_deleted,omitempty"`
	ExeSHA256  string `json:"exe_sha256,omitempty"`
	ExeSize    int64  `json:"exe_size,omitempty"`
	Cwd        string `json:"cwd,omitempty"`
	Root       string `json:"root,omitempty"`
	// Status holds every line of /proc/<pid>/status.
	Status     map[string]string `json:"status,omitempty"`
	Maps       []Mapping         `json:"maps,omitempty"`
	FDs        []FD              `json:"fds,omitempty"`
	Namespaces map[string]string `json:"namespaces,omitempty"`
	Environ    []string          `json:"environ,omitempty"`
	// Agent marks the forensic agent's own process.
	Agent bool `json:"agent,omitempty"`
	// Errors maps a field to why it could not be read.
	Errors map[string]string `json:"errors,omitempty"`
}

// Mapping is one line of /proc/<pid>/maps.
type Mapping struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Perms  string `json:"perms"`
	Offset string `json:"offset"`
	Dev    string `json:"dev"`
	Inode  uint64 `json:"inode"`
	Path   string `json:"path,omitempty"`
}

// FD is one open file descriptor.
type FD struct {
	FD     int    `json:"fd"`
	Target string `json:"target"`
	// SocketInode is set for sockets ("socket:[inode]").
	SocketInode uint64 `json:"socket_inode,omitempty"`
}

// Socket is one socket of the target's network namespace.
type Socket struct {
	// Proto is tcp, tcp6, udp, udp6 or unix.
	Proto  string `json:"proto"`
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	State  string `json:"state"`
	UID    int    `json:"uid"`
	Inode  uint64 `json:"inode"`
	TxQ    uint64 `json:"tx_queue"`
	RxQ    uint64 `json:"rx_queue"`
	// Type and Path are set for unix sockets; an abstract path starts
	// with '@'.
	Type string `json:"type,omitempty"`
	Path string `json:"path,omitempty"`
	// Owners are the processes holding the socket open.
	Owners []Owner `json:"owners,omitempty"`
}

// Owner is a process file descriptor that refers to a socket.
type Owner struct {
	PID  int    `json:"pid"`
	FD   int    `json:"fd"`
	Name string `json:"name"`
}

// clockTicks is USER_HZ, fixed at 100 in the kernel's user ABI.
const clockTicks = 100

// Take reads the snapshot. It fails only when ProcRoot cannot be listed.
func Take(o Options) (*Snapshot, error) {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Snapshot{Taken: o.Now().UTC(), ProcRoot: o.ProcRoot, TargetPID: o.TargetPID, Processes: []Process{}, Sockets: []Socket{}}
	entries, err := os.ReadDir(o.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", o.ProcRoot, err)
	}
	if o.SelfPID == 0 {
		if l, err := os.Readlink(filepath.Join(o.ProcRoot, "self")); err == nil {
			o.SelfPID, _ = strconv.Atoi(l)
		}
	}
	s.BootTime = bootTime(o.ProcRoot)
	users := readPasswd(filepath.Join(o.ProcRoot, strconv.Itoa(o.TargetPID), "root"))
	hashes := map[fileKey]exeHash{}

	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	for _, pid := range pids {
		p, err := readProcess(o, pid, users, hashes, s.BootTime)
		if err != nil {
			s.Errors = append(s.Errors, err.Error())
			continue
		}
		p.Agent = pid == o.SelfPID
		s.Processes = append(s.Processes, *p)
	}

	owners := map[uint64][]Owner{}
	for _, p := range s.Processes {
		for _, fd := range p.FDs {
			if fd.SocketInode != 0 {
				owners[fd.SocketInode] = append(owners[fd.SocketInode], Owner{PID: p.PID, FD: fd.FD, Name: p.Name})
			}
		}
	}
	netDir := filepath.Join(o.ProcRoot, strconv.Itoa(o.TargetPID), "net")
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		socks, err := readInetSockets(filepath.Join(netDir, proto), proto)
		if err != nil {
			s.Errors = append(s.Errors, err.Error())
		}
		s.Sockets = append(s.Sockets, socks...)
	}
	socks, err := readUnixSockets(filepath.Join(netDir, "unix"))
	if err != nil {
		s.Errors = append(s.Errors, err.Error())
	}
	s.Sockets = append(s.Sockets, socks...)
	for i := range s.Sockets {
		s.Sockets[i].Owners = owners[s.Sockets[i].Inode]
	}
	return s, nil
}

// WriteJSON writes the snapshot as indented JSON.
func (s *Snapshot) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encoding process snapshot: %w", err)
	}
	return nil
}

// errGone says the process exited while it was read.
var errGone = errors.New("process exited during the snapshot")

func readProcess(o Options, pid int, users map[int]string, hashes map[fileKey]exeHash, boot time.Time) (*Process, error) {
	dir := filepath.Join(o.ProcRoot, strconv.Itoa(pid))
	p := &Process{PID: pid, Errors: map[string]string{}}
	note := func(field string, err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.Errors[field] = err.Error()
		}
	}

	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("process %d: %w", pid, errGone)
		}
		return nil, fmt.Errorf("process %d: reading stat: %w", pid, err)
	}
	if err := parseStat(string(stat), p, boot); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}

	if b, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		p.Status = parseStatus(string(b))
		p.UIDs = parseIDs(p.Status["Uid"])
		p.GIDs = parseIDs(p.Status["Gid"])
		if n := p.Status["Name"]; n != "" {
			p.Name = n
		}
		if len(p.UIDs) > 1 {
			p.User = users[p.UIDs[1]]
		}
	} else {
		note("status", err)
	}

	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = splitNUL(b)
	} else {
		note("cmdline", err)
	}
	if p.Cmdline == nil {
		p.Cmdline = []string{}
	}
	if o.Env {
		if b, err := os.ReadFile(filepath.Join(dir, "environ")); err == nil {
			p.Environ = splitNUL(b)
		} else {
			note("environ", err)
		}
	}

	if l, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Exe = l
		p.ExeDeleted = strings.HasSuffix(l, " (deleted)")
		h, err := hashExe(filepath.Join(dir, "exe"), hashes)
		if err == nil {
			p.ExeSHA256, p.ExeSize = h.sum, h.size
		}
		note("exe_sha256", err)
	} else {
		// Kernel threads have no executable: ENOENT, not noted.
		note("exe", err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.Cwd = l
	} else {
		note("cwd", err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "root")); err == nil {
		p.Root = l
	} else {
		note("root", err)
	}

	if f, err := os.Open(filepath.Join(dir, "maps")); err == nil {
		p.Maps, err = parseMaps(f)
		f.Close()
		note("maps", err)
	} else {
		note("maps", err)
	}

	p.FDs, err = readFDs(filepath.Join(dir, "fd"))
	note("fds", err)
	p.Namespaces, err = readLinks(filepath.Join(dir, "ns"))
	note("namespaces", err)

	// A process whose directory is gone by now exited mid-read: what was
	// read may mix two processes, so leave it out.
	if _, err := os.Stat(filepath.Join(dir, "stat")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("process %d: %w", pid, errGone)
	}
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	return p, nil
}

// parseStat reads the fields of /proc/<pid>/stat that status lacks. The
// command name is in parentheses and may itself hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseStat(s string, p *Process, boot time.Time) error {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return fmt.Errorf("malformed stat %q", s)
	}
	p.Name = s[open+1 : end]
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state) of proc(5).
	if len(f) < 20 {
		return fmt.Errorf("stat has %d fields after the command name, want at least 20", len(f))
	}
	p.State = f[0]
	p.PPID, _ = strconv.Atoi(f[1])
	p.Threads, _ = strconv.Atoi(f[17])
	if ticks, err := strconv.ParseUint(f[19], 10, 64); err == nil && !boot.IsZero() {
		p.StartTime = boot.Add(time.Duration(ticks) * time.Second / clockTicks).UTC()
	}
	return nil
}

func parseStatus(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func parseIDs(s string) []int {
	var ids []int
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil {
			ids = append(ids, n)
		}
	}
	return ids
}

func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func bootTime(procRoot string) time.Time {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(n, 0).UTC()
			}
		}
	}
	return time.Time{}
}

// readPasswd maps uids to names from the target's /etc/passwd. The file is
// opened by openInRoot, since a hostile target could make it a link to a
// FIFO or to the agent's own stdin. A missing or odd file gives an empty
// map: names are a convenience, the numeric ids are the record.
func readPasswd(root string) map[int]string {
	m := map[int]string{}
	f, err := openInRoot(root, "etc/passwd")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < 3 {
			continue
		}
		if uid, err := strconv.Atoi(parts[2]); err == nil {
			if _, dup := m[uid]; !dup {
				m[uid] = parts[0]
			}
		}
	}
	return m
}

type fileKey struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

type exeHash struct {
	sum  string
	size int64
}

// hashExe hashes the file behind an exe link, once per distinct file.
func hashExe(path string, cache map[fileKey]exeHash) (exeHash, error) {
	f, err := os.Open(path)
	if err != nil {
		return exeHash{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return exeHash{}, err
	}
	var key fileKey
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key = fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino), size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		if h, ok := cache[key]; ok {
			return h, nil
		}
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return exeHash{}, err
	}
	r := exeHash{sum: hex.EncodeToString(h.Sum(nil)), size: n}
	if key != (fileKey{}) {
		cache[key] = r
	}
	return r, nil
}

func parseMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		start, end, _ := strings.Cut(f[0], "-")
		m := Mapping{Start: start, End: end, Perms: f[1], Offset: f[2], Dev: f[3]}
		m.Inode, _ = strconv.ParseUint(f[4], 10, 64)
		if len(f) > 5 {
			// The path is the rest of the line and may hold spaces.
			idx := indexField(line, 5)
			m.Path = line[idx:]
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// indexField returns the byte offset of the n-th (0-based) space-separated
// field of line.
func indexField(line string, n int) int {
	i, field := 0, -1
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		field++
		if field == n {
			return i
		}
		for i < len(line) && line[i] != ' ' {
			i++
		}
	}
	return len(line)
}

func readFDs(dir string) ([]FD, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []FD
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		fd := FD{FD: n, Target: l}
		if v, ok := strings.CutPrefix(l, "socket:["); ok {
			fd.SocketInode, _ = strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64)
		}
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FD < out[j].FD })
	return out, nil
}

func readLinks(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, e := range entries {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			m[e.Name()] = l
		}
	}
	return m, nil
}
