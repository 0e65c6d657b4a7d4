package target

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/kube/kubetest"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    Target
		wantErr string
	}{
		{arg: "web-1", want: Target{Kind: KindPod, Name: "web-1", Arg: "web-1"}},
		{arg: "pod/web-1", want: Target{Kind: KindPod, Name: "web-1", Arg: "pod/web-1"}},
		{arg: "po/web-1", want: Target{Kind: KindPod, Name: "web-1", Arg: "po/web-1"}},
		{arg: "deploy/web", want: Target{Kind: KindDeployment, Name: "web", Arg: "deploy/web"}},
		{arg: "deployments.apps/web", want: Target{Kind: KindDeployment, Name: "web", Arg: "deployments.apps/web"}},
		{arg: "Deployment/web", want: Target{Kind: KindDeployment, Name: "web", Arg: "Deployment/web"}},
		{arg: "sts/db", want: Target{Kind: KindStatefulSet, Name: "db", Arg: "sts/db"}},
		{arg: "ds/agent", want: Target{Kind: KindDaemonSet, Name: "agent", Arg: "ds/agent"}},
		{arg: "rs/web-5d8", want: Target{Kind: KindReplicaSet, Name: "web-5d8", Arg: "rs/web-5d8"}},
		{arg: "job/backup", want: Target{Kind: KindJob, Name: "backup", Arg: "job/backup"}},
		{arg: "jobs.batch/backup", want: Target{Kind: KindJob, Name: "backup", Arg: "jobs.batch/backup"}},
		{arg: "rc/old", want: Target{Kind: KindReplicationController, Name: "old", Arg: "rc/old"}},
		{arg: "svc/web", wantErr: `unknown type "svc"`},
		{arg: "deploy/", wantErr: "want one of"},
		{arg: "a/b/c", wantErr: "want one of"},
		{arg: "Web_1", wantErr: "not a valid name"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParseTarget(tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTarget(%q) error = %v, want one containing %q", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTarget(%q) (-want +got):\n%s", tc.arg, diff)
			}
		})
	}
}

