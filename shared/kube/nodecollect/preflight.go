package nodecollect

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/forensic-tools/forensic/shared/kube"
)

// Plan is the node stage's preflight: where the collector runs, the
// PodSecurity level there, the strategy, and one row per step.
type Plan struct {
	Namespace string `json:"namespace"`
	// Enforce is the node namespace's enforced PodSecurity level; empty
	// when it sets none (privileged unless the cluster says otherwise).
	Enforce string `json:"podsecurity_enforce"`
	// Strategy says what will run, in words.
	Strategy string       `json:"strategy"`
	Rows     []kube.Check `json:"rows"`
}

// Refusal returns why step will not run, "" when it may.
func (p Plan) Refusal(step string) string {
	for _, r := range p.Rows {
		if r.Step == step && r.Status == kube.StatusCannot {
			return r.Why
		}
	}
	return ""
}

// Preflight checks, before anything is created, the access every step of
// the node stage needs and the PodSecurity level of the node namespace: a
// collector pod with the host's PID namespace and filesystem is admitted
// only at the privileged level. Answers are cached in c for the run.
func Preflight(ctx context.Context, c *kube.Cluster, o *Options) Plan {
	ns := o.NS()
	p := Plan{Namespace: ns, Strategy: fmt.Sprintf("one collector pod per node in namespace %s (hostPID, host / read-only at /host, agent image %s), one container per target pod, attached through pods/attach", ns, o.image())}
	if o.Checkpoint {
		p.Strategy += "; checkpoints by the " + Route
		if o.KeepOnNode {
			p.Strategy += ", archives kept on the node"
		} else {
			p.Strategy += ", archives deleted from the node once streamed"
		}
	}
	needs := Needs(o)
	var wg sync.WaitGroup
	for _, list := range needs {
		for i := range list {
			wg.Go(func() { list[i] = c.Can(ctx, list[i]) })
		}
	}
	wg.Wait()
	id := c.WhoAmI(ctx)
	row := kube.Check{Step: StepNodeEvidence, Collects: "node evidence: every kept log file, writable layer and diff, CRI records, OCI spec, journal (collector pod on the node)", Needs: needs[StepNodeEvidence]}
	row.Status, row.Why = kube.Judge(row.Needs, id)
	enforce, err := podSecurity(ctx, c, ns)
	p.Enforce = enforce
	switch {
	case err != nil && row.Status != kube.StatusCannot:
		row.Status, row.Why = kube.StatusUnknown, "will try: the PodSecurity level of namespace "+ns+" is unknown: "+err.Error()
	case enforce != "" && enforce != "privileged":
		why := fmt.Sprintf("namespace %s enforces PodSecurity %q, which forbids the collector pod (host PID namespace and host path need privileged): choose a privileged namespace with --node-namespace", ns, enforce)
		if row.Status == kube.StatusCannot {
			why = row.Why + "; " + why
		}
		row.Status, row.Why = kube.StatusCannot, why
	}
	if row.Status == kube.StatusCannot {
		row.Why += " (bind ClusterRole forensic-node-evidence with a RoleBinding in namespace " + ns + ", and forensic-capture-nodes: deploy/rbac/forensic-node-evidence.yaml)"
	}
	p.Rows = append(p.Rows, row)
	if o.Checkpoint {
		ck := kube.Check{Step: StepCheckpoint, Collects: "CRIU checkpoint of each container (" + Route + ")", Needs: needs[StepCheckpoint]}
		ck.Status, ck.Why = kube.Judge(ck.Needs, id)
		if row.Status == kube.StatusCannot && ck.Status != kube.StatusCannot {
			ck.Status, ck.Why = kube.StatusCannot, "the archive is taken off the node by the collector pod, which cannot run: "+row.Why
		} else if ck.Status == kube.StatusCannot {
			ck.Why += " (bind ClusterRole forensic-node-checkpoint, deploy/rbac/forensic-node-evidence.yaml)"
		}
		p.Rows = append(p.Rows, ck)
	}
	return p
}

// podSecurity returns the enforced PodSecurity level of namespace ns.
func podSecurity(ctx context.Context, c *kube.Cluster, ns string) (string, error) {
	if err := c.NotAllowed(ctx, kube.AccessGetNamespace(ns)); err != nil {
		return "", err
	}
	n, err := c.Namespace(ctx, ns)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("namespace %q not found", ns)
		}
		return "", c.Error("reading namespace "+ns, err)
	}
	return n.Labels["pod-security.kubernetes.io/enforce"], nil
}
