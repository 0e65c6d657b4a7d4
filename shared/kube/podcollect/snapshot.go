package podcollect

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// snapshotClient serves kubectl's pod describer the pod and the events
// this capture already read. describe.txt then describes the very snapshot
// that pod.json and events.json hold, and costs no request. Every other
// call goes to the real client.
type snapshotClient struct {
	kubernetes.Interface
	pod    *corev1.Pod
	events *corev1.EventList
}

func (s snapshotClient) CoreV1() corev1client.CoreV1Interface {
	return snapshotCore{CoreV1Interface: s.Interface.CoreV1(), pod: s.pod, events: s.events}
}

type snapshotCore struct {
	corev1client.CoreV1Interface
	pod    *corev1.Pod
	events *corev1.EventList
}

func (s snapshotCore) Pods(ns string) corev1client.PodInterface {
	return snapshotPods{PodInterface: s.CoreV1Interface.Pods(ns), pod: s.pod}
}

func (s snapshotCore) Events(ns string) corev1client.EventInterface {
	return snapshotEvents{EventInterface: s.CoreV1Interface.Events(ns), events: s.events}
}

type snapshotPods struct {
	corev1client.PodInterface
	pod *corev1.Pod
}

func (s snapshotPods) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error) {
	if name != s.pod.Name {
		return s.PodInterface.Get(ctx, name, opts)
	}
	return s.pod.DeepCopy(), nil
}

type snapshotEvents struct {
	corev1client.EventInterface
	events *corev1.EventList
}

// List returns the pod's events whatever the options: the describer asks
// for exactly those (by involved object), and they are already filtered.
func (s snapshotEvents) List(ctx context.Context, opts metav1.ListOptions) (*corev1.EventList, error) {
	if s.events == nil {
		return &corev1.EventList{}, nil
	}
	return s.events.DeepCopy(), nil
}
