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

	fcli "github.com/forensic-tools/forensic/internal/cli"
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
	names     agent.FlagNames
	container string
	image     string
	yes       bool
	// nodeStage is set when --node or --checkpoint is asked: -c and
	// --agent-image apply to it too.
	nodeStage bool
}

func (l *liveFlags) addFlags(fs *pflag.FlagSet) {
	l.names = fcli.BindLiveFlags(fs, &l.run, fcli.LiveFlags{Network: "the pod's", Target: "the target container's",
		By: "by the forensic agent in an ephemeral container", Filesystem: true})
	fs.StringVarP(&l.container, "container", "c", "", "target container of the live captures (default: the pod's "+live.DefaultContainerAnnotation+" annotation, else its first container); with --node or --checkpoint, the one container they cover (default: all)")
	fs.StringVar(&l.image, "agent-image", "", "forensic agent image to run (default "+agent.DefaultImage()+", this plugin's version)")
	fs.BoolVar(&l.yes, "yes", false, "agree to add an ephemeral container to each pod for live capture, without a question (it cannot be removed from the pod)")
}

// enabled reports whether any live capture was asked for.
func (l *liveFlags) enabled() bool { return l.run.Captures() }

// validate checks the live flags as a group: the capture options with the
// agent's own rules (agent.RunOptions.ValidateFlags), then the flags that
// only mean something with a capture.
func (l *liveFlags) validate() error {
	if err := l.run.ValidateFlags(l.names); err != nil {
		return err
	}
	switch {
	case !l.enabled() && !l.nodeStage && l.container != "":
		return errors.New("-c chooses the target container of live capture: use it with --pcap, --filesystem or --processes (or --node, --checkpoint)")
	case !l.enabled() && !l.nodeStage && l.image != "":
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
	}{{l.run.Pcap, live.StepPcap}, {l.run.FS, live.StepFilesystem}, {l.run.Proc, live.StepProcesses}, {l.run.Memory, live.StepMemory}} {
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
