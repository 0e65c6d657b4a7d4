package kube

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// podBuilder builds test pods: newPod("shop", "web-1").labels("app", "web").P().
type podBuilder struct{ p *corev1.Pod }

func newPod(ns, name string) *podBuilder {
	return &podBuilder{&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}}
}

func (b *podBuilder) labels(kv ...string) *podBuilder {
	if b.p.Labels == nil {
		b.p.Labels = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Labels[kv[i]] = kv[i+1]
	}
	return b
}

func (b *podBuilder) node(n string) *podBuilder { b.p.Spec.NodeName = n; return b }

func (b *podBuilder) sa(n string) *podBuilder { b.p.Spec.ServiceAccountName = n; return b }

func (b *podBuilder) ownedBy(kind, name string) *podBuilder {
	b.p.OwnerReferences = append(b.p.OwnerReferences, metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: new(true)})
	return b
}

// container adds a running regular container; restarts > 0 gives it a
// last terminated run.
func (b *podBuilder) container(name string, restarts int32) *podBuilder {
	b.p.Spec.Containers = append(b.p.Spec.Containers, corev1.Container{Name: name, Image: "img/" + name + ":1"})
	st := corev1.ContainerStatus{Name: name, Image: "img/" + name + ":1", ImageID: "img/" + name + "@sha256:" + strings.Repeat("a", 64),
		ContainerID: "containerd://" + name, RestartCount: restarts, Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	if restarts > 0 {
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", ContainerID: "containerd://" + name + "-old"}
	}
	b.p.Status.ContainerStatuses = append(b.p.Status.ContainerStatuses, st)
	return b
}

// initContainer adds an init container that completed.
func (b *podBuilder) initContainer(name string) *podBuilder {
	b.p.Spec.InitContainers = append(b.p.Spec.InitContainers, corev1.Container{Name: name, Image: "img/init:1"})
	b.p.Status.InitContainerStatuses = append(b.p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: name, Image: "img/init:1",
		ImageID: "img/init@sha256:" + strings.Repeat("b", 64), ContainerID: "containerd://" + name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", ContainerID: "containerd://" + name}}})
	return b
}

// waiting adds a container that never started.
func (b *podBuilder) waiting(name string) *podBuilder {
	b.p.Spec.Containers = append(b.p.Spec.Containers, corev1.Container{Name: name, Image: "img/" + name + ":1"})
	b.p.Status.ContainerStatuses = append(b.p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: "img/" + name + ":1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}})
	return b
}

func (b *podBuilder) P() *corev1.Pod { return b.p }

// fakeAPI is a fake cluster: a clientset with reactors for logs, access
// reviews and identity.
type fakeAPI struct {
	cs *fake.Clientset
	mu sync.Mutex
	// deny lists permissions the access review refuses, as Access.String()
	// without the scope, e.g. "get nodes", "get pods/log".
	deny map[string]bool
	// logs maps "container" and "container/previous" to log text.
	logs map[string]string
	// logErr makes a container's log request fail: "container" -> error.
	logErr map[string]error
	// reviews counts SelfSubjectAccessReviews.
	reviews int
	// noSSR makes SelfSubjectReview forbidden.
	noSSR bool
}

func newFakeAPI(objs ...runtime.Object) *fakeAPI {
	f := &fakeAPI{cs: fake.NewClientset(objs...), deny: map[string]bool{}, logs: map[string]string{}, logErr: map[string]error{}}
	f.cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		// The fake's log action carries no pod name: logs are keyed by
		// container, so tests give each pod's containers distinct names.
		opts := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		key := opts.Container
		if opts.Previous {
			key += "/previous"
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := f.logErr[key]; err != nil {
			return true, nil, err
		}
		text, ok := f.logs[key]
		if !ok {
			if opts.Previous {
				return true, nil, apierrors.NewBadRequest("previous terminated container " + opts.Container + " not found")
			}
			text = ""
		}
		return true, &runtime.Unknown{Raw: []byte(text)}, nil
	})
	f.cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		res := ra.Resource
		if ra.Subresource != "" {
			res += "/" + ra.Subresource
		}
		if ra.Group != "" {
			res += "." + ra.Group
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reviews++
		r.Status.Allowed = !f.deny[ra.Verb+" "+res]
		return true, r, nil
	})
	f.cs.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if f.noSSR {
			return true, nil, apierrors.NewForbidden(authnv1.Resource("selfsubjectreviews"), "", errors.New("not allowed"))
		}
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{
			Username: "alice", UID: "u-1", Groups: []string{"responders", "system:authenticated"}}}}, nil
	})
	d := f.cs.Discovery().(*fakediscovery.FakeDiscovery)
	d.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}, {Name: "pods/ephemeralcontainers"}}}}
	return f
}

func (f *fakeAPI) cluster() *Cluster {
	c := NewCluster(f.cs, "https://fake:6443")
	c.Context, c.KubeconfigUser = "fake-ctx", "fake-user"
	return c
}

// runCapture captures one pod into a tar bundle in a temp folder and
// returns the result and the bundle's files.
func runCapture(t *testing.T, f *fakeAPI, pod *corev1.Pod, opts Options) (collect.Result, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	c := &Capture{
		Cluster: f.cluster(), Options: opts, Selection: Selection{Namespace: pod.Namespace, Targets: []Target{{Kind: KindPod, Name: pod.Name, Arg: pod.Name}}},
		Open: func(p *Pod, at time.Time) (*evidence.Writer, error) {
			return evidence.Create(filepath.Join(dir, "b.tar"), evidence.Options{Root: "b", Format: evidence.Tar})
		},
		Custody: func(at time.Time) evidence.Custody { return evidence.NewCustody(evidence.Tool{Name: "test"}, at) },
	}
	res := c.Run(context.Background(), []*Pod{{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, From: []string{pod.Name}, Object: pod}})
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("capture: %v", res[0].Err)
	}
	if res[0].Result.Err != nil {
		t.Fatalf("bundle: %v", res[0].Result.Err)
	}
	return res[0].Result, readTar(t, res[0].Result.Path, "b/")
}

// readTar returns the files of a tar archive under prefix, by their path
// below it.
func readTar(t *testing.T, path, prefix string) map[string]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]string{}
	tr := tar.NewReader(fh)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(h.Name, prefix)] = string(b)
	}
}

func deployment(ns, name string, sel map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}}}
}

func replicaSet(ns, name, deploy string, sel map[string]string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}}}
	if deploy != "" {
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deploy, UID: types.UID("uid-" + deploy), Controller: new(true)}}
	}
	return rs
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}
