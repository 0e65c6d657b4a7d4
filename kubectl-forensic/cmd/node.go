package cmd

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
	"github.com/forensic-tools/forensic/shared/version"
)

// nodeFlags are capture's node stage flags: node evidence, checkpoints,
// and where the collector pod runs.
type nodeFlags struct {
	node, checkpoint, keep bool
	namespace              string
}

func (n *nodeFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&n.node, "node", false, "also collect node evidence of each pod through a collector pod on its node: every log file the kubelet keeps (rotated and compressed too), the writable layer (node/C/layer.tar, diff.json), CRI records, OCI spec, journal")
	fs.BoolVar(&n.checkpoint, "checkpoint", false, "also checkpoint each container with the kubelet's checkpoint API (CRIU freezes it briefly) into checkpoint/C.tar; implies --node")
	fs.BoolVar(&n.keep, "keep-on-node", false, "with --checkpoint: leave the archives on the node (default: deleted once streamed)")
	fs.StringVar(&n.namespace, "node-namespace", nodecollect.DefaultNamespace, "namespace of the collector pods; it must allow privileged pods. The default kube-system is admin-only and privileged on every cluster: a collector (node root) in the target's namespace could be exec'd into by whoever controls it")
}

func (n *nodeFlags) enabled() bool { return n.node || n.checkpoint }

func (n *nodeFlags) validate(namespaceSet bool) error {
	switch {
	case n.keep && !n.checkpoint:
		return errors.New("--keep-on-node keeps checkpoint archives on the node: use it with --checkpoint")
	case namespaceSet && !n.enabled():
		return errors.New("--node-namespace is where the node collector runs: use it with --node or --checkpoint")
	case n.enabled() && n.namespace == "":
		return errors.New("--node-namespace must name a namespace (default " + nodecollect.DefaultNamespace + ")")
	}
	return nil
}

// options returns the node stage's options, nil when it is not asked
// for; container and image are capture's -c and --agent-image.
func (n *nodeFlags) options(container, image string, attacher live.Attacher, spoolDir string) *nodecollect.Options {
	if !n.enabled() {
		return nil
	}
	return &nodecollect.Options{Checkpoint: n.checkpoint, KeepOnNode: n.keep, Namespace: n.namespace,
		Container: container, Image: image, Attacher: attacher, SpoolDir: spoolDir,
		Tool: "kubectl-forensic " + version.Version}
}
