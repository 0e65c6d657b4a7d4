package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"

	"github.com/forensic-tools/forensic/shared/agent"
)

// live returns live options asking for the given steps.
func live(steps ...string) *LiveOptions {
	l := &LiveOptions{Run: agent.DefaultRunOptions()}
	for _, s := range steps {
		switch s {
		case StepPcap:
			l.Run.Pcap, l.Run.PcapDuration = true, 5e9
		case StepFilesystem:
			l.Run.FS = true
		case StepProcesses:
			l.Run.Proc = true
		}
	}
	return l
}

func TestTargetContainer(t *testing.T) {
	twoApps := func() *podBuilder {
		b := newPod("shop", "web-1").container("app", 0).container("sidecar", 0).initContainer("setup")
		b.p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg"}}}
		return b
	}
	annotated := func(name string) *corev1.Pod {
		p := twoApps().P()
		p.Annotations = map[string]string{DefaultContainerAnnotation: name}
		return p
	}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		flag     string
		want     string
		wantHow  string
		wantErr  string
		wantNone bool
	}{
		{name: "first container", pod: twoApps().P(), want: "app", wantHow: "first container of app, sidecar (choose another with -c)"},
		{name: "only container", pod: newPod("shop", "one").container("web", 0).P(), want: "web", wantHow: "first container"},
		{name: "-c", pod: twoApps().P(), flag: "sidecar", want: "sidecar", wantHow: "-c sidecar"},
		{name: "annotation", pod: annotated("sidecar"), want: "sidecar", wantHow: "annotation " + DefaultContainerAnnotation},
		{name: "-c beats the annotation", pod: annotated("sidecar"), flag: "app", want: "app", wantHow: "-c app"},
		{name: "annotation names nothing", pod: annotated("gone"), want: "app", wantHow: `first container (annotation kubectl.kubernetes.io/default-container names "gone", which the pod does not have)`},
		{name: "-c names nothing", pod: twoApps().P(), flag: "nope", wantErr: `pod shop/web-1 has no container "nope": its containers are app, sidecar`},
		{name: "-c names an init container", pod: twoApps().P(), flag: "setup", wantErr: `has no regular container (init and ephemeral containers cannot be targets) "setup"`},
		{name: "-c names an ephemeral container", pod: twoApps().P(), flag: "dbg", wantErr: `has no regular container (init and ephemeral containers cannot be targets) "dbg"`},
		{name: "no containers", pod: newPod("shop", "empty").P(), wantErr: "pod shop/empty has no containers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, how, err := TargetContainer(tc.pod, tc.flag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tc.want || how != tc.wantHow {
				t.Errorf("TargetContainer = %s (%s), want %s (%s)", c.Name, how, tc.want, tc.wantHow)
			}
		})
	}
}

// scSummary is what the tests compare of a security context.
func scSummary(sc *corev1.SecurityContext) string { return describeSC(sc) }

const (
	scRootPcapPtrace = "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.add=NET_RAW,SYS_PTRACE"
	scRootPtrace     = "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.add=SYS_PTRACE"
	scTarget         = "runAsUser=65534 runAsGroup=65534 runAsNonRoot=true allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.drop=ALL seccompProfile=RuntimeDefault"
	scTargetNoGroup  = "runAsUser=65534 runAsNonRoot=true allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.drop=ALL seccompProfile=RuntimeDefault"
	scRootBaseline   = "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true seccompProfile=RuntimeDefault"
)

