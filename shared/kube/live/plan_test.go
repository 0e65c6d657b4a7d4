package live

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
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
		case StepMemory:
			l.Run.Memory = true
		}
	}
	return l
}

func TestTargetContainer(t *testing.T) {
	twoApps := func() *kubetest.PodBuilder {
		b := kubetest.NewPod("shop", "web-1").Container("app", 0).Container("sidecar", 0).InitContainer("setup")
		b.P().Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg"}}}
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
		{name: "only container", pod: kubetest.NewPod("shop", "one").Container("web", 0).P(), want: "web", wantHow: "first container"},
		{name: "-c", pod: twoApps().P(), flag: "sidecar", want: "sidecar", wantHow: "-c sidecar"},
		{name: "annotation", pod: annotated("sidecar"), want: "sidecar", wantHow: "annotation " + DefaultContainerAnnotation},
		{name: "-c beats the annotation", pod: annotated("sidecar"), flag: "app", want: "app", wantHow: "-c app"},
		{name: "annotation names nothing", pod: annotated("gone"), want: "app", wantHow: `first container (annotation kubectl.kubernetes.io/default-container names "gone", which the pod does not have)`},
		{name: "-c names nothing", pod: twoApps().P(), flag: "nope", wantErr: `pod shop/web-1 has no container "nope": its containers are app, sidecar`},
		{name: "-c names an init container", pod: twoApps().P(), flag: "setup", wantErr: `has no regular container (init and ephemeral containers cannot be targets) "setup"`},
		{name: "-c names an ephemeral container", pod: twoApps().P(), flag: "dbg", wantErr: `has no regular container (init and ephemeral containers cannot be targets) "dbg"`},
		{name: "no containers", pod: kubetest.NewPod("shop", "empty").P(), wantErr: "pod shop/empty has no containers"},
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
		p := kubetest.NewPod("shop", "web-1").Container("web", 0).P()
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
	crashing := kubetest.NewPod("shop", "web-1").Waiting("web").P()
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
		{name: "memory, non-root target: root with SYS_PTRACE, not the target's own user", pod: ids(nobody, nobody), steps: []string{StepProcesses, StepMemory},
			wantSteps: []string{StepProcesses, StepMemory}, wantSC: scRootPtrace, wantLevel: "privileged"},
		{name: "memory with pcap", pod: ids(nobody, nobody), steps: []string{StepPcap, StepMemory}, enforce: "privileged",
			wantSteps: []string{StepPcap, StepMemory}, wantSC: scRootPcapPtrace, wantLevel: "privileged"},
		{name: "memory, baseline: refused, processes still as the target", pod: ids(nobody, nobody), steps: []string{StepProcesses, StepMemory}, enforce: "baseline",
			wantSteps: []string{StepProcesses}, wantSC: scTarget, wantLevel: "restricted",
			refused: map[string]string{StepMemory: `namespace shop enforces PodSecurity "baseline", which forbids adding the SYS_PTRACE capability that reading process memory (ptrace) needs; PodSecurity level privileged allows it`}},
		{name: "memory only, restricted", pod: ids(root, root), steps: []string{StepMemory}, enforce: "restricted",
			refused: map[string]string{StepMemory: `"restricted", which forbids adding the SYS_PTRACE capability`}},
		{name: "memory, shared process namespace", pod: shared, steps: []string{StepMemory},
			refused: map[string]string{StepMemory: "shareProcessNamespace"}},
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
