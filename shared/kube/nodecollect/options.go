package nodecollect

import (
	"time"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/live"
)

// DefaultNamespace is where collector pods run unless --node-namespace
// says otherwise. kube-system, because the collector holds the node's
// root filesystem and PID namespace: a pod in the target's namespace could
// be exec'd into, or its logs read, by whoever controls that namespace —
// possibly the attacker. kube-system is admin-only on every cluster, and
// its PodSecurity level is privileged (the node agents run there).
const DefaultNamespace = "kube-system"

// DefaultStartTimeout bounds the wait for a collector pod to be scheduled
// and its containers to run.
const DefaultStartTimeout = 90 * time.Second

// Route is how checkpoints are asked for, as the preflight and
// node/collector.json name it.
//
// The kubelet's checkpoint endpoint can be reached two ways:
//   - through the API server's nodes/proxy (chosen): the plugin POSTs
//     /api/v1/nodes/NODE/proxy/checkpoint/NS/POD/CONTAINER. The user needs
//     create on nodes/proxy; the kubelet then authorizes the API server's
//     own kubelet-client identity for nodes/checkpoint (kubeadm's is a
//     cluster admin; the stock system:kubelet-api-admin role lacks it,
//     kubernetes issue 126232). The plugin learns the archive's path and
//     the kubelet's error at once, before the collector pod is made.
//   - from the collector with its own service account token against the
//     kubelet's port (nodes/checkpoint): narrower for the user, but it
//     needs a service account provisioned with that grant in the node
//     namespace and a network path from the pod to the kubelet.
//
// nodes/proxy is sensitive: it reaches the whole kubelet API (exec, run,
// attach in every pod of the node) as the API server, outside the API
// server's admission and pod-level audit (CIS 5.1.14). Grant it only with
// --checkpoint, to responders who may also create privileged pods (the
// collector itself is node root).
const Route = "kubelet checkpoint API through the API server's nodes/proxy"

// Options are the node stage's settings.
type Options struct {
	// Checkpoint asks the kubelet to checkpoint every selected container.
	Checkpoint bool
	// KeepOnNode leaves the checkpoint archives on the node.
	KeepOnNode bool
	// Namespace is where collector pods run; empty means DefaultNamespace.
	Namespace string
	// Container narrows the stage to one container of each pod (-c).
	Container string
	// Image is the agent image; empty means the default agent image.
	Image string
	// Attacher attaches to a collector's container (pods/attach).
	Attacher live.Attacher
	// StartTimeout bounds the wait for a collector pod to run; 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// StopGrace bounds the wait for the agent to end its stream after it
	// was told to stop; 0 means agentrun's default.
	StopGrace time.Duration
	// SpoolDir holds agent artifacts that wait for their turn.
	SpoolDir string
	// Tool names the plugin and its version in the collector's labels.
	Tool string
}

// Enabled reports whether the node stage runs.
func (o *Options) Enabled() bool { return o != nil }

// NS returns the namespace of the collector pods.
func (o *Options) NS() string {
	if o == nil || o.Namespace == "" {
		return DefaultNamespace
	}
	return o.Namespace
}

// Preflight steps of the node stage.
const (
	StepNodeEvidence = "node-evidence"
	StepCheckpoint   = "checkpoint"
)

// Needs returns the permissions of each step of the node stage: the
// collector pod (create, watch, delete pods and attach to them in the node
// namespace, get nodes), and for the checkpoint create on nodes/proxy.
// Reading the kubelet's configz (get nodes/proxy) is optional: without it
// the agent finds the pod logs folder and CRI socket from the kubelet's
// command line, and needs is not judged on it.
func Needs(o *Options) map[string][]kube.Access {
	ns := o.NS()
	out := map[string][]kube.Access{
		StepNodeEvidence: {
			kube.Need("create", "", "pods", "", ns), kube.AccessGetPods(ns), kube.AccessWatchPods(ns),
			kube.Need("delete", "", "pods", "", ns), kube.AccessCreateAttach(ns), kube.AccessGetAttach(ns),
			kube.AccessGetNodes(),
		},
	}
	if o.Checkpoint {
		out[StepCheckpoint] = []kube.Access{accessNodesProxy("create")}
	}
	return out
}

// accessNodesProxy is verb on nodes/proxy (cluster-scoped).
func accessNodesProxy(verb string) kube.Access {
	a := kube.Need(verb, "", "nodes", "proxy", "")
	a.ClusterScoped = true
	return a
}