// TestPlanLive is the security context decision table.
func TestPlanLive(t *testing.T) {
	ids := func(uid, gid *int64) *corev1.Pod {
		p := newPod("shop", "web-1").container("web", 0).P()
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: uid, RunAsGroup: gid}
		return p
	}
	nobody, root := new(int64(65534)), new(int64(0))
	containerLevel := ids(root, root)
	containerLevel.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: nobody, RunAsGroup: nobody}
	hostPID := ids(nobody, nobody)
	hostPID.Spec.HostPID = true
	shared := ids(nobody, nobody)
	shared.Spec.ShareProcessNamespace = new(true)
	pending := ids(nobody, nobody)
	pending.Status.Phase = corev1.PodPending
	crashing := newPod("shop", "web-1").waiting("web").P()
	addsCaps := ids(root, root)
	addsCaps.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE", "NET_ADMIN"}}}

	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		steps   []string
		enforce string
		// want: the steps that run, their context and its level; and the
		// steps refused, with a piece of the reason.
		wantSteps []string
		wantSC    string
		wantLevel string
		refused   map[string]string
	}{
		{name: "pcap only", pod: ids(nobody, nobody), steps: []string{StepPcap},
			wantSteps: []string{StepPcap}, wantSC: "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.add=NET_RAW,SYS_PTRACE", wantLevel: "privileged"},
		{name: "everything, non-root target", pod: ids(nobody, nobody), steps: []string{StepPcap, StepFilesystem, StepProcesses},
			wantSteps: []string{StepPcap, StepFilesystem, StepProcesses}, wantSC: scRootPcapPtrace, wantLevel: "privileged"},
		{name: "fs and proc, non-root target with a group", pod: ids(nobody, nobody), steps: []string{StepFilesystem, StepProcesses}, enforce: "privileged",
			wantSteps: []string{StepFilesystem, StepProcesses}, wantSC: scTarget, wantLevel: "restricted"},
		{name: "ids from the container, not the pod", pod: containerLevel, steps: []string{StepProcesses},
			wantSteps: []string{StepProcesses}, wantSC: scTarget, wantLevel: "restricted"},
		{name: "fs, non-root target, no group, privileged allowed", pod: ids(nobody, nil), steps: []string{StepFilesystem},
			wantSteps: []string{StepFilesystem}, wantSC: scRootPtrace, wantLevel: "privileged"},
		{name: "fs, non-root target, no group, restricted", pod: ids(nobody, nil), steps: []string{StepFilesystem}, enforce: "restricted",
			wantSteps: []string{StepFilesystem}, wantSC: scTargetNoGroup, wantLevel: "restricted"},
		{name: "fs, root target", pod: ids(root, root), steps: []string{StepFilesystem},
			wantSteps: []string{StepFilesystem}, wantSC: scRootPtrace, wantLevel: "privileged"},
		{name: "fs, user unknown", pod: ids(nil, nil), steps: []string{StepFilesystem, StepProcesses}, enforce: "privileged",
			wantSteps: []string{StepFilesystem, StepProcesses}, wantSC: scRootPtrace, wantLevel: "privileged"},
		{name: "fs, root target, baseline", pod: ids(root, root), steps: []string{StepFilesystem, StepProcesses}, enforce: "baseline",
			wantSteps: []string{StepFilesystem, StepProcesses}, wantSC: scRootBaseline, wantLevel: "baseline"},
		{name: "baseline root context mirrors the target's baseline capabilities", pod: addsCaps, steps: []string{StepProcesses}, enforce: "baseline",
			wantSteps: []string{StepProcesses}, wantSC: "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.add=NET_BIND_SERVICE seccompProfile=RuntimeDefault", wantLevel: "baseline"},
		{name: "fs, user unknown, baseline", pod: ids(nil, nil), steps: []string{StepFilesystem}, enforce: "baseline",
			refused: map[string]string{StepFilesystem: `the pod spec does not say which user the target runs as (the image decides), so the agent would need root with SYS_PTRACE to read its filesystem and processes; namespace shop enforces PodSecurity "baseline", which forbids it`}},
		{name: "fs, root target, restricted", pod: ids(root, root), steps: []string{StepFilesystem}, enforce: "restricted",
			refused: map[string]string{StepFilesystem: `the target container runs as root, so the agent would need root with SYS_PTRACE`}},
		{name: "restricted: pcap refused, the rest as the target", pod: ids(nobody, nobody), steps: []string{StepPcap, StepFilesystem, StepProcesses}, enforce: "restricted",
			wantSteps: []string{StepFilesystem, StepProcesses}, wantSC: scTarget, wantLevel: "restricted",
			refused: map[string]string{StepPcap: `namespace shop enforces PodSecurity "restricted", which forbids the NET_RAW capability packet capture needs (and a container running as root)`}},
		{name: "baseline: pcap refused", pod: ids(nobody, nobody), steps: []string{StepPcap}, enforce: "baseline",
			refused: map[string]string{StepPcap: `namespace shop enforces PodSecurity "baseline", which forbids the NET_RAW capability packet capture needs; capture packets`}},
		{name: "hostPID: no fs or proc, pcap still", pod: hostPID, steps: []string{StepPcap, StepFilesystem, StepProcesses},
			wantSteps: []string{StepPcap}, wantSC: "runAsUser=0 runAsGroup=0 runAsNonRoot=false allowPrivilegeEscalation=false readOnlyRootFilesystem=true capabilities.add=NET_RAW,SYS_PTRACE", wantLevel: "privileged",
			refused: map[string]string{StepFilesystem: "hostPID", StepProcesses: "hostPID"}},
		{name: "shared process namespace", pod: shared, steps: []string{StepProcesses},
			refused: map[string]string{StepProcesses: "shareProcessNamespace"}},
		{name: "pod not running", pod: pending, steps: []string{StepPcap, StepProcesses},
			refused: map[string]string{StepPcap: "the pod is not running (phase Pending)", StepProcesses: "the pod is not running (phase Pending)"}},
		{name: "target not running", pod: crashing, steps: []string{StepProcesses},
			refused: map[string]string{StepProcesses: "the target container web is not running (waiting: ErrImagePull)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanLive(tc.pod, live(tc.steps...), tc.enforce)
			if tc.wantSteps == nil {
				tc.wantSteps = []string{}
			}
			if diff := cmp.Diff(tc.wantSteps, p.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if tc.wantSC != "" && scSummary(p.SecurityContext) != tc.wantSC {
				t.Errorf("security context\n got %s\nwant %s", scSummary(p.SecurityContext), tc.wantSC)
			}
			if p.Needs != tc.wantLevel {
				t.Errorf("needs %q, want %q", p.Needs, tc.wantLevel)
			}
			if len(p.Steps) > 0 && p.Why == "" {
				t.Error("no reason for the security context")
			}
			if len(p.Refused) != len(tc.refused) {
				t.Errorf("refused %+v, want %v", p.Refused, tc.refused)
			}
			for step, want := range tc.refused {
				if got := p.Refusal(step); !strings.Contains(got, want) {
					t.Errorf("%s refused with %q, want %q", step, got, want)
				}
			}
			// The context chosen is admitted by the level the plan says.
			if p.SecurityContext != nil {
				if got := LevelNeeded(p.SecurityContext, tc.pod.Spec.SecurityContext).String(); got != p.Needs {
					t.Errorf("LevelNeeded in the pod = %s, plan says %s", got, p.Needs)
				}
			}
		})
	}
}

