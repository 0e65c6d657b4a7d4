package live

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/kube"
)

// LiveRows are the preflight rows of the live steps l asks for, with the
// permissions each needs; nil when none is asked for.
func LiveRows(l *LiveOptions, ns string) []*kube.Check {
	var rows []*kube.Check
	for _, s := range l.Steps() {
		rows = append(rows, &kube.Check{Step: s, Collects: liveDescription(s), Needs: liveNeeds(ns)})
	}
	return rows
}

// JudgeLive settles the live rows once their access reviews are answered:
// a step cannot run when a permission is denied, when the API does not
// serve ephemeral containers (served is "no"), or when PlanLive refuses it
// for a pod (the namespace's PodSecurity level enforce, a pod that does
// not run, ...). id is who asks. It returns the plan of each pod.
func JudgeLive(rows []*kube.Check, pods []*corev1.Pod, l *LiveOptions, id kube.Identity, enforce, served string) []LivePlan {
	plans := make([]LivePlan, 0, len(pods))
	for _, p := range pods {
		plans = append(plans, PlanLive(p, l, enforce))
	}
	for _, row := range rows {
		status, why := kube.Judge(row.Needs, id)
		switch {
		case status == kube.StatusCannot:
			why += " (bind ClusterRole forensic-live-capture, deploy/rbac/forensic-live-capture.yaml)"
		case served == "no":
			status, why = kube.StatusCannot, "the API server does not serve pods/ephemeralcontainers"
		default:
			var refused, runs []string
			for _, p := range plans {
				prefix := ""
				if len(plans) > 1 {
					prefix = "pod " + p.Pod + ": "
				}
				if reason := p.Refusal(row.Step); reason != "" {
					refused = append(refused, prefix+reason)
				} else {
					runs = append(runs, prefix+p.how())
				}
			}
			if len(refused) > 0 {
				status, why = kube.StatusCannot, strings.Join(refused, "; ")
			} else if status == kube.StatusOK && len(runs) > 0 {
				why = strings.Join(runs, "; ")
			}
		}
		row.Status, row.Why = status, why
	}
	return plans
}

// how says in words how the agent runs.
func (p LivePlan) how() string {
	return fmt.Sprintf("the agent targets container %s and runs with %s (PodSecurity %s)", p.Target, describeSC(p.SecurityContext), p.Needs)
}

// Text is the plan on one line of the preflight table's header.
func (p LivePlan) Text() string {
	s := "pod " + p.Pod
	if p.Target != "" {
		s += ", container " + p.Target + " (" + p.TargetChosenBy + ")"
	}
	if len(p.Steps) > 0 {
		s += fmt.Sprintf(": %s with %s, needs PodSecurity %s", strings.Join(p.Steps, ", "), describeSC(p.SecurityContext), p.Needs)
	}
	for _, r := range p.Refused {
		s += fmt.Sprintf("; %s refused: %s", r.Step, r.Reason)
	}
	return s
}

// liveNeeds are the permissions without which no live step can run.
func liveNeeds(ns string) []kube.Access {
	return []kube.Access{kube.AccessUpdateEphemeral(ns), kube.AccessCreateAttach(ns)}
}
