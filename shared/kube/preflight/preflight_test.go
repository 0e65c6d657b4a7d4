package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

func statuses(r Report) map[string]kube.Status {
	out := map[string]kube.Status{}
	for _, c := range r.Checks {
		out[c.Step] = c.Status
	}
	return out
}

func TestPreflight(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	bare := kubetest.NewPod("shop", "bare").P()
	sel := &target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindDeployment, Name: "web", Arg: "deploy/web"}}}
	for _, tc := range []struct {
		name string
		deny []string
		pods []*corev1.Pod
		opts Options
		want map[string]kube.Status
	}{
		{
			name: "everything allowed",
			pods: []*corev1.Pod{pod},
			want: map[string]kube.Status{StepSelect: kube.StatusOK, StepPod: kube.StatusOK, StepLogs: kube.StatusOK, StepEvents: kube.StatusOK, StepDescribe: kube.StatusOK,
				StepOwners: kube.StatusOK, StepNode: kube.StatusOK, StepServiceAccount: kube.StatusOK, StepReferences: kube.StatusOK, StepSecrets: kube.StatusOff,
				StepServices: kube.StatusOK, StepNetworkPolicies: kube.StatusOK, StepPodSecurity: kube.StatusOK, StepIdentity: kube.StatusOK},
		},
		{
			name: "namespace role only, no secrets wanted",
			deny: []string{"get nodes", "get deployments.apps"},
			pods: []*corev1.Pod{pod},
			opts: Options{IncludeSecrets: true},
			want: map[string]kube.Status{StepSelect: kube.StatusCannot, StepPod: kube.StatusOK, StepLogs: kube.StatusOK, StepEvents: kube.StatusOK, StepDescribe: kube.StatusOK,
				StepOwners: kube.StatusCannot, StepNode: kube.StatusCannot, StepServiceAccount: kube.StatusOK, StepReferences: kube.StatusOK, StepSecrets: kube.StatusOK,
				StepServices: kube.StatusOK, StepNetworkPolicies: kube.StatusOK, StepPodSecurity: kube.StatusOK, StepIdentity: kube.StatusOK},
		},
		{
			name: "a bare unscheduled pod",
			pods: []*corev1.Pod{bare},
			opts: Options{IncludeSecrets: true},
			want: map[string]kube.Status{StepSelect: kube.StatusOK, StepPod: kube.StatusOK, StepLogs: kube.StatusOK, StepEvents: kube.StatusOK, StepDescribe: kube.StatusOK,
				StepOwners: kube.StatusNone, StepNode: kube.StatusNone, StepServiceAccount: kube.StatusOK, StepReferences: kube.StatusOK, StepSecrets: kube.StatusNone,
				StepServices: kube.StatusOK, StepNetworkPolicies: kube.StatusOK, StepPodSecurity: kube.StatusOK, StepIdentity: kube.StatusOK},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kubetest.NewFakeAPI(objs...)
			for _, d := range tc.deny {
				f.Deny[d] = true
			}
			r := Preflight(context.Background(), f.Cluster(), "shop", tc.pods, sel, tc.opts)
			if diff := cmp.Diff(tc.want, statuses(r)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreflightReport(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	f := kubetest.NewFakeAPI(objs...)
	f.Deny["get nodes"] = true
	c := f.Cluster()
	r := Preflight(context.Background(), c, "shop", []*corev1.Pod{pod}, nil, Options{})
	if _, ok := statuses(r)[StepSelect]; ok {
		t.Error("a select row without a selection")
	}
	if diff := cmp.Diff(PodSecurity{Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, Enforce: "baseline"}, r.PodSecurity); diff != "" {
		t.Errorf("PodSecurity (-want +got):\n%s", diff)
	}
	if r.Ephemeral.Served != "yes" || !strings.Contains(r.Ephemeral.Note, `PodSecurity enforces "baseline"`) {
		t.Errorf("ephemeral = %+v", r.Ephemeral)
	}
	if r.Identity.Username != "alice" || r.Identity.Source != kube.FromSelfSubjectReview {
		t.Errorf("identity = %+v", r.Identity)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Preflight for namespace "shop", 1 pod(s): web-1`,
		"identity:   alice (groups: responders, system:authenticated) [SelfSubjectReview]",
		"PodSecurity: enforce=baseline",
		"node",
		"CANNOT",
		"get nodes (cluster-wide)",
		"Cannot collect: node",
		"alice may not get nodes (cluster-wide); it is cluster-scoped: only a ClusterRoleBinding grants it (bind ClusterRole forensic-capture-nodes)",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("preflight text lacks %q:\n%s", want, text.String())
		}
	}

	// Asking again, as each pod's capture does, costs no review.
	before := f.Reviews
	Preflight(context.Background(), c, "shop", []*corev1.Pod{pod}, nil, Options{})
	if f.Reviews != before {
		t.Errorf("second preflight made %d more access reviews, want 0", f.Reviews-before)
	}
}

func TestOwnerKinds(t *testing.T) {
	job := kubetest.NewPod("ns", "backup-1").P()
	job.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "backup", APIVersion: "batch/v1", UID: "j"}}
	custom := kubetest.NewPod("ns", "roll-1").P()
	custom.OwnerReferences = []metav1.OwnerReference{{Kind: "Rollout", Name: "roll", APIVersion: "argoproj.io/v1alpha1", UID: "r"}}
	got := ownerKinds([]*corev1.Pod{job, custom, kubetest.NewPod("ns", "x").OwnedBy("ReplicaSet", "rs").P()})
	if diff := cmp.Diff([]string{"CronJob", "Deployment", "Job", "ReplicaSet"}, got); diff != "" {
		t.Errorf("ownerKinds (-want +got):\n%s", diff)
	}
}
