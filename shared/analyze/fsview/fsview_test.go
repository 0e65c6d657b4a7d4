package fsview

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func paths(v *View) []string {
	var out []string
	v.Walk(func(p string, r Ref) { out = append(out, p) })
	return out
}

func TestView(t *testing.T) {
	v := New()
	for i, p := range []string{"/", "/etc", "/etc/motd", "/etc/ssl/certs/a.pem", "/bin/sh", "/var/cache/apt/x", "/var/cache/apt/y"} {
		v.Put(p, Ref{0, int32(i)}, p == "/" || p == "/etc")
	}
	if diff := cmp.Diff([]string{"/", "/bin/sh", "/etc", "/etc/motd", "/etc/ssl/certs/a.pem", "/var/cache/apt/x", "/var/cache/apt/y"}, paths(v)); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if _, ok := v.Get("/etc/ssl"); ok {
		t.Error("implied folder reported as put")
	}
	if !v.Exists("/etc/ssl") {
		t.Error("implied folder does not exist")
	}
	prev, existed := v.Put("/etc/motd", Ref{1, 0}, false)
	if !existed || prev != (Ref{0, 2}) {
		t.Errorf("Put over motd: prev %v existed %v", prev, existed)
	}
	if n, ok := v.Delete("/etc/ssl"); !ok || n != 3 {
		t.Errorf("Delete /etc/ssl = %d %v, want 3 true", n, ok)
	}
	if n, ok := v.Delete("/nope"); ok || n != 0 {
		t.Errorf("Delete /nope = %d %v", n, ok)
	}
	if n := v.Clear("/var/cache"); n != 3 {
		t.Errorf("Clear /var/cache = %d, want 3", n)
	}
	// A file replacing a folder hides what was in it.
	v.Put("/bin", Ref{2, 0}, false)
	if diff := cmp.Diff([]string{"/", "/bin", "/etc", "/etc/motd"}, paths(v)); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if v.Len() != 5 { // /bin, /etc, /etc/motd, /var, /var/cache
		t.Errorf("Len = %d, want 5", v.Len())
	}
	var under []string
	v.WalkUnder("/etc", func(p string, _ Ref) { under = append(under, p) })
	if diff := cmp.Diff([]string{"/etc/motd"}, under); diff != "" {
		t.Errorf("WalkUnder (-want +got):\n%s", diff)
	}
}
