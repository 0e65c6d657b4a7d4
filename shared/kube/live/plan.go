package live

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/kube"
)

// Live capture steps, as named in the preflight table, in preflight.json
// and in the bundle's failures. Each is one capture of the agent; they run
// together in one ephemeral container per pod.
const (
	StepPcap       = "pcap"
	StepFilesystem = "filesystem"
	StepProcesses  = "processes"
	StepMemory     = "memory"
)

// liveCollects says what each live step collects, in table order.
var liveCollects = []struct{ step, collects string }{
	{StepPcap, "packets of the pod's network namespace (--pcap), by the agent in an ephemeral container"},
	{StepFilesystem, "the target container's root filesystem as a tar (--filesystem), by the agent"},
	{StepProcesses, "processes and sockets of the target container (--processes), by the agent"},
	{StepMemory, "an ELF core file of each process of the target container (--memory), by the agent, which stops each process with ptrace while it reads its memory"},
}

// liveArtifacts are the bundle paths a refused live step is recorded under.
var liveArtifacts = map[string][]string{
	StepPcap:       {agent.ArtifactPcapNG},
	StepFilesystem: {agent.ArtifactFSTar},
	StepProcesses:  {agent.ArtifactProcSnapshot},
	StepMemory:     {"memory/cores"},
}

// DefaultContainerAnnotation names the container kubectl logs, exec and
// attach pick when none is given; live capture targets it too.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// DefaultAgentStartTimeout bounds the wait for the agent's ephemeral
// container to run (image lookup, container creation).
const DefaultAgentStartTimeout = 2 * time.Minute

// LiveOptions ask for live captures by the forensic agent, run in an
// ephemeral container added to the pod with targetContainerName, so that
// it shares the target container's process namespace (and, as every
// container of the pod, its network namespace). Nothing is exec'd in the
// target. An ephemeral container cannot be removed from a pod: it stays in
// the pod spec until the pod is deleted, and custody records it.
type LiveOptions struct {
	// Run says what the agent captures; TargetPID and WaitStdin are set by
	// the capture (1, and true).
	Run agent.RunOptions
	// Container is the target container; empty means the pod's
	// kubectl.kubernetes.io/default-container annotation, else its first
	// container.
	Container string
	// Image is the agent image; empty means agent.DefaultImage().
	Image string
	// Attacher attaches to the agent's standard streams (pods/attach).
	Attacher Attacher
	// StartTimeout bounds the wait for the container to run; 0 means
	// DefaultAgentStartTimeout.
	StartTimeout time.Duration
	// StopGrace bounds the wait for the agent to end its stream after it
	// was told to stop (Ctrl-C); 0 means 30 seconds.
	StopGrace time.Duration
	// Tool names the plugin and its version in the container's
	// environment, so that the pod spec says who added it.
	Tool string
	// SpoolDir holds agent artifacts that wait for their turn to be
	// written; empty means the system's temporary folder.
	SpoolDir string
}

// Enabled reports whether any live capture was asked for.
func (l *LiveOptions) Enabled() bool { return l != nil && l.Run.Captures() }

// Steps returns the live steps asked for, in table order.
func (l *LiveOptions) Steps() []string {
	var out []string
	if l == nil {
		return out
	}
	if l.Run.Pcap {
		out = append(out, StepPcap)
	}
	if l.Run.FS {
		out = append(out, StepFilesystem)
	}
	if l.Run.Proc {
		out = append(out, StepProcesses)
	}
	if l.Run.Memory {
		out = append(out, StepMemory)
	}
	return out
}

// image returns the agent image to run.
func (l *LiveOptions) image() string {
	if l.Image != "" {
		return l.Image
	}
	return agent.DefaultImage()
}

