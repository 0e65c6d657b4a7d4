package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/target"
	"github.com/forensic-tools/forensic/shared/version"
)

// liveFlags are capture's live capture flags: what the forensic agent
// captures in its ephemeral container, which container it targets, which
// image it runs, and the agreement to add a container that cannot be
// removed.
type liveFlags struct {
	run       agent.RunOptions
	container string
	image     string
	yes       bool
}

// pcapDuration is --pcap: a duration that also switches capture on.
type pcapDuration struct{ o *agent.RunOptions }

func (p pcapDuration) Type() string { return "duration" }

func (p pcapDuration) String() string {
	if p.o == nil || !p.o.Pcap {
		return ""
	}
	return p.o.PcapDuration.String()
}

func (p pcapDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 2m")
	}
	if d < 0 {
		return fmt.Errorf("the duration %s is negative", s)
	}
	p.o.Pcap, p.o.PcapDuration = true, d
	return nil
}

func (l *liveFlags) addFlags(fs *pflag.FlagSet) {
	l.run = agent.DefaultRunOptions()
	fs.Var(pcapDuration{&l.run}, "pcap", "capture the pod's packets for this long (e.g. 30s; 0 with --pcap-max-packets or --pcap-max-bytes: until a limit), into pcap/capture.pcapng")
	fs.StringVar(&l.run.PcapInterface, "pcap-iface", "", "capture only this interface of the pod's network namespace (default: every interface)")
	fs.Int64Var(&l.run.PcapMaxPackets, "pcap-max-packets", 0, "stop the packet capture after this many packets (0: no limit)")
	fs.Int64Var(&l.run.PcapMaxBytes, "pcap-max-bytes", 0, "stop the packet capture before the file would exceed this many bytes (0: no limit)")
	fs.BoolVar(&l.run.FS, "filesystem", false, "tar of the target container's root filesystem into fs/rootfs.tar (with fs/mounts.json, fs/report.json)")
	fs.BoolVar(&l.run.Proc, "processes", false, "process and socket snapshot of the target container into proc/snapshot.json")
	fs.BoolVar(&l.run.ProcEnv, "processes-env", false, "add each process's environment to the snapshot (it often holds secrets)")
	fs.StringVarP(&l.container, "container", "c", "", "target container of the live captures (default: the pod's "+live.DefaultContainerAnnotation+" annotation, else its first container)")
	fs.StringVar(&l.image, "agent-image", "", "forensic agent image to run (default "+agent.DefaultImage()+", this plugin's version)")
	fs.BoolVar(&l.yes, "yes", false, "agree to add an ephemeral container to each pod for live capture, without a question (it cannot be removed from the pod)")
}

// enabled reports whether any live capture was asked for.
func (l *liveFlags) enabled() bool { return l.run.Pcap || l.run.FS || l.run.Proc }

// validate checks the live flags as a group.
func (l *liveFlags) validate() error {
	r := l.run
	switch {
	case r.PcapMaxPackets < 0 || r.PcapMaxBytes < 0:
		return errors.New("--pcap-max-packets and --pcap-max-bytes must not be negative")
	case !r.Pcap && (r.PcapInterface != "" || r.PcapMaxPackets != 0 || r.PcapMaxBytes != 0):
		return errors.New("--pcap-iface, --pcap-max-packets and --pcap-max-bytes need --pcap DURATION")
	case r.Pcap && r.PcapDuration == 0 && r.PcapMaxPackets == 0 && r.PcapMaxBytes == 0:
		return errors.New("--pcap 0 captures until a limit is reached: add --pcap-max-packets or --pcap-max-bytes, or give a duration")
	case r.ProcEnv && !r.Proc:
		return errors.New("--processes-env needs --processes")
	case !l.enabled() && l.container != "":
		return errors.New("-c chooses the target container of live capture: use it with --pcap, --filesystem or --processes")
	case !l.enabled() && l.image != "":
		return errors.New("--agent-image is the image of live capture: use it with --pcap, --filesystem or --processes")
	}
	return nil
}

// options returns the live options for shared/kube, nil when none is
// asked for. attacher attaches to the agent's container.
func (l *liveFlags) options(attacher live.Attacher, spoolDir string) *live.LiveOptions {
	if !l.enabled() {
		return nil
	}
	return &live.LiveOptions{Run: l.run, Container: l.container, Image: l.image, Attacher: attacher,
		Tool: "kubectl-forensic " + version.Version, SpoolDir: spoolDir}
}

func (l *liveFlags) imageName() string {
	if l.image != "" {
		return l.image
	}
	return agent.DefaultImage()
}

// confirm gets the responder's agreement to add an ephemeral container to
// each of pods, which cannot be removed: --yes, or "y" to a question on
// the terminal. Without a terminal and without --yes it refuses. It
// returns the custody note that records the agreement.
func (l *liveFlags) confirm(ctx context.Context, pods []*target.Pod, terminal bool, in io.Reader, errOut io.Writer, now time.Time) (string, error) {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Key()
	}
	where := "pod " + names[0]
	if len(pods) > 1 {
		where = fmt.Sprintf("each of %d pods (%s)", len(pods), strings.Join(names, ", "))
	}
	steps := []string{}
	for _, s := range []struct {
		on   bool
		name string
	}{{l.run.Pcap, live.StepPcap}, {l.run.FS, live.StepFilesystem}, {l.run.Proc, live.StepProcesses}} {
		if s.on {
			steps = append(steps, s.name)
		}
	}
	what := fmt.Sprintf("live capture (%s) adds an ephemeral container running the forensic agent (image %s) to %s", strings.Join(steps, ", "), l.imageName(), where)
	switch {
	case l.yes:
		return "live capture: agreed with --yes to " + what + "; an ephemeral container cannot be removed from its pod", nil
	case !terminal:
		target := "pod " + names[0]
		if len(pods) > 1 {
			target = "pods " + strings.Join(names, ", ")
		}
		return "", fmt.Errorf("live capture adds an ephemeral container that cannot be removed from %s: pass --yes to agree (nothing was captured)", target)
	}
	them := "it"
	if len(pods) > 1 {
		them = "them"
	}
	fmt.Fprintf(errOut, "kubectl forensic: %s.\nkubectl forensic: an ephemeral container cannot be removed: it stays in the pod spec until the pod is deleted (recorded in each bundle's custody.json).\nAdd %s? [y/N] ", what, them)
	type reply struct {
		text string
		err  error
	}
	replies := make(chan reply, 1)
	go func() {
		text, err := bufio.NewReader(in).ReadString('\n')
		replies <- reply{text, err}
	}()
	var r reply
	select {
	case r = <-replies:
	case <-ctx.Done():
		fmt.Fprintln(errOut)
		return "", fmt.Errorf("live capture not agreed to (%v): nothing was captured", context.Cause(ctx))
	}
	answer := strings.ToLower(strings.TrimSpace(r.text))
	if answer != "y" && answer != "yes" {
		if r.err != nil && answer == "" {
			fmt.Fprintln(errOut)
		}
		return "", errors.New("live capture not agreed to: nothing was captured")
	}
	return fmt.Sprintf("live capture: agreed at the terminal (answered %q at %s) to %s; an ephemeral container cannot be removed from its pod", answer, now.UTC().Format(time.RFC3339), what), nil
}
