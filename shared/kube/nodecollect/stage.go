package nodecollect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/collect"
	"github.com/forensic-tools/forensic/shared/kube"
)

// Producers of the node stage's artifacts in the manifest.
const (
	producerNode  = "kube.node-evidence"
	producerAgent = "kube.node-agent"
)

// Paths of the node stage's own artifacts in each pod's bundle.
const (
	ArtifactCollector = "node/collector.json"
	ArtifactReport    = "node/report.json"
)

// HostRoot is where the collector mounts the host's /.
const HostRoot = "/host"

func (o *Options) image() string {
	if o.Image != "" {
		return o.Image
	}
	return agent.DefaultImage()
}

// Request is what the agent's node mode is asked for one pod (the
// contract with forensic-agent node; host paths are paths on the host).
type Request struct {
	Namespace   string             `json:"namespace"`
	Pod         string             `json:"pod"`
	PodUID      string             `json:"pod_uid"`
	Containers  []RequestContainer `json:"containers"`
	PodLogsDir  string             `json:"pod_logs_dir,omitempty"`
	CRIEndpoint string             `json:"cri_endpoint,omitempty"`
	JournalDirs []string           `json:"journal_dirs,omitempty"`
	Since       string             `json:"since,omitempty"`
	Checkpoints []RequestArchive   `json:"checkpoints,omitempty"`
	CRIULogs    []RequestCRIULog   `json:"criu_logs,omitempty"`
}

// RequestContainer is one selected container.
type RequestContainer struct {
	Name        string `json:"name"`
	ContainerID string `json:"container_id"`
}

// RequestArchive is a checkpoint archive the kubelet wrote.
type RequestArchive struct {
	Container string `json:"container"`
	Path      string `json:"path"`
	Delete    bool   `json:"delete"`
}

// RequestCRIULog is CRIU's log of a failed checkpoint, on the node.
type RequestCRIULog struct {
	Container string `json:"container"`
	Path      string `json:"path"`
}

// KubeletConfig is what the stage learnt of a node's kubelet from its
// configz; empty fields were not found (the agent then looks itself).
type KubeletConfig struct {
	PodLogsDir           string `json:"pod_logs_dir,omitempty"`
	CRIEndpoint          string `json:"cri_endpoint,omitempty"`
	ContainerLogMaxSize  string `json:"container_log_max_size,omitempty"`
	ContainerLogMaxFiles int    `json:"container_log_max_files,omitempty"`
	// Error says why configz could not be read.
	Error string `json:"error,omitempty"`
}

// CheckpointResult is one container's checkpoint.
type CheckpointResult struct {
	Container string    `json:"container"`
	Asked     time.Time `json:"asked"`
	Took      string    `json:"took"`
	// Path is the archive on the node; Error why there is none.
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
	// CRIULog is CRIU's log on the node, parsed from the kubelet's error.
	CRIULog string `json:"criu_log,omitempty"`
	// Deleted says whether the collector was asked to delete the archive.
	Delete bool `json:"delete"`
}

// CollectorRecord is the collector pod, as node/collector.json and the
// custody action record it.
type CollectorRecord struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid,omitempty"`
	Node      string `json:"node"`
	Image     string `json:"image"`
	ImageID   string `json:"image_id,omitempty"`
	// Container is this pod's container in it, Args its command line.
	Container  string   `json:"container"`
	Args       []string `json:"args"`
	Privileges []string `json:"privileges"`
	Strategy   string   `json:"strategy"`
	// Kubelet is what the kubelet's configz said.
	Kubelet     KubeletConfig      `json:"kubelet"`
	Checkpoints []CheckpointResult `json:"checkpoints"`
	Created     time.Time          `json:"created,omitzero"`
	Running     time.Time          `json:"running,omitzero"`
	Deleted     time.Time          `json:"deleted,omitzero"`
	State       string             `json:"state"`
	Error       string             `json:"error,omitempty"`
}

// privileges lists, in words, what the collector pod may do on the node.
var privileges = []string{
	"hostPID: the host's PID namespace (reads /proc of the target's processes)",
	"hostPath / mounted read-only at " + HostRoot,
	"runs as root with every capability dropped but DAC_OVERRIDE (reads files of any owner) and SYS_PTRACE (other processes' /proc/PID/root and mountinfo); no privilege escalation; read-only root filesystem",
	"pinned to the node with nodeName; tolerates every taint; no service account token",
}

// Stage is the node stage of one capture run: one collector pod per node
// that hosts target pods, shared by their captures. Close removes what
// is left when the run ends.
type Stage struct {
	c    *kube.Cluster
	o    *Options
	now  func() time.Time
	plan Plan

	mu    sync.Mutex
	nodes map[string]*nodeRun
	// byNode holds the target pods of each node, in capture order.
	byNode map[string][]*corev1.Pod
}

