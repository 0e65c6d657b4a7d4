package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	fcli "github.com/forensic-tools/forensic/internal/cli"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/podcollect"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

// fakeCluster is a cluster with namespace shop and running pods named
// after their single container, where everything is allowed.
func fakeCluster(pods ...string) *kube.Cluster {
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}
	for _, name := range pods {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "img:1"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: name,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
		})
	}
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		o := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		return true, &runtime.Unknown{Raw: []byte("log of " + o.Container + "\n")}, nil
	})
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
		r.Status.Allowed = true
		return true, r, nil
	})
	cs.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "alice"}}}, nil
	})
	return kube.NewCluster(cs, "https://fake:6443")
}

func TestCaptureRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sel       target.Selection
		wantCode  int
		wantPods  []string
		wantIndex bool
		wantErr   string
		wantLines []string // on standard error
	}{
		{name: "one pod", sel: target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindPod, Name: "a", Arg: "a"}}},
			wantPods: []string{"shop_a"}},
		{name: "by selector", sel: target.Selection{Namespace: "shop", Selector: "app=web"},
			wantPods: []string{"shop_a", "shop_b", "shop_c"}, wantIndex: true},
		{name: "one target missing", sel: target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindPod, Name: "a", Arg: "a"}, {Kind: target.KindPod, Name: "nope", Arg: "nope"}}},
			wantCode: 2, wantPods: []string{"shop_a"}, wantErr: "1 of 2 pods or targets incomplete or failed",
			wantLines: []string{`kubectl forensic: pod "nope" not found in namespace "shop" (kubectl get pods -n shop)`}},
		{name: "nothing found", sel: target.Selection{Namespace: "shop", Targets: []target.Target{{Kind: target.KindPod, Name: "nope", Arg: "nope"}}},
			wantCode: 1, wantErr: `pod "nope" not found in namespace "shop"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			o := NewCaptureOptions(genericclioptions.NewConfigFlags(false), streams)
			dir := t.TempDir()
			o.output.Dir, o.quiet, o.selection = dir, true, tc.sel
			o.newCluster = func() (*kube.Cluster, error) { return fakeCluster("a", "b", "c"), nil }
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			err := o.Run(context.Background())
			code := 0
			var ee *fcli.ExitError
			if errors.As(err, &ee) {
				code = ee.Code
			}
			if code != tc.wantCode || (tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Run() = %v (exit %d), want exit %d and %q", err, code, tc.wantCode, tc.wantErr)
			}
			var gotPods []string
			index := ""
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				switch {
				case line == "":
				case strings.HasSuffix(line, ".index.json"):
					index = line
				default:
					gotPods = append(gotPods, strings.SplitN(filepath.Base(line), "-", 2)[0])
					if _, err := os.Stat(line); err != nil {
						t.Errorf("printed bundle %s: %v", line, err)
					}
				}
			}
			if diff := cmp.Diff(tc.wantPods, gotPods); diff != "" {
				t.Errorf("bundles (-want +got):\n%s", diff)
			}
			if (index != "") != tc.wantIndex {
				t.Errorf("index %q, want one: %t", index, tc.wantIndex)
			}
			if index != "" {
				b, err := os.ReadFile(index)
				if err != nil {
					t.Fatal(err)
				}
				var idx podcollect.Index
				if err := json.Unmarshal(b, &idx); err != nil {
					t.Fatal(err)
				}
				if idx.Summary.Complete != len(tc.wantPods) || idx.Cluster.Identity != "alice" || idx.Selection.Selector != tc.sel.Selector {
					t.Errorf("index = %+v", idx)
				}
			}
			if diff := cmp.Diff(tc.wantLines, nonEmptyLines(errOut.String())); diff != "" {
				t.Errorf("standard error (-want +got):\n%s", diff)
			}
			if tc.wantCode == 1 {
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("nothing captured, but %d files written", len(entries))
				}
			}
		})
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
