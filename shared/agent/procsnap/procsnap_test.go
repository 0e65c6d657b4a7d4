package procsnap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, env bool) *Snapshot {
	t.Helper()
	s, err := Take(Options{ProcRoot: "testdata/proc", TargetPID: 1, Env: env,
		Now: func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func proc(t *testing.T, s *Snapshot, pid int) Process {
	t.Helper()
	for _, p := range s.Processes {
		if p.PID == pid {
			return p
		}
	}
	t.Fatalf("process %d missing from %+v", pid, s.Processes)
	return Process{}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestFixtureProcesses(t *testing.T) {
	s := fixture(t, false)
	if got := len(s.Processes); got != 3 {
		t.Fatalf("%d processes, want 1, 7 and 42 (99 is gone)", got)
	}
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "process 99: process exited") {
		t.Errorf("errors %q", s.Errors)
	}
	if !s.BootTime.Equal(time.Unix(1764417600, 0)) {
		t.Errorf("boot time %v", s.BootTime)
	}

	p := proc(t, s, 1)
	if p.Name != "server (v2)" || p.State != "S" || p.PPID != 0 || p.Threads != 4 {
		t.Errorf("stat fields: %+v", p)
	}
	if !reflect.DeepEqual(p.Cmdline, []string{"/app/server", "--listen", ":8080"}) {
		t.Errorf("cmdline %q", p.Cmdline)
	}
	if !reflect.DeepEqual(p.UIDs, []int{1000, 1000, 1000, 1000}) || p.User != "app" {
		t.Errorf("uids %v user %q", p.UIDs, p.User)
	}
	if want := time.Unix(1764417600, 0).Add(2500 * time.Millisecond).UTC(); !p.StartTime.Equal(want) {
		t.Errorf("start time %v, want %v", p.StartTime, want)
	}
	if p.Exe != "../../bin/server" || p.ExeDeleted || p.ExeSHA256 != sha("ELF-fake-server-binary\n") || p.ExeSize != 23 {
		t.Errorf("exe %q deleted %v sha %s size %d", p.Exe, p.ExeDeleted, p.ExeSHA256, p.ExeSize)
	}
	if p.Cwd != "/srv" || p.Status["Umask"] != "0022" || p.Status["CapEff"] != "0000000000000000" {
		t.Errorf("cwd %q status %v", p.Cwd, p.Status)
	}
	if p.Environ != nil {
		t.Errorf("environment read without being asked: %q", p.Environ)
	}
	wantFDs := []FD{{0, "/dev/null", 0}, {3, "socket:[1001]", 1001}, {4, "socket:[2002]", 2002},
		{5, "socket:[3003]", 3003}, {7, "/tmp/evil.log (deleted)", 0}}
	if !reflect.DeepEqual(p.FDs, wantFDs) {
		t.Errorf("fds %+v", p.FDs)
	}
	if p.Namespaces["net"] != "net:[4026532000]" || len(p.Namespaces) != 3 {
		t.Errorf("namespaces %v", p.Namespaces)
	}
	if len(p.Maps) != 3 || p.Maps[0].Path != "/app/server" || p.Maps[1].Path != "[stack]" ||
		p.Maps[2].Path != "/dev/shm/name with spaces (deleted)" || p.Maps[0].Inode != 131 || p.Maps[0].Start != "55d0c0a00000" {
		t.Errorf("maps %+v", p.Maps)
	}
	if p.Agent {
		t.Error("pid 1 marked as the agent")
	}

	old := proc(t, s, 7)
	if !old.ExeDeleted || old.ExeSHA256 != sha("ELF-old-binary\n") || old.User != "root" || old.PPID != 1 {
		t.Errorf("deleted exe: %+v", old)
	}
	agent := proc(t, s, 42)
	if !agent.Agent || agent.Errors["exe_sha256"] != "" || agent.ExeSHA256 != "" {
		// A dangling exe link is ENOENT: not an error worth noting.
		t.Errorf("agent: %+v", agent)
	}
}

func TestFixtureEnvironmentOnlyWhenAsked(t *testing.T) {
	p := proc(t, fixture(t, true), 1)
	if !reflect.DeepEqual(p.Environ, []string{"PATH=/bin", "API_TOKEN=s3cret"}) {
		t.Errorf("environ %q", p.Environ)
	}
}

func TestFixtureSockets(t *testing.T) {
	s := fixture(t, false)
	type row struct{ proto, local, remote, state string }
	var got []row
	byInode := map[uint64]Socket{}
	for _, so := range s.Sockets {
		got = append(got, row{so.Proto, so.Local + so.Path, so.Remote, so.State})
		byInode[so.Inode] = so
	}
	want := []row{
		{"tcp", "0.0.0.0:8080", "0.0.0.0:0", "LISTEN"},
		{"tcp", "127.0.0.1:8080", "127.0.0.1:54321", "ESTABLISHED"},
		{"tcp6", "[::1]:80", "[::]:0", "LISTEN"},
		{"tcp6", "127.0.0.1:80", "172.17.0.2:50000", "ESTABLISHED"},
		{"udp", "10.0.2.15:53", "0.0.0.0:0", "UNCONN"},
		{"unix", "/run/app/control sock", "", "LISTEN"},
		{"unix", "@abstract", "", "UNCONNECTED"},
		{"unix", "", "", "CONNECTED"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sockets:\n got %v\nwant %v", got, want)
	}
	shared := byInode[2002].Owners
	if len(shared) != 2 || shared[0] != (Owner{PID: 1, FD: 4, Name: "server (v2)"}) || shared[1] != (Owner{PID: 7, FD: 9, Name: "old"}) {
		t.Errorf("owners of 2002: %+v", shared)
	}
	if o := byInode[3003].Owners; len(o) != 1 || o[0].FD != 5 || byInode[3003].Type != "stream" {
		t.Errorf("unix 3003: %+v", byInode[3003])
	}
	if so := byInode[1001]; so.UID != 1000 || len(so.Owners) != 1 {
		t.Errorf("tcp 1001: %+v", so)
	}
	if so := s.Sockets[3]; so.TxQ != 16 {
		t.Errorf("tx queue %d", so.TxQ)
	}
}

func TestJSONDocument(t *testing.T) {
	var buf bytes.Buffer
	if err := fixture(t, false).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"taken", "processes", "sockets", "target_pid", "boot_time"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks %q", k)
		}
	}
	if strings.Contains(buf.String(), "s3cret") {
		t.Error("environment leaked into the document")
	}
}

func TestParseHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:0050":                         "127.0.0.1:80",
		"00000000:0000":                         "0.0.0.0:0",
		"00000000000000000000000001000000:1F90": "[::1]:8080",
		"B80D0120000000000000000001000000:0016": "[2001:db8::1]:22",
	} {
		got, err := parseHexAddr(in)
		if err != nil || got != want {
			t.Errorf("parseHexAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"0100007F", "01007F:0050", "zz00007F:0050", "0100007F:10000"} {
		if _, err := parseHexAddr(bad); err == nil {
			t.Errorf("parseHexAddr(%q) accepted", bad)
		}
	}
}

func TestParseStatOddNames(t *testing.T) {
	var p Process
	line := "12 (a) b (c)) R 5 12 12 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 100 0 0 0\n"
	if err := parseStat(line, &p, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if p.Name != "a) b (c)" || p.State != "R" || p.PPID != 5 || p.Threads != 3 {
		t.Errorf("%+v", p)
	}
	if err := parseStat("12 (short) R 1", &p, time.Time{}); err == nil {
		t.Error("short stat accepted")
	}
}

// TestRealProc snapshots the real /proc, which holds this test process
// with a listening socket of its own.
func TestRealProc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self := os.Getpid()
	s, err := Take(Options{TargetPID: self})
	if err != nil {
		t.Fatal(err)
	}
	p := proc(t, s, self)
	if !p.Agent {
		t.Error("own process not marked from /proc/self")
	}
	exe, _ := os.Executable()
	if p.Exe != exe || p.ExeSHA256 == "" || len(p.Maps) == 0 || len(p.Namespaces) == 0 {
		t.Errorf("own process: exe %q (want %q) sha %q maps %d ns %d errors %v", p.Exe, exe, p.ExeSHA256, len(p.Maps), len(p.Namespaces), p.Errors)
	}
	if len(p.Cmdline) == 0 || p.Cmdline[0] != os.Args[0] {
		t.Errorf("cmdline %q", p.Cmdline)
	}
	found := false
	for _, so := range s.Sockets {
		if so.Local == ln.Addr().String() && so.State == "LISTEN" {
			for _, o := range so.Owners {
				found = found || o.PID == self
			}
		}
	}
	if !found {
		t.Errorf("listening socket %s not found with its owner", ln.Addr())
	}
}