func TestLevelNeeded(t *testing.T) {
	restricted := targetContext(1000, new(int64(1000)))
	for _, tc := range []struct {
		name string
		sc   *corev1.SecurityContext
		psc  *corev1.PodSecurityContext
		want Level
	}{
		{"nothing set", nil, nil, LevelBaseline},
		{"restricted context", restricted, nil, LevelRestricted},
		{"restricted with NET_BIND_SERVICE", func() *corev1.SecurityContext {
			sc := restricted.DeepCopy()
			sc.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
			return sc
		}(), nil, LevelRestricted},
		{"seccomp and non-root from the pod", &corev1.SecurityContext{AllowPrivilegeEscalation: new(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			&corev1.PodSecurityContext{RunAsNonRoot: new(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}, LevelRestricted},
		{"root is baseline", func() *corev1.SecurityContext {
			sc := restricted.DeepCopy()
			sc.RunAsUser, sc.RunAsNonRoot = new(int64(0)), new(false)
			return sc
		}(), nil, LevelBaseline},
		{"privilege escalation", &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}, nil, LevelBaseline},
		{"baseline capability", &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CHOWN"}}}, nil, LevelBaseline},
		{"NET_RAW", &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW"}}}, nil, LevelPrivileged},
		{"SYS_PTRACE", &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE"}}}, nil, LevelPrivileged},
		{"privileged", &corev1.SecurityContext{Privileged: new(true)}, nil, LevelPrivileged},
		{"unconfined from the pod", nil, &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}, LevelPrivileged},
	} {
		if got := LevelNeeded(tc.sc, tc.psc); got != tc.want {
			t.Errorf("%s: LevelNeeded = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestPreflightLive(t *testing.T) {
	nonRoot := func(ns string) *corev1.Pod {
		p := newPod(ns, "web-1").node("node-1").container("web", 0).P()
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}
		return p
	}
	all := []string{StepPcap, StepFilesystem, StepProcesses}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		deny    []string
		noEph   bool
		steps   []string
		want    map[string]Status
		wantWhy map[string]string
	}{
		{name: "not asked: no live rows", want: map[string]Status{}},
		{name: "privileged namespace", steps: all,
			want:    map[string]Status{StepPcap: StatusOK, StepFilesystem: StatusOK, StepProcesses: StatusOK},
			wantWhy: map[string]string{StepPcap: "capabilities.add=NET_RAW,SYS_PTRACE (PodSecurity privileged)"}},
		{name: "restricted namespace", labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, steps: all,
			want: map[string]Status{StepPcap: StatusCannot, StepFilesystem: StatusOK, StepProcesses: StatusOK},
			wantWhy: map[string]string{StepPcap: `namespace shop enforces PodSecurity "restricted", which forbids the NET_RAW capability`,
				StepFilesystem: "runAsUser=65534 runAsGroup=65534 runAsNonRoot=true"}},
		{name: "no right to add ephemeral containers", deny: []string{"update pods/ephemeralcontainers"}, steps: []string{StepProcesses},
			want:    map[string]Status{StepProcesses: StatusCannot},
			wantWhy: map[string]string{StepProcesses: "alice may not update pods/ephemeralcontainers -n shop (bind ClusterRole forensic-live-capture"}},
		{name: "no right to attach", deny: []string{"create pods/attach"}, steps: []string{StepPcap},
			want:    map[string]Status{StepPcap: StatusCannot},
			wantWhy: map[string]string{StepPcap: "alice may not create pods/attach -n shop"}},
		{name: "websocket not allowed is no obstacle", deny: []string{"get pods/attach", "watch pods"}, steps: []string{StepPcap},
			want: map[string]Status{StepPcap: StatusOK}},
		{name: "not served", noEph: true, steps: []string{StepProcesses},
			want:    map[string]Status{StepProcesses: StatusCannot},
			wantWhy: map[string]string{StepProcesses: "the API server does not serve pods/ephemeralcontainers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := nonRoot("shop")
			f := newFakeAPI(namespace("shop", tc.labels), pod)
			for _, d := range tc.deny {
				f.deny[d] = true
			}
			if tc.noEph {
				f.noEphemeral()
			}
			opts := Options{}
			if tc.steps != nil {
				opts.Live = live(tc.steps...)
			}
			r := Preflight(context.Background(), f.cluster(), "shop", []*corev1.Pod{pod}, nil, opts)
			got := map[string]Status{}
			why := map[string]string{}
			for _, c := range r.Checks {
				if c.Step == StepPcap || c.Step == StepFilesystem || c.Step == StepProcesses {
					got[c.Step], why[c.Step] = c.Status, c.Why
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("live rows (-want +got):\n%s", diff)
			}
			for step, want := range tc.wantWhy {
				if !strings.Contains(why[step], want) {
					t.Errorf("%s why = %q, want %q", step, why[step], want)
				}
			}
			if tc.steps == nil && len(r.Live) != 0 {
				t.Errorf("plans without live capture: %+v", r.Live)
			}
			var text strings.Builder
			r.WriteText(&text)
			if tc.steps != nil && !tc.noEph && len(tc.deny) == 0 && !strings.Contains(text.String(), "live capture: pod web-1, container web (first container)") {
				t.Errorf("preflight text lacks the plan:\n%s", text.String())
			}
			if !strings.Contains(text.String(), "update pods/ephemeralcontainers: ") || !strings.Contains(text.String(), "get pods/attach: ") {
				t.Errorf("preflight text lacks the ephemeral container access:\n%s", text.String())
			}
		})
	}
}

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
			t.Errorf("%s: started = %t, want %t", stateText(tc.state), started, tc.started)
		}
		if (err != nil) != (len(tc.want) > 0) {
			t.Errorf("%s: err = %v, want one: %t", stateText(tc.state), err, len(tc.want) > 0)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", stateText(tc.state), err, w)
			}
		}
	}
}

// noEphemeral makes the fake API serve no pods/ephemeralcontainers.
func (f *fakeAPI) noEphemeral() {
	d := f.cs.Discovery().(*fakediscovery.FakeDiscovery)
	d.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}}}}
}