// TargetContainer returns the container live capture targets in pod: name
// when given, else the one the kubectl.kubernetes.io/default-container
// annotation names, else the first container; and how it was chosen. Only
// regular containers can be targets.
func TargetContainer(pod *corev1.Pod, name string) (*corev1.Container, string, error) {
	find := func(n string) *corev1.Container {
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == n {
				return &pod.Spec.Containers[i]
			}
		}
		return nil
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if name != "" {
		if c := find(name); c != nil {
			return c, "-c " + name, nil
		}
		what := "container"
		if isInitOrEphemeral(pod, name) {
			what = "regular container (init and ephemeral containers cannot be targets)"
		}
		return nil, "", fmt.Errorf("pod %s/%s has no %s %q: its containers are %s", pod.Namespace, pod.Name, what, name, strings.Join(names, ", "))
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, "", fmt.Errorf("pod %s/%s has no containers", pod.Namespace, pod.Name)
	}
	if ann := pod.Annotations[DefaultContainerAnnotation]; ann != "" {
		if c := find(ann); c != nil {
			return c, "annotation " + DefaultContainerAnnotation, nil
		}
		return &pod.Spec.Containers[0], fmt.Sprintf("first container (annotation %s names %q, which the pod does not have)", DefaultContainerAnnotation, ann), nil
	}
	how := "first container"
	if len(names) > 1 {
		how += " of " + strings.Join(names, ", ") + " (choose another with -c)"
	}
	return &pod.Spec.Containers[0], how, nil
}

func isInitOrEphemeral(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Level is a Pod Security Standards level.
type Level int

// Levels, from the most to the least constrained.
const (
	LevelRestricted Level = iota
	LevelBaseline
	LevelPrivileged
)

func (l Level) String() string {
	switch l {
	case LevelRestricted:
		return "restricted"
	case LevelBaseline:
		return "baseline"
	}
	return "privileged"
}

// parseLevel reads a pod-security.kubernetes.io/enforce value; ok is
// false for an empty or unknown value (the cluster's default applies).
func parseLevel(s string) (Level, bool) {
	switch s {
	case "restricted":
		return LevelRestricted, true
	case "baseline":
		return LevelBaseline, true
	case "privileged":
		return LevelPrivileged, true
	}
	return LevelPrivileged, false
}

// baselineCaps are the capabilities the baseline level lets a container add.
var baselineCaps = []corev1.Capability{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

// LevelNeeded returns the least Pod Security Standards level that admits a
// container with security context sc in a pod with security context psc
// (the checks of the standard that a security context decides).
func LevelNeeded(sc *corev1.SecurityContext, psc *corev1.PodSecurityContext) Level {
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if sc.Privileged != nil && *sc.Privileged {
		return LevelPrivileged
	}
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			if !slices.Contains(baselineCaps, c) {
				return LevelPrivileged
			}
		}
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeUnconfined {
		return LevelPrivileged
	}
	// restricted: no privilege escalation, every capability dropped (only
	// NET_BIND_SERVICE added back), not root, a seccomp profile.
	switch {
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return LevelBaseline
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
		return LevelBaseline
	case seccomp == nil:
		return LevelBaseline
	}
	for _, c := range sc.Capabilities.Add {
		if c != "NET_BIND_SERVICE" {
			return LevelBaseline
		}
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	uid := sc.RunAsUser
	if uid == nil {
		uid = psc.RunAsUser
	}
	if nonRoot == nil || !*nonRoot || (uid != nil && *uid == 0) {
		return LevelBaseline
	}
	return LevelRestricted
}

// Refusal is a live step that will not run, and why.
type Refusal struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// LivePlan is how live capture goes in one pod: the target container, the
// steps the agent runs, the security context it runs with and why, the
// Pod Security level that context needs, and the steps that cannot run.
type LivePlan struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	// Target is the target container and TargetChosenBy how it was chosen.
	Target         string `json:"target_container,omitempty"`
	TargetChosenBy string `json:"target_chosen_by,omitempty"`
	// TargetUser and TargetGroup are the target's runAsUser and runAsGroup
	// from its container or pod security context; nil when the pod spec
	// does not say (the image decides).
	TargetUser  *int64 `json:"target_run_as_user,omitempty"`
	TargetGroup *int64 `json:"target_run_as_group,omitempty"`
	// Enforce is the namespace's enforced Pod Security level as the plan
	// assumed it ("" when unknown: the cluster's default applies).
	Enforce string `json:"namespace_enforces,omitempty"`
	// Steps are the live steps the agent runs, in table order.
	Steps []string `json:"steps"`
	// SecurityContext is the agent container's; nil when no step runs.
	SecurityContext *corev1.SecurityContext `json:"security_context,omitempty"`
	// Needs is the least Pod Security level SecurityContext passes.
	Needs string `json:"podsecurity_needed,omitempty"`
	// Why explains the choice of security context.
	Why string `json:"why,omitempty"`
	// Notes are what the responder should know about the evidence.
	Notes []string `json:"notes,omitempty"`
	// Refused are the steps asked for that will not run.
	Refused []Refusal `json:"refused,omitempty"`
}

// refuse records that steps cannot run, for reason; steps not asked for
// are left out.
func (p *LivePlan) refuse(asked []string, reason string, steps ...string) {
	for _, s := range steps {
		if slices.Contains(asked, s) {
			p.Refused = append(p.Refused, Refusal{Step: s, Reason: reason})
		}
	}
}

// Refusal returns why step was refused, "" when it was not.
func (p *LivePlan) Refusal(step string) string {
	for _, r := range p.Refused {
		if r.Step == step {
			return r.Reason
		}
	}
	return ""
}

// effectiveIDs returns the target container's runAsUser and runAsGroup:
// its own security context's, else the pod's.
func effectiveIDs(pod *corev1.Pod, c *corev1.Container) (uid, gid *int64) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	return uid, gid
}