// NewStage returns the node stage for pods, whose preflight is plan.
func NewStage(c *kube.Cluster, o *Options, plan Plan, pods []*corev1.Pod, now func() time.Time) *Stage {
	s := &Stage{c: c, o: o, now: now, plan: plan, nodes: map[string]*nodeRun{}, byNode: map[string][]*corev1.Pod{}}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			s.byNode[p.Spec.NodeName] = append(s.byNode[p.Spec.NodeName], p)
		}
	}
	return s
}

// nodeRun is one node's collector pod.
type nodeRun struct {
	s    *Stage
	node string
	pods []*corev1.Pod
	once sync.Once
	// Set by setup.
	err         error
	kubelet     KubeletConfig
	checkpoints map[types.UID][]CheckpointResult
	pod         *corev1.Pod
	created     time.Time
	// refs counts the target pods not done yet.
	refs int
	// done lists the archives whose pod's capture streamed them.
	done    []string
	deleted time.Time
	delErr  error
	delOnce sync.Once
}

func (s *Stage) node(name string) *nodeRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[name]
	if n == nil {
		n = &nodeRun{s: s, node: name, pods: s.byNode[name], refs: len(s.byNode[name])}
		s.nodes[name] = n
	}
	return n
}

// index returns the container of pod uid in the node's collector pod.
func (n *nodeRun) index(uid types.UID) int {
	for i, p := range n.pods {
		if p.UID == uid {
			return i
		}
	}
	return -1
}

func containerName(i int) string { return fmt.Sprintf("pod-%d", i) }

// setup makes the node's collector pod, once: it checks that the node is
// Ready, reads the kubelet's configz, asks for the checkpoints, creates
// the pod and returns; the containers' start is waited for by each pod.
func (n *nodeRun) setup(ctx context.Context, sink collect.Sink) error {
	n.once.Do(func() { n.err = n.doSetup(ctx, sink) })
	return n.err
}

func (n *nodeRun) doSetup(ctx context.Context, sink collect.Sink) error {
	s := n.s
	if why := s.plan.Refusal(StepNodeEvidence); why != "" {
		return fmt.Errorf("refused before anything was created on node %s: %s", n.node, why)
	}
	node, err := s.c.Client.CoreV1().Nodes().Get(ctx, n.node, metav1.GetOptions{})
	if err != nil {
		return s.c.Error("reading node "+n.node, err)
	}
	if why := notReady(node); why != "" {
		return fmt.Errorf("node %s is not Ready (%s): no collector pod can run there; its pods' other evidence is still captured", n.node, why)
	}
	n.kubelet = s.configz(ctx, n.node)
	if s.o.Checkpoint {
		n.checkpoints = map[types.UID][]CheckpointResult{}
		refused := s.plan.Refusal(StepCheckpoint)
		for _, p := range n.pods {
			for _, c := range selected(p, s.o.Container, true) {
				at := s.now()
				if refused != "" {
					n.checkpoints[p.UID] = append(n.checkpoints[p.UID], CheckpointResult{Container: c.Name, Asked: at, Error: "refused: " + refused})
					continue
				}
				r := s.checkpoint(ctx, n.node, p, c.Name)
				r.Asked, r.Took = at, s.now().Sub(at).Round(time.Millisecond).String()
				r.Delete = r.Path != "" && !s.o.KeepOnNode
				n.checkpoints[p.UID] = append(n.checkpoints[p.UID], r)
				if ctx.Err() != nil {
					break
				}
			}
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted before the collector pod was created on node %s: %w", n.node, context.Cause(ctx))
	}
	spec := n.collectorPod()
	n.created = s.now()
	created, err := s.c.Client.CoreV1().Pods(s.o.NS()).Create(ctx, spec, metav1.CreateOptions{FieldManager: "kubectl-forensic"})
	if err != nil {
		return s.c.Error(fmt.Sprintf("creating the node collector pod on node %s in namespace %s", n.node, s.o.NS()), err)
	}
	n.pod = created
	sink.Logf("created node collector pod %s/%s (uid %s) on node %s, image %s", created.Namespace, created.Name, created.UID, n.node, s.o.image())
	return nil
}

// notReady says why node is not Ready, "" when it is.
func notReady(node *corev1.Node) string {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return ""
			}
			return strings.TrimSpace(fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message))
		}
	}
	return "it reports no Ready condition"
}

