package kube_test

import (
	"context"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

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

// TestWideReviews: with WideReviews a permission granted in every
// namespace is asked once for all of them; one granted only namespace by
// namespace is asked in each, and a namespace that refuses it says so.
func TestWideReviews(t *testing.T) {
	for _, tc := range []struct {
		name        string
		wide        bool
		clusterWide bool // the user's role is bound cluster-wide
		wantReviews int
	}{
		{"cluster-wide role", true, true, 2},
		{"namespace roles", true, false, 2 + 6},
		{"off", false, true, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kubetest.NewFakeAPI()
			var asked []string
			f.CS.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
				ra := r.Spec.ResourceAttributes
				asked = append(asked, ra.Verb+" "+ra.Resource+"/"+ra.Subresource+" ns="+ra.Namespace+" name="+ra.Name)
				switch {
				case ra.Namespace == "":
					r.Status.Allowed = tc.clusterWide
				default:
					r.Status.Allowed = ra.Namespace != "locked"
				}
				return true, r, nil
			})
			c := f.Cluster()
			c.WideReviews = tc.wide
			for _, ns := range []string{"a", "b", "locked"} {
				for _, need := range []kube.Access{kube.AccessPodLogs(ns), kube.AccessGetNamespace(ns)} {
					got := c.Can(context.Background(), need)
					wantAllowed := tc.clusterWide || ns != "locked"
					if !tc.wide {
						wantAllowed = ns != "locked"
					}
					if got.Allowed != wantAllowed || got.Namespace != ns || got.Name != need.Name {
						t.Errorf("%s: %+v, want allowed %v in its own namespace", need, got, wantAllowed)
					}
					if tc.wide && tc.clusterWide && !strings.Contains(got.Reason, "every namespace") {
						t.Errorf("%s: reason %q does not say it was granted in every namespace", need, got.Reason)
					}
					if c.NotAllowed(context.Background(), need) == nil != wantAllowed {
						t.Errorf("%s: NotAllowed disagrees with Can", need)
					}
				}
			}
			if len(asked) != tc.wantReviews {
				t.Errorf("%d reviews, want %d: %q", len(asked), tc.wantReviews, asked)
			}
		})
	}
}