// PlanLive decides how live capture goes in pod for the steps l asks for,
// in a namespace that enforces Pod Security level enforce ("" when it
// sets none: then nothing is assumed, and the API's admission decides).
//
// The agent's security context is the least that does the job:
//
//   - packet capture needs CAP_NET_RAW, which only root keeps (Kubernetes
//     gives a non-root container no ambient capabilities): root with
//     NET_RAW, plus SYS_PTRACE when the filesystem or processes are asked
//     too, since root reads another user's /proc/PID/root only with it.
//     Level privileged.
//   - filesystem and processes of a target whose user and group the pod
//     spec sets, not root: that same user and group, every capability
//     dropped, no privilege escalation, seccomp RuntimeDefault, read-only
//     root. The kernel lets a process read /proc/PID of a process with
//     the same ids and no more capabilities. Level restricted.
//   - otherwise root with SYS_PTRACE (level privileged); where privileged
//     is not allowed, a root target is read as root with no added
//     capability (level baseline), and a target with a known user but no
//     known group as that user with the runtime's default group.
//
// Steps that the namespace's level forbids are refused with the reason;
// the others still run.
func PlanLive(pod *corev1.Pod, l *LiveOptions, enforce string) LivePlan {
	p := LivePlan{Namespace: pod.Namespace, Pod: pod.Name, Enforce: enforce, Steps: []string{}}
	asked := l.Steps()
	c, how, err := TargetContainer(pod, l.Container)
	if err != nil {
		p.refuse(asked, err.Error(), asked...)
		return p
	}
	p.Target, p.TargetChosenBy = c.Name, how
	p.TargetUser, p.TargetGroup = effectiveIDs(pod, c)
	if why := notLive(pod, c.Name); why != "" {
		p.refuse(asked, why, asked...)
		return p
	}
	level, known := parseLevel(enforce)
	forbids := func(need Level) bool { return known && need > level }
	nsPolicy := fmt.Sprintf("namespace %s enforces PodSecurity %q", pod.Namespace, enforce)

	pcap := l.Run.Pcap
	fsproc := l.Run.FS || l.Run.Proc
	mem := l.Run.Memory
	if (fsproc || mem) && (pod.Spec.HostPID || (pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace)) {
		why := "the pod shares the node's process namespace (hostPID): process 1 there is the node's init, not the target"
		if !pod.Spec.HostPID {
			why = "the pod's containers share one process namespace (shareProcessNamespace): process 1 there is the pod's sandbox, not the target"
		}
		p.refuse(asked, why+", so the agent cannot find the target's root and processes", StepFilesystem, StepProcesses, StepMemory)
		fsproc, mem = false, false
	}
	if pcap && pod.Spec.HostNetwork {
		p.Notes = append(p.Notes, "the pod uses the node's network (hostNetwork): the packet capture holds the node's traffic, not only the pod's")
	}
	fsSteps := []string{}
	for _, s := range []string{StepFilesystem, StepProcesses} {
		if slices.Contains(asked, s) && p.Refusal(s) == "" {
			fsSteps = append(fsSteps, s)
		}
	}

	if mem && forbids(LevelPrivileged) {
		// Reading another process's memory is ptrace: root with
		// SYS_PTRACE, which only level privileged admits.
		p.refuse(asked, nsPolicy+", which forbids adding the SYS_PTRACE capability that reading process memory (ptrace) needs; PodSecurity level privileged allows it (label the namespace pod-security.kubernetes.io/enforce=privileged, or capture the memory with a node-level tool)", StepMemory)
		mem = false
	}
	if pcap {
		sc, why := rootContext(true, fsproc || mem, p.TargetUser)
		if mem {
			why += "; --memory stops each process with ptrace (SYS_PTRACE) while it reads its memory"
		}
		if !forbids(LevelPrivileged) {
			p.set(sc, why, asked...)
			p.Steps = slices.DeleteFunc(p.Steps, func(s string) bool { return p.Refusal(s) != "" })
			return p
		}
		reason := nsPolicy + ", which forbids the NET_RAW capability packet capture needs"
		if level == LevelRestricted {
			reason += " (and a container running as root)"
		}
		p.refuse(asked, reason+"; capture packets in a namespace that allows privileged, or with a node-level tool", StepPcap)
	}
	if mem {
		sc, why := rootContext(false, true, p.TargetUser)
		var steps []string
		for _, s := range asked {
			if p.Refusal(s) == "" && s != StepPcap {
				steps = append(steps, s)
			}
		}
		p.set(sc, why+"; --memory stops each process with ptrace (SYS_PTRACE) while it reads its memory", steps...)
		return p
	}
	if !fsproc {
		return p
	}
	uid, gid := p.TargetUser, p.TargetGroup
	nonRoot := uid != nil && *uid != 0
	switch {
	case nonRoot && gid != nil:
		p.set(targetContext(*uid, gid), fmt.Sprintf("runs as the target's user %d and group %d with every capability dropped: the kernel lets it read the target's /proc and files as the target itself would, with no privilege added", *uid, *gid), fsSteps...)
	case !forbids(LevelPrivileged):
		sc, why := rootContext(false, true, uid)
		p.set(sc, why, fsSteps...)
	case nonRoot:
		p.set(targetContext(*uid, nil), fmt.Sprintf("runs as the target's user %d with every capability dropped; the pod spec sets no group, so the agent gets the runtime's default group: if the target's primary group differs, the kernel refuses the agent the target's /proc entries and the agent reports it", *uid), fsSteps...)
	case uid != nil && level >= LevelBaseline:
		sc := baselineRootContext(c)
		p.set(sc, "runs as root like the target, with no capability beyond the target's: "+nsPolicy+", which forbids SYS_PTRACE; processes of other users and files root cannot read without it may be missing (the agent reports them)", fsSteps...)
	default:
		who := "the target container runs as root"
		if uid == nil {
			who = "the pod spec does not say which user the target runs as (the image decides)"
		}
		p.refuse(asked, fmt.Sprintf("%s, so the agent would need root with SYS_PTRACE to read its filesystem and processes; %s, which forbids it", who, nsPolicy), fsSteps...)
		return p
	}
	if need, _ := parseLevel(p.Needs); forbids(need) {
		reason := fmt.Sprintf("%s, but reading the target needs %s (%s)", nsPolicy, p.Needs, p.Why)
		p.Steps, p.SecurityContext, p.Needs, p.Why = []string{}, nil, "", ""
		p.refuse(asked, reason, fsSteps...)
	}
	return p
}