func TestSelectionValidate(t *testing.T) {
	pod := Target{Kind: KindPod, Name: "a", Arg: "a"}
	deploy := Target{Kind: KindDeployment, Name: "web", Arg: "deploy/web"}
	for _, tc := range []struct {
		name    string
		sel     Selection
		wantErr string
	}{
		{"pod", Selection{Targets: []Target{pod}, Namespace: "ns"}, ""},
		{"selector", Selection{Selector: "app=web", Namespace: "ns"}, ""},
		{"all namespaces with selector", Selection{Selector: "app=web", AllNamespaces: true}, ""},
		{"all namespaces with pod name", Selection{Targets: []Target{pod}, AllNamespaces: true}, ""},
		{"nothing", Selection{Namespace: "ns"}, "nothing to capture"},
		{"bad selector", Selection{Selector: "a in (", Namespace: "ns"}, "not a label selector"},
		{"workload across namespaces", Selection{Targets: []Target{deploy}, AllNamespaces: true}, "with -A"},
		{"no namespace", Selection{Targets: []Target{pod}}, "no namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sel.Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	web := map[string]string{"app": "web"}
	objs := []runtime.Object{
		kubetest.Namespace("shop", nil), kubetest.Namespace("other", nil),
		kubetest.Deployment("shop", "web", web),
		kubetest.NewPod("shop", "web-1").Labels("app", "web").P(),
		kubetest.NewPod("shop", "web-2").Labels("app", "web").P(),
		kubetest.NewPod("shop", "web-3").Labels("app", "web").P(),
		kubetest.NewPod("shop", "db-0").Labels("app", "db").P(),
		kubetest.NewPod("other", "web-9").Labels("app", "web").P(),
	}
	type res struct {
		Pods []string
		Errs []string
	}
	for _, tc := range []struct {
		name string
		sel  Selection
		want res
	}{
		{"bare pod name", Selection{Namespace: "shop", Targets: []Target{{Kind: KindPod, Name: "db-0", Arg: "db-0"}}},
			res{Pods: []string{"shop/db-0 <- db-0"}}},
		{"deployment takes all its pods", Selection{Namespace: "shop", Targets: []Target{{Kind: KindDeployment, Name: "web", Arg: "deploy/web"}}},
			res{Pods: []string{"shop/web-1 <- deploy/web", "shop/web-2 <- deploy/web", "shop/web-3 <- deploy/web"}}},
		{"selector in a namespace", Selection{Namespace: "shop", Selector: "app=web"},
			res{Pods: []string{"shop/web-1 <- -l app=web", "shop/web-2 <- -l app=web", "shop/web-3 <- -l app=web"}}},
		{"selector across namespaces", Selection{AllNamespaces: true, Selector: "app=web"},
			res{Pods: []string{"other/web-9 <- -l app=web", "shop/web-1 <- -l app=web", "shop/web-2 <- -l app=web", "shop/web-3 <- -l app=web"}}},
		{"pod name across namespaces", Selection{AllNamespaces: true, Targets: []Target{{Kind: KindPod, Name: "web-9", Arg: "web-9"}}},
			res{Pods: []string{"other/web-9 <- web-9"}}},
		{"each pod once", Selection{Namespace: "shop", Selector: "app=web", Targets: []Target{{Kind: KindPod, Name: "web-2", Arg: "pod/web-2"}}},
			res{Pods: []string{"shop/web-2 <- pod/web-2, -l app=web", "shop/web-1 <- -l app=web", "shop/web-3 <- -l app=web"}}},
		{"missing pod", Selection{Namespace: "shop", Targets: []Target{{Kind: KindPod, Name: "nope", Arg: "nope"}}},
			res{Errs: []string{`pod "nope" not found in namespace "shop" (kubectl get pods -n shop)`}}},
		{"missing namespace", Selection{Namespace: "gone", Targets: []Target{{Kind: KindPod, Name: "nope", Arg: "nope"}}},
			res{Errs: []string{`namespace "gone" not found (kubectl get namespaces)`}}},
		{"missing deployment", Selection{Namespace: "shop", Targets: []Target{{Kind: KindDeployment, Name: "api", Arg: "deploy/api"}}},
			res{Errs: []string{`deployment "api" not found in namespace "shop" (kubectl get deployments -n shop)`}}},
		{"selector matches nothing", Selection{Namespace: "shop", Selector: "app=none"},
			res{Errs: []string{`no pods match -l app=none in namespace "shop" (kubectl get pods -n shop -l app=none)`}}},
		{"one missing, one found", Selection{Namespace: "shop", Targets: []Target{{Kind: KindPod, Name: "nope", Arg: "nope"}, {Kind: KindPod, Name: "db-0", Arg: "db-0"}}},
			res{Pods: []string{"shop/db-0 <- db-0"}, Errs: []string{`pod "nope" not found in namespace "shop" (kubectl get pods -n shop)`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kubetest.NewFakeAPI(objs...)
			pods, errs := Resolve(context.Background(), f.Cluster(), tc.sel)
			var got res
			for _, p := range pods {
				got.Pods = append(got.Pods, p.Key()+" <- "+strings.Join(p.From, ", "))
			}
			for _, e := range errs {
				got.Errs = append(got.Errs, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveForbidden(t *testing.T) {
	f := kubetest.NewFakeAPI(kubetest.Namespace("shop", nil))
	f.CS.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "web-1", errors.New(`User "bob" cannot get resource "pods" in the namespace "shop"`))
	})
	_, errs := Resolve(context.Background(), f.Cluster(), Selection{Namespace: "shop", Targets: []Target{{Kind: KindPod, Name: "web-1", Arg: "web-1"}}})
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one", errs)
	}
	if !apierrors.IsForbidden(errs[0]) {
		t.Errorf("error %v is not a Forbidden error", errs[0])
	}
	for _, want := range []string{`getting pod "web-1" in namespace "shop"`, `User "bob" cannot get`, "kubectl auth can-i get pods -n shop", "deploy/rbac/forensic-capture.yaml"} {
		if !strings.Contains(errs[0].Error(), want) {
			t.Errorf("error %q does not contain %q", errs[0], want)
		}
	}
}
