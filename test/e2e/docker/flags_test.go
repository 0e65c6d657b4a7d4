//go:build e2e

package docker_e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// createdFor returns the IDs of the containers the engine created, in the
// window from since to until, with the label the agent sidecar carries
// for target. The engine replays its events for a past window, so nothing
// can be missed because a watcher was not ready yet.
func createdFor(t *testing.T, target string, since, until time.Time) []string {
	t.Helper()
	ts := func(tm time.Time) string { return fmt.Sprintf("%d.%09d", tm.Unix(), tm.Nanosecond()) }
	out := mustDocker(t, "events", "--since", ts(since), "--until", ts(until),
		"--filter", "type=container", "--filter", "event=create",
		"--filter", "label=io.forensic-tools.target="+target, "--format", "{{.Actor.ID}}")
	return strings.Fields(out)
}

// TestBadFlagsCreateNothing: live capture flags the agent would refuse,
// and flags that would be ignored, are refused before the engine is asked
// to create anything: one line naming the flag and the fix, the usage,
// exit status 1, no bundle and no sidecar. A failure at run time comes
// without usage.
func TestBadFlagsCreateNothing(t *testing.T) {
	name := startContainer(t, busyboxImage, "sh", "-c", "echo flags; exec sleep 100000")
	waitLog(t, name, "flags")
	id := mustDocker(t, "inspect", "--format", "{{.Id}}", name)
	const usage = "Usage:  docker forensic export [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'docker forensic export --help' for more information\n"
	since := time.Now()
	for _, tc := range []struct {
		name  string
		args  []string
		first string // first line on standard error (its start, without usage)
		usage bool
	}{
		{"negative max packets", []string{"--pcap", "2s", "--pcap-max-packets", "-5", name},
			"docker forensic: --pcap-max-packets -5 is negative: give a number of packets, or 0 for no limit", true},
		{"iface without pcap", []string{"--pcap-iface", "eth0", name},
			"docker forensic: --pcap-iface needs --pcap DURATION (e.g. --pcap 30s)", true},
		{"unknown flag", []string{"--pcap-everything", name},
			"docker forensic: unknown flag: --pcap-everything", true},
		{"no container", nil,
			"docker forensic: requires at least 1 arg(s), only received 0", true},
		{"unknown container", []string{"--pcap", "2s", "no-such-container-e2e"},
			"docker forensic: inspecting container no-such-container-e2e: no such container on ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := forensic(t, dir, append([]string{"export"}, tc.args...)...)
			if r.code != 1 {
				t.Errorf("exit status %d, want 1", r.code)
			}
			if want := tc.first + "\n\n" + usage; tc.usage && r.stderr != want {
				t.Errorf("standard error:\n%s\nwant:\n%s", r.stderr, want)
			}
			if !tc.usage && (!strings.HasPrefix(r.stderr, tc.first) || strings.Count(r.stderr, "\n") != 1) {
				t.Errorf("standard error:\n%s\nwant one line starting %q", r.stderr, tc.first)
			}
			if r.stdout != "" {
				t.Errorf("standard output %q, want nothing", r.stdout)
			}
			if files := listDir(t, dir); len(files) != 0 {
				t.Errorf("files left in the working folder: %v", files)
			}
		})
	}
	// A container with the sidecar's label, created on purpose, shows that
	// the events query sees such a creation.
	control := mustDocker(t, "create", "--label", "io.forensic-tools.target="+id, busyboxImage, "true")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", control).Run() })
	time.Sleep(time.Second) // the engine timestamps events at its own pace
	created := createdFor(t, id, since, time.Now())
	if len(created) != 1 || created[0] != control {
		t.Errorf("containers created for the target %v, want only the control container %s", created, control)
	}
	if left := mustDocker(t, "ps", "-a", "-q", "--no-trunc", "--filter", "label=io.forensic-tools.role=agent", "--filter", "label=io.forensic-tools.target="+id); left != "" {
		t.Errorf("agent containers left for the target: %s", left)
	}
}