// set records the container the agent runs in, for steps.
func (p *LivePlan) set(sc *corev1.SecurityContext, why string, steps ...string) {
	p.Steps = append(p.Steps[:0], steps...)
	p.SecurityContext, p.Why = sc, why
	p.Needs = LevelNeeded(sc, nil).String()
}

// notLive says why the pod or its target container cannot be captured
// live, "" when it can.
func notLive(pod *corev1.Pod, target string) string {
	switch {
	case pod.DeletionTimestamp != nil:
		return "the pod is being deleted"
	case pod.Status.Phase != corev1.PodRunning:
		return fmt.Sprintf("the pod is not running (phase %s)", orUnknown(string(pod.Status.Phase)))
	case pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows:
		return "the pod runs Windows: the agent is a Linux program"
	}
	st := kube.ContainerStatus(pod, target)
	if st == nil || st.State.Running == nil {
		state := "no status yet"
		if st != nil {
			state = kube.StateText(st.State)
		}
		return fmt.Sprintf("the target container %s is not running (%s)", target, state)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// rootContext is root with the runtime's default capabilities plus those
// the steps need: NET_RAW for packets, and SYS_PTRACE, without which root
// may not open another user's /proc/PID/{root,ns/net} (the agent checks
// the target's network namespace even when it captures packets only).
// uid is the target's user, when known, for the reason; fsproc says
// whether the filesystem or processes are read too.
func rootContext(pcap, fsproc bool, uid *int64) (*corev1.SecurityContext, string) {
	add := []corev1.Capability{}
	var why []string
	if pcap {
		add = append(add, "NET_RAW")
		why = append(why, "packet capture needs CAP_NET_RAW, which only a root process keeps (Kubernetes gives a non-root container no ambient capabilities)")
	}
	add = append(add, "SYS_PTRACE")
	if !fsproc {
		why = append(why, "SYS_PTRACE lets it open the target's /proc/1/ns/net whoever the target runs as, to make sure it captures the target's network namespace")
	} else {
		switch {
		case uid == nil:
			why = append(why, "the pod spec does not say which user the target runs as (the image decides): with SYS_PTRACE root reads the target's /proc and files whoever owns them")
		case *uid == 0:
			why = append(why, "the target runs as root: SYS_PTRACE lets the agent read its /proc even where the target holds capabilities the agent lacks, and the processes of other users")
		default:
			why = append(why, fmt.Sprintf("the target runs as user %d: root reads another user's /proc/PID/root and files only with SYS_PTRACE", *uid))
		}
	}
	sc := &corev1.SecurityContext{
		RunAsUser: new(int64(0)), RunAsGroup: new(int64(0)), RunAsNonRoot: new(false),
		AllowPrivilegeEscalation: new(false), ReadOnlyRootFilesystem: new(true),
		Capabilities: &corev1.Capabilities{Add: add},
	}
	names := make([]string, len(add))
	for i, c := range add {
		names[i] = string(c)
	}
	return sc, "runs as root with the runtime's default capabilities and " + strings.Join(names, " and ") + ": " + strings.Join(why, "; ")
}

// targetContext is the target's own user (and group, when known) with
// every capability dropped: what the restricted level admits.
func targetContext(uid int64, gid *int64) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		RunAsUser: new(uid), RunAsNonRoot: new(true), AllowPrivilegeEscalation: new(false),
		ReadOnlyRootFilesystem: new(true),
		Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:         &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if gid != nil {
		sc.RunAsGroup = new(*gid)
	}
	return sc
}

// baselineRootContext is root with the capabilities the target itself
// adds (the kernel lets a process read another's /proc only if it has at
// least the other's capabilities), and nothing the baseline level forbids.
func baselineRootContext(target *corev1.Container) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		RunAsUser: new(int64(0)), RunAsGroup: new(int64(0)), RunAsNonRoot: new(false),
		AllowPrivilegeEscalation: new(false), ReadOnlyRootFilesystem: new(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if tsc := target.SecurityContext; tsc != nil && tsc.Capabilities != nil {
		var add []corev1.Capability
		for _, c := range tsc.Capabilities.Add {
			if slices.Contains(baselineCaps, c) {
				add = append(add, c)
			}
		}
		if len(add) > 0 {
			sc.Capabilities = &corev1.Capabilities{Add: add}
		}
	}
	return sc
}

// podSecurityViolation matches the API server's PodSecurity admission
// refusal and captures the level it enforced.
var podSecurityViolation = regexp.MustCompile(`violates PodSecurity "([a-z]+)`)
