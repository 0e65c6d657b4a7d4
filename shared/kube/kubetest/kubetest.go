package kubetest

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/kube"
)

// PodBuilder builds test pods: NewPod("shop", "web-1").Labels("app", "web").P().
type PodBuilder struct{ p *corev1.Pod }

// NewPod is a running pod with no containers yet.
func NewPod(ns, name string) *PodBuilder {
	return &PodBuilder{&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}}
}

// Labels sets labels, given as key, value, key, value...
func (b *PodBuilder) Labels(kv ...string) *PodBuilder {
	if b.p.Labels == nil {
		b.p.Labels = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Labels[kv[i]] = kv[i+1]
	}
	return b
}

// Node schedules the pod to node n.
func (b *PodBuilder) Node(n string) *PodBuilder { b.p.Spec.NodeName = n; return b }

// SA sets the service account.
func (b *PodBuilder) SA(n string) *PodBuilder { b.p.Spec.ServiceAccountName = n; return b }

// OwnedBy adds a controller owner reference.
func (b *PodBuilder) OwnedBy(kind, name string) *PodBuilder {
	b.p.OwnerReferences = append(b.p.OwnerReferences, metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: new(true)})
	return b
}

// Container adds a running regular container; restarts > 0 gives it a
// last terminated run.
func (b *PodBuilder) Container(name string, restarts int32) *PodBuilder {
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

// InitContainer adds an init container that completed.
func (b *PodBuilder) InitContainer(name string) *PodBuilder {
	b.p.Spec.InitContainers = append(b.p.Spec.InitContainers, corev1.Container{Name: name, Image: "img/init:1"})
	b.p.Status.InitContainerStatuses = append(b.p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: name, Image: "img/init:1",
		ImageID: "img/init@sha256:" + strings.Repeat("b", 64), ContainerID: "containerd://" + name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", ContainerID: "containerd://" + name}}})
	return b
}

// Waiting adds a container that never started.
func (b *PodBuilder) Waiting(name string) *PodBuilder {
	b.p.Spec.Containers = append(b.p.Spec.Containers, corev1.Container{Name: name, Image: "img/" + name + ":1"})
	b.p.Status.ContainerStatuses = append(b.p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: "img/" + name + ":1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}})
	return b
}

// P returns the pod.
func (b *PodBuilder) P() *corev1.Pod { return b.p }

// FakeAPI is a fake cluster: a clientset with reactors for logs, access
// reviews and identity.
type FakeAPI struct {
	CS *fake.Clientset
	mu sync.Mutex
	// Deny lists permissions the access review refuses, as Access.String()
	// without the scope, e.g. "get nodes", "get pods/log".
	Deny map[string]bool
	// Logs maps "container" and "container/previous" to log text.
	Logs map[string]string
	// LogErr makes a container's log request fail: "container" -> error.
	LogErr map[string]error
	// Reviews counts SelfSubjectAccessReviews.
	Reviews int
	// NoSSR makes SelfSubjectReview forbidden.
	NoSSR bool
}

// NewFakeAPI serves objs; every access review allows, SelfSubjectReview
// answers alice, and the API serves pods/ephemeralcontainers.
func NewFakeAPI(objs ...runtime.Object) *FakeAPI {
	f := &FakeAPI{CS: fake.NewClientset(objs...), Deny: map[string]bool{}, Logs: map[string]string{}, LogErr: map[string]error{}}
	f.CS.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
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
		if err := f.LogErr[key]; err != nil {
			return true, nil, err
		}
		text, ok := f.Logs[key]
		if !ok {
			if opts.Previous {
				return true, nil, apierrors.NewBadRequest("previous terminated container " + opts.Container + " not found")
			}
			text = ""
		}
		return true, &runtime.Unknown{Raw: []byte(text)}, nil
	})
	f.CS.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
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
		f.Reviews++
		r.Status.Allowed = !f.Deny[ra.Verb+" "+res]
		return true, r, nil
	})
	f.CS.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if f.NoSSR {
			return true, nil, apierrors.NewForbidden(authnv1.Resource("selfsubjectreviews"), "", errors.New("not allowed"))
		}
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{
			Username: "alice", UID: "u-1", Groups: []string{"responders", "system:authenticated"}}}}, nil
	})
	d := f.CS.Discovery().(*fakediscovery.FakeDiscovery)
	d.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}, {Name: "pods/ephemeralcontainers"}}}}
	return f
}

// Cluster is a kube.Cluster over the fake.
func (f *FakeAPI) Cluster() *kube.Cluster {
	c := kube.NewCluster(f.CS, "https://fake:6443")
	c.Context, c.KubeconfigUser = "fake-ctx", "fake-user"
	return c
}

// ReadTar returns the files of a tar archive under prefix, by their path
// below it.
func ReadTar(t *testing.T, path, prefix string) map[string]string {
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

// Deployment is a Deployment selecting sel.
func Deployment(ns, name string, sel map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}}}
}

// ReplicaSet is a ReplicaSet selecting sel, owned by Deployment deploy
// unless it is "".
func ReplicaSet(ns, name, deploy string, sel map[string]string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}}}
	if deploy != "" {
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deploy, UID: types.UID("uid-" + deploy), Controller: new(true)}}
	}
	return rs
}

// Namespace is a namespace with labels.
func Namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// NoEphemeral makes the fake API serve no pods/ephemeralcontainers.
func (f *FakeAPI) NoEphemeral() {
	d := f.CS.Discovery().(*fakediscovery.FakeDiscovery)
	d.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}}}}
}

// RichWorld is a Deployment's pod with an init container, a container that
// restarted, one that runs, one that never started, a Service, a
// NetworkPolicy and references to ConfigMaps and Secrets.
func RichWorld() (*corev1.Pod, []runtime.Object) {
	pod := NewPod("shop", "web-1").Labels("app", "web").Node("node-1").SA("web-sa").OwnedBy("ReplicaSet", "web-5d8").
		InitContainer("setup").Container("app", 2).Container("sidecar", 0).Waiting("broken").P()
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-tls"}}},
		{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "old-token"}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "web-data"}}},
	}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}
	pod.Spec.Containers[1].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "flags"}, Optional: new(true)}}}
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}

	web := map[string]string{"app": "web"}
	now := metav1.NewTime(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	objs := []runtime.Object{
		Namespace("shop", map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "other": "x"}),
		pod,
		ReplicaSet("shop", "web-5d8", "web", web),
		Deployment("shop", "web", web),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-sa"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-tls"}, Data: map[string][]byte{"tls.key": []byte("KEY")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "old-token"}, Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{"token": []byte("SECRET-TOKEN")}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: web}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "external"}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-all"}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-in"}, Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: web}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-in"}, Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "e1"}, Reason: "Pulled", Message: "pulled the image", LastTimestamp: now, FirstTimestamp: now, Count: 1,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1", UID: pod.UID}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "e2"}, Reason: "Killing", Message: "an older pod of the same name",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1", UID: "older"}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "e3"}, Reason: "Scaled",
			InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Namespace: "shop", Name: "web", UID: "uid-web"}},
	}
	return pod, objs
}
