package preflight

import (
	"time"

	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/nodecollect"
)

// Options choose the optional collection steps.
type Options struct {
	// IncludeSecrets stores the contents of the Secrets the pod references
	// (never service account tokens). Off by default: names only.
	IncludeSecrets bool
	// InsecureSkipTLSVerifyBackend asks the API server not to verify the
	// kubelet's serving certificate when it fetches logs, as kubectl logs
	// --insecure-skip-tls-verify-backend does.
	InsecureSkipTLSVerifyBackend bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Live, when it asks for any capture, adds the live step: the forensic
	// agent in an ephemeral container (packets, filesystem, processes).
	// This changes the pod, and is recorded in custody.
	Live *live.LiveOptions
	// Node, when set, adds the node stage (--node, --checkpoint): a
	// collector pod on each node, and the kubelet's checkpoints. This
	// creates and deletes a pod and may write files on the node, and is
	// recorded in custody.
	Node *nodecollect.Options
}

// NowUTC returns Now() in UTC, or the current time when Now is nil.
func (o Options) NowUTC() time.Time {
	if o.Now == nil {
		return time.Now().UTC()
	}
	return o.Now().UTC()
}
