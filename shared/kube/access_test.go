package kube_test

import (
	"context"
	"strings"
	"testing"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

func TestWhoAmIFallsBackToKubeconfig(t *testing.T) {
	f := kubetest.NewFakeAPI()
	f.NoSSR = true
	id := f.Cluster().WhoAmI(context.Background())
	if id.Source != kube.FromKubeconfig || id.Username != "fake-user" || !strings.Contains(id.Problem, "SelfSubjectReview failed") {
		t.Errorf("identity = %+v", id)
	}
	if got := id.String(); !strings.HasPrefix(got, "kubeconfig user fake-user (not confirmed by the API server: SelfSubjectReview failed") {
		t.Errorf("identity text = %q", got)
	}
}

func TestAccessString(t *testing.T) {
	for _, tc := range []struct {
		a    kube.Access
		want string
	}{
		{kube.AccessPodLogs("shop"), "get pods/log -n shop"},
		{kube.AccessGetNodes(), "get nodes (cluster-wide)"},
		{kube.AccessListPods(""), "list pods -A"},
		{kube.AccessListSlices("shop"), "list endpointslices.discovery.k8s.io -n shop"},
		{kube.AccessGetNamespace("shop"), "get namespaces shop -n shop"},
		{target.AccessGetKind(target.KindCronJob, "shop"), "get cronjobs.batch -n shop"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