// selected returns the containers of p the stage covers (-c narrows);
// running limits them to running regular containers (checkpoints).
func selected(p *corev1.Pod, only string, running bool) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	lists := [][]corev1.ContainerStatus{p.Status.ContainerStatuses}
	if !running {
		lists = append(lists, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses)
	}
	for _, l := range lists {
		for _, st := range l {
			if only != "" && st.Name != only {
				continue
			}
			if running && st.State.Running == nil {
				continue
			}
			if st.ContainerID == "" {
				continue
			}
			out = append(out, st)
		}
	}
	return out
}

// request is the agent's request for pod p.
func (n *nodeRun) request(p *corev1.Pod) Request {
	r := Request{Namespace: p.Namespace, Pod: p.Name, PodUID: string(p.UID),
		PodLogsDir: n.kubelet.PodLogsDir, CRIEndpoint: n.kubelet.CRIEndpoint,
		JournalDirs: []string{"/var/log/journal", "/run/log/journal"}}
	since := p.CreationTimestamp.Time
	if p.Status.StartTime != nil {
		since = p.Status.StartTime.Time
	}
	if !since.IsZero() {
		r.Since = since.UTC().Format(time.RFC3339)
	}
	for _, st := range selected(p, n.s.o.Container, false) {
		r.Containers = append(r.Containers, RequestContainer{Name: st.Name, ContainerID: st.ContainerID})
	}
	for _, ck := range n.checkpoints[p.UID] {
		if ck.Path != "" {
			r.Checkpoints = append(r.Checkpoints, RequestArchive{Container: ck.Container, Path: ck.Path, Delete: ck.Delete})
		}
		if ck.CRIULog != "" {
			r.CRIULogs = append(r.CRIULogs, RequestCRIULog{Container: ck.Container, Path: ck.CRIULog})
		}
	}
	return r
}

// args is the agent's command line for pod p.
func (n *nodeRun) args(p *corev1.Pod) []string {
	b, _ := json.Marshal(n.request(p))
	return []string{"node", "--request", string(b), "--wait-stdin", "--host-root", HostRoot}
}

// collectorPod is the node's collector pod: one container per target pod.
func (n *nodeRun) collectorPod() *corev1.Pod {
	s := n.s
	yes, no := true, false
	root := int64(0)
	grace := int64(2)
	hostDir := corev1.HostPathDirectory
	volumes := []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &hostDir}}}}
	mounts := []corev1.VolumeMount{{Name: "host", MountPath: HostRoot, ReadOnly: true}}
	// The kubelet's checkpoints folder read-write, only when archives are
	// to be deleted from it.
	if dir := n.checkpointDir(); dir != "" {
		volumes = append(volumes, corev1.Volume{Name: "checkpoints", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostDir}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "checkpoints", MountPath: path.Join(HostRoot, dir)})
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "forensic-node-",
			Namespace:    s.o.NS(),
			Labels: map[string]string{
				"app.kubernetes.io/name":       "forensic-node-collector",
				"app.kubernetes.io/managed-by": "kubectl-forensic",
			},
			Annotations: map[string]string{
				"forensic-tools.io/purpose": "node evidence of pods on node " + n.node + " for kubectl forensic capture; deleted when done",
				"forensic-tools.io/tool":    s.o.Tool,
			},
		},
		Spec: corev1.PodSpec{
			NodeName: n.node, HostPID: true, RestartPolicy: corev1.RestartPolicyNever,
			AutomountServiceAccountToken: &no, EnableServiceLinks: &no,
			TerminationGracePeriodSeconds: &grace,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Volumes:                       volumes,
		},
	}
	for i, p := range n.pods {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: containerName(i), Image: s.o.image(), Args: n.args(p),
			Stdin: true, StdinOnce: true, ImagePullPolicy: corev1.PullIfNotPresent,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			VolumeMounts:             mounts,
			Env:                      []corev1.EnvVar{{Name: "FORENSIC_PURPOSE", Value: "node evidence of pod " + p.Namespace + "/" + p.Name}},
			SecurityContext: &corev1.SecurityContext{
				RunAsUser: &root, RunAsNonRoot: &no, Privileged: &no, AllowPrivilegeEscalation: &no,
				ReadOnlyRootFilesystem: &yes,
				// Only what reading the node needs: files of any owner
				// (DAC_OVERRIDE) and other processes' /proc entries
				// (SYS_PTRACE). Not DAC_READ_SEARCH (open_by_handle_at
				// escapes a mount).
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"DAC_OVERRIDE", "SYS_PTRACE"}},
			},
		})
	}
	return pod
}

// checkpointDir is the kubelet's checkpoints folder when archives are to
// be deleted from it, else "".
func (n *nodeRun) checkpointDir() string {
	for _, list := range n.checkpoints {
		for _, ck := range list {
			if ck.Delete {
				return path.Dir(ck.Path)
			}
		}
	}
	return ""
}

