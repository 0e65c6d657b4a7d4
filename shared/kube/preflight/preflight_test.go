package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func statuses(r Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range r.Checks {
		out[c.Step] = c.Status
	}
	return out
}

func TestPreflight(t *testing.T) {
	pod, objs := richWorld()
	bare := newPod("shop", "bare").P()
	sel := &Selection{Namespace: "shop", Targets: []Target{{Kind: KindDeployment, Name: "web", Arg: "deploy/web"}}}
	for _, tc := range []struct {
		name string
		deny []string
		pods []*corev1.Pod
		opts Options
		want map[string]Status
	}{
		{
			name: "everything allowed",
			pods: []*corev1.Pod{pod},
			want: map[string]Status{StepSelect: StatusOK, StepPod: StatusOK, StepLogs: StatusOK, StepEvents: StatusOK, StepDescribe: StatusOK,
				StepOwners: StatusOK, StepNode: StatusOK, StepServiceAccount: StatusOK, StepReferences: StatusOK, StepSecrets: StatusOff,
				StepServices: StatusOK, StepNetworkPolicies: StatusOK, StepPodSecurity: StatusOK, StepIdentity: StatusOK},
		},
		{
			name: "namespace role only, no secrets wanted",
			deny: []string{"get nodes", "get deployments.apps"},
			pods: []*corev1.Pod{pod},
			opts: Options{IncludeSecrets: true},
			want: map[string]Status{StepSelect: StatusCannot, StepPod: StatusOK, StepLogs: StatusOK, StepEvents: StatusOK, StepDescribe: StatusOK,
				StepOwners: StatusCannot, StepNode: StatusCannot, StepServiceAccount: StatusOK, StepReferences: StatusOK, StepSecrets: StatusOK,
				StepServices: StatusOK, StepNetworkPolicies: StatusOK, StepPodSecurity: StatusOK, StepIdentity: StatusOK},
		},
		{
			name: "a bare unscheduled pod",
			pods: []*corev1.Pod{bare},
			opts: Options{IncludeSecrets: true},
			want: map[string]Status{StepSelect: StatusOK, StepPod: StatusOK, StepLogs: StatusOK, StepEvents: StatusOK, StepDescribe: StatusOK,
				StepOwners: StatusNone, StepNode: StatusNone, StepServiceAccount: StatusOK, StepReferences: StatusOK, StepSecrets: StatusNone,
				StepServices: StatusOK, StepNetworkPolicies: StatusOK, StepPodSecurity: StatusOK, StepIdentity: StatusOK},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(objs...)
			for _, d := range tc.deny {
				f.deny[d] = true
			}
			r := Preflight(context.Background(), f.cluster(), "shop", tc.pods, sel, tc.opts)
			if diff := cmp.Diff(tc.want, statuses(r)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreflightReport(t *testing.T) {
	pod, objs := richWorld()
	f := newFakeAPI(objs...)
	f.deny["get nodes"] = true
	c := f.cluster()
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
	if r.Identity.Username != "alice" || r.Identity.Source != FromSelfSubjectReview {
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
	before := f.reviews
	Preflight(context.Background(), c, "shop", []*corev1.Pod{pod}, nil, Options{})
	if f.reviews != before {
		t.Errorf("second preflight made %d more access reviews, want 0", f.reviews-before)
	}
}

func TestWhoAmIFallsBackToKubeconfig(t *testing.T) {
	f := newFakeAPI()
	f.noSSR = true
	id := f.cluster().WhoAmI(context.Background())
	if id.Source != FromKubeconfig || id.Username != "fake-user" || !strings.Contains(id.Problem, "SelfSubjectReview failed") {
		t.Errorf("identity = %+v", id)
	}
	if got := id.String(); !strings.HasPrefix(got, "kubeconfig user fake-user (not confirmed by the API server: SelfSubjectReview failed") {
		t.Errorf("identity text = %q", got)
	}
}

func TestAccessString(t *testing.T) {
	for _, tc := range []struct {
		a    Access
		want string
	}{
		{accessPodLogs("shop"), "get pods/log -n shop"},
		{accessGetNodes(), "get nodes (cluster-wide)"},
		{accessListPods(""), "list pods -A"},
		{accessListSlices("shop"), "list endpointslices.discovery.k8s.io -n shop"},
		{accessGetNamespace("shop"), "get namespaces shop -n shop"},
		{accessGetKind(KindCronJob, "shop"), "get cronjobs.batch -n shop"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
