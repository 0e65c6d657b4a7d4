package kube

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubectl/pkg/util/podutils"
)

// ContainerStatus returns a copy of the status of the pod's container name
// (init, regular or ephemeral), nil when the pod reports none.
func ContainerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return list[i].DeepCopy()
			}
		}
	}
	return nil
}

// StateText is a container state on one line, e.g. "running",
// "terminated: Error (exit 3)", "waiting: ErrImagePull".
func StateText(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated: %s (exit %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "waiting: " + s.Waiting.Reason
	}
	return "unknown"
}

// Refs are the objects a pod spec names, each with where it is used.
type Refs struct {
	ServiceAccount         string `json:"service_account"`
	ConfigMaps             []Ref  `json:"configmaps"`
	Secrets                []Ref  `json:"secrets"`
	PersistentVolumeClaims []Ref  `json:"persistent_volume_claims"`
}

// Ref is one referenced object.
type Ref struct {
	Name string `json:"name"`
	// UsedBy says where the pod uses it, e.g. "volume config",
	// "env DB_PASSWORD of container app", "image pull secret".
	UsedBy []string `json:"used_by"`
}

// References returns the ConfigMaps, Secrets and volume claims that the
// pod spec names: volumes (also projected and CSI), env and envFrom of
// every container, image pull secrets. Nothing is read from the cluster.
func References(pod *corev1.Pod) Refs {
	cms, secrets, pvcs := refSet{}, refSet{}, refSet{}
	opt := func(o *bool) string {
		if o != nil && *o {
			return " (optional)"
		}
		return ""
	}
	secretRef := func(r *corev1.LocalObjectReference, use string) {
		if r != nil {
			secrets.add(r.Name, use)
		}
	}
	for _, v := range pod.Spec.Volumes {
		use := "volume " + v.Name
		switch {
		case v.ConfigMap != nil:
			cms.add(v.ConfigMap.Name, use+opt(v.ConfigMap.Optional))
		case v.Secret != nil:
			secrets.add(v.Secret.SecretName, use+opt(v.Secret.Optional))
		case v.PersistentVolumeClaim != nil:
			pvcs.add(v.PersistentVolumeClaim.ClaimName, use)
		case v.Ephemeral != nil:
			pvcs.add(pod.Name+"-"+v.Name, use+" (generic ephemeral volume)")
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					cms.add(s.ConfigMap.Name, "projected "+use+opt(s.ConfigMap.Optional))
				}
				if s.Secret != nil {
					secrets.add(s.Secret.Name, "projected "+use+opt(s.Secret.Optional))
				}
			}
		case v.CSI != nil:
			secretRef(v.CSI.NodePublishSecretRef, use+" (CSI node publish secret)")
		case v.FlexVolume != nil:
			secretRef(v.FlexVolume.SecretRef, use+" (flex volume secret)")
		case v.CephFS != nil:
			secretRef(v.CephFS.SecretRef, use+" (CephFS secret)")
		case v.RBD != nil:
			secretRef(v.RBD.SecretRef, use+" (RBD secret)")
		case v.ISCSI != nil:
			secretRef(v.ISCSI.SecretRef, use+" (iSCSI CHAP secret)")
		case v.Cinder != nil:
			secretRef(v.Cinder.SecretRef, use+" (Cinder secret)")
		case v.AzureFile != nil:
			secrets.add(v.AzureFile.SecretName, use+" (Azure File secret)")
		}
	}
	podutils.VisitContainers(&pod.Spec, podutils.AllContainers, func(c *corev1.Container, _ podutils.ContainerType) bool {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			use := fmt.Sprintf("env %s of container %s", e.Name, c.Name)
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cms.add(r.Name, use+" (key "+r.Key+")"+opt(r.Optional))
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				secrets.add(r.Name, use+" (key "+r.Key+")"+opt(r.Optional))
			}
		}
		for _, e := range c.EnvFrom {
			use := "envFrom of container " + c.Name
			if e.ConfigMapRef != nil {
				cms.add(e.ConfigMapRef.Name, use+opt(e.ConfigMapRef.Optional))
			}
			if e.SecretRef != nil {
				secrets.add(e.SecretRef.Name, use+opt(e.SecretRef.Optional))
			}
		}
		return true
	})
	for _, s := range pod.Spec.ImagePullSecrets {
		secrets.add(s.Name, "image pull secret")
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return Refs{ServiceAccount: sa, ConfigMaps: cms.list(), Secrets: secrets.list(), PersistentVolumeClaims: pvcs.list()}
}

type refSet map[string][]string

func (s refSet) add(name, use string) {
	if name != "" {
		s[name] = append(s[name], use)
	}
}

func (s refSet) list() []Ref {
	out := []Ref{}
	for name, uses := range s {
		out = append(out, Ref{Name: name, UsedBy: uses})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