// configz reads the kubelet's configuration through nodes/proxy, when
// allowed: its pod logs folder and CRI endpoint.
func (s *Stage) configz(ctx context.Context, node string) KubeletConfig {
	var k KubeletConfig
	if err := s.c.NotAllowed(ctx, accessNodesProxy("get")); err != nil {
		k.Error = "configz not read (the agent looks at the kubelet's command line instead): " + err.Error()
		return k
	}
	rc, ok := restClient(s.c)
	if !ok {
		k.Error = "configz not read: no REST client"
		return k
	}
	raw, err := rc.Get().AbsPath("/api/v1/nodes", node, "proxy", "configz").DoRaw(ctx)
	if err != nil {
		k.Error = s.c.Error("reading the kubelet's configz on node "+node, err).Error()
		return k
	}
	var z struct {
		KC struct {
			PodLogsDir               string `json:"podLogsDir"`
			ContainerRuntimeEndpoint string `json:"containerRuntimeEndpoint"`
			ContainerLogMaxSize      string `json:"containerLogMaxSize"`
			ContainerLogMaxFiles     int    `json:"containerLogMaxFiles"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(raw, &z); err != nil {
		k.Error = fmt.Sprintf("decoding the kubelet's configz on node %s: %v", node, err)
		return k
	}
	k.PodLogsDir, k.CRIEndpoint = z.KC.PodLogsDir, z.KC.ContainerRuntimeEndpoint
	k.ContainerLogMaxSize, k.ContainerLogMaxFiles = z.KC.ContainerLogMaxSize, z.KC.ContainerLogMaxFiles
	return k
}

// criuLogPath finds CRIU's log in the kubelet's error text.
var criuLogPath = regexp.MustCompile(`path= ?(/\S+?criu-dump\.log)`)

// checkpoint asks the kubelet, through the API server's nodes/proxy, to
// checkpoint container c of pod p.
func (s *Stage) checkpoint(ctx context.Context, node string, p *corev1.Pod, c string) CheckpointResult {
	r := CheckpointResult{Container: c}
	// client-go would send its request timeout as ?timeout=, which the
	// kubelet reads as the checkpoint's own timeout in seconds: Timeout(0)
	// leaves only ours.
	rc, ok := restClient(s.c)
	if !ok {
		r.Error = "checkpointing container " + c + ": no REST client to reach the kubelet through the API server"
		return r
	}
	raw, err := rc.Post().AbsPath("/api/v1/nodes", node, "proxy", "checkpoint", p.Namespace, p.Name, c).
		Timeout(0).Param("timeout", "60").DoRaw(ctx)
	if err != nil {
		// The kubelet's own words: its plain-text body as the API server
		// relays it (client-go's error wraps it in "an error on the
		// server (...) has prevented the request from succeeding"), else
		// the API status message.
		msg := err.Error()
		var se apierrors.APIStatus
		if body := strings.TrimSpace(string(raw)); body != "" && !strings.HasPrefix(body, "{") {
			msg = body
		} else if errors.As(err, &se) && se.Status().Message != "" {
			msg = se.Status().Message
		}
		if m := criuLogPath.FindStringSubmatch(msg); m != nil {
			r.CRIULog = m[1]
		}
		switch {
		case errors.As(err, &se) && se.Status().Code == 404:
			msg = "the kubelet has no checkpoint API (feature gate ContainerCheckpoint off, or the kubelet older than 1.25) or does not know the container: " + msg
		case strings.Contains(msg, "not implemented") || strings.Contains(msg, "Unimplemented"):
			msg = "the container runtime cannot checkpoint (containerd 2.0 or CRI-O 1.25 and CRIU are needed): " + msg
		case errors.As(err, &se) && se.Status().Code == 403:
			msg = "not allowed: " + msg + " (the user needs create on nodes/proxy; the kubelet also checks the API server's own kubelet-client identity for nodes/checkpoint, which system:kubelet-api-admin lacks)"
		}
		r.Error = fmt.Sprintf("checkpointing container %s of pod %s/%s on node %s: %s", c, p.Namespace, p.Name, node, msg)
		return r
	}
	var out struct {
		Items []string `json:"items"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Items) == 0 {
		r.Error = fmt.Sprintf("checkpointing container %s: the kubelet's answer %q names no archive", c, raw)
		return r
	}
	r.Path = out.Items[0]
	return r
}

// restClient returns the cluster's core REST client; a fake clientset has
// none.
func restClient(c *kube.Cluster) (rest.Interface, bool) {
	rc := c.Client.CoreV1().RESTClient()
	if r, ok := rc.(*rest.RESTClient); rc == nil || (ok && r == nil) {
		return nil, false
	}
	return rc, true
}
