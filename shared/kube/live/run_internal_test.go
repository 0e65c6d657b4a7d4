package live

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/target"
)

func TestWaitingErrors(t *testing.T) {
	const image = "forensic/agent:no-such-tag"
	for _, tc := range []struct {
		state   corev1.ContainerState
		started bool
		want    []string // pieces of the error; none: no error
	}{
		{state: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, started: true},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "failed to resolve image"}},
			want: []string{"the agent image forensic/agent:no-such-tag cannot be run on node node-1 (ErrImagePull: failed to resolve image)", "ctr -n k8s.io images import forensic-agent-image_<version>_linux_<arch>.tar", "--agent-image"}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}},
			want: []string{"the agent image forensic/agent:no-such-tag cannot be run on node node-1 (ImagePullBackOff)"}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull"}},
			want: []string{"forensic/agent:no-such-tag", "(ErrImageNeverPull)", "ctr -n k8s.io images import"}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "InvalidImageName", Message: "bad"}},
			want: []string{"forensic/agent:no-such-tag", "(InvalidImageName: bad)"}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: "no space"}},
			want: []string{"the agent's ephemeral container forensic-agent-x (image forensic/agent:no-such-tag) cannot start on node node-1 (CreateContainerError: no space)"}},
		{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: "container has runAsNonRoot and image will run as root"}},
			want: []string{"(CreateContainerConfigError: container has runAsNonRoot"}},
		{state: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2}},
			want: []string{"the agent's ephemeral container forensic-agent-x ended before the plugin attached: Error (exit 2)"}},
	} {
		st := &corev1.ContainerStatus{Name: "forensic-agent-x", State: tc.state}
		started, err := agentStarted(st, image, "node-1")
		if started != tc.started {
			t.Errorf("%s: started = %t, want %t", kube.StateText(tc.state), started, tc.started)
		}
		if (err != nil) != (len(tc.want) > 0) {
			t.Errorf("%s: err = %v, want one: %t", kube.StateText(tc.state), err, len(tc.want) > 0)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", kube.StateText(tc.state), err, w)
			}
		}
	}
}

func TestAgentName(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 40, 5, 0, time.UTC)
	pod := kubetest.NewPod("shop", "web").Container("web", 0).P()
	if got := agentName(pod, at); got != "forensic-agent-20261129-124005" {
		t.Errorf("agentName = %q", got)
	}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "forensic-agent-20261129-124005"}}}
	if got := agentName(pod, at); got != "forensic-agent-20261129-124005-2" {
		t.Errorf("agentName with the name taken = %q", got)
	}
	if _, err := target.ParseTarget(agentName(pod, at)); err != nil {
		t.Errorf("not a valid container name: %v", err)
	}
}
