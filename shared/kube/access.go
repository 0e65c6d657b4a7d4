package kube

import (
	"context"
	"fmt"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Status of a step in the preflight.
type Status string

// Step statuses.
const (
	// StatusOK: every permission the step needs is granted.
	StatusOK Status = "ok"
	// StatusCannot: a permission is denied; the step is skipped and the
	// bundle is marked incomplete with the reason.
	StatusCannot Status = "cannot"
	// StatusUnknown: the API server could not answer an access review; the
	// step is tried and its own error, if any, recorded.
	StatusUnknown Status = "unknown"
	// StatusOff: the step was not asked for (an option is off).
	StatusOff Status = "off"
	// StatusNone: there is nothing for the step to collect (no owner, not
	// scheduled, no Secret referenced).
	StatusNone Status = "none"
)

// Access is one permission a step needs, and the API server's answer to a
// SelfSubjectAccessReview for it.
type Access struct {
	Verb        string `json:"verb"`
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource,omitempty"`
	// Namespace is empty for cluster-scoped resources and for "in every
	// namespace".
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Allowed   bool   `json:"allowed"`
	// Reason is the authorizer's explanation, when it gave one.
	Reason string `json:"reason,omitempty"`
	// Error is set when the review failed: the answer is unknown.
	Error string `json:"error,omitempty"`
	// ClusterScoped marks resources that only a ClusterRoleBinding grants.
	ClusterScoped bool `json:"cluster_scoped,omitempty"`
}

// Need is the permission to do verb on resource (of API group group,
// subresource sub) in namespace ns, before it is reviewed.
func Need(verb, group, resource, sub, ns string) Access {
	return Access{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns}
}

// The permissions the steps use, built in one place so that the preflight
// and the collectors ask the same questions (and hit the same cache).

// AccessGetPods is get pods.
func AccessGetPods(ns string) Access { return Need("get", "", "pods", "", ns) }

// AccessListPods is list pods.
func AccessListPods(ns string) Access { return Need("list", "", "pods", "", ns) }

// AccessPodLogs is get pods/log (read container logs).
func AccessPodLogs(ns string) Access { return Need("get", "", "pods", "log", ns) }

// AccessListEvents is list events.
func AccessListEvents(ns string) Access { return Need("list", "", "events", "", ns) }

// AccessGetSA is get serviceaccounts.
func AccessGetSA(ns string) Access { return Need("get", "", "serviceaccounts", "", ns) }

// AccessGetSecrets is get secrets.
func AccessGetSecrets(ns string) Access { return Need("get", "", "secrets", "", ns) }

// AccessListServices is list services.
func AccessListServices(ns string) Access {
	return Need("list", "", "services", "", ns)
}

// AccessListSlices is list endpointslices.
func AccessListSlices(ns string) Access {
	return Need("list", "discovery.k8s.io", "endpointslices", "", ns)
}

// AccessListNetpols is list networkpolicies.
func AccessListNetpols(ns string) Access {
	return Need("list", "networking.k8s.io", "networkpolicies", "", ns)
}

// AccessGetNodes is get nodes (cluster-scoped).
func AccessGetNodes() Access {
	a := Need("get", "", "nodes", "", "")
	a.ClusterScoped = true
	return a
}

// AccessGetNamespace is get the namespace object ns.
func AccessGetNamespace(ns string) Access {
	// GET /api/v1/namespaces/NS is authorized with namespace NS, so a
	// RoleBinding in NS can grant it.
	a := Need("get", "", "namespaces", "", ns)
	a.Name = ns
	return a
}

// AccessSelfSubjectReview is create selfsubjectreviews (who am I).
func AccessSelfSubjectReview() Access {
	a := Need("create", "authentication.k8s.io", "selfsubjectreviews", "", "")
	a.ClusterScoped = true
	return a
}

// The permissions of live capture: adding the agent's ephemeral container
// (client-go's UpdateEphemeralContainers is a PUT on the subresource: verb
// update) and attaching to it (SPDY is a POST: create; WebSocket is a GET
// that the API server authorizes as both get and create, and the plugin
// falls back to SPDY when it is refused). Watching the pod is how the
// plugin sees the container start; without it, it polls.

// AccessUpdateEphemeral is update pods/ephemeralcontainers (add one).
func AccessUpdateEphemeral(ns string) Access {
	return Need("update", "", "pods", "ephemeralcontainers", ns)
}

// AccessCreateAttach is create pods/attach (SPDY and WebSocket).
func AccessCreateAttach(ns string) Access { return Need("create", "", "pods", "attach", ns) }

// AccessGetAttach is get pods/attach (WebSocket).
func AccessGetAttach(ns string) Access { return Need("get", "", "pods", "attach", ns) }

// AccessWatchPods is watch pods.
func AccessWatchPods(ns string) Access { return Need("watch", "", "pods", "", ns) }

// ResourceName is resource[/sub][.group], as kubectl auth can-i takes it.
func (a Access) ResourceName() string {
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Group != "" {
		r += "." + a.Group
	}
	return r
}

// String is e.g. "get pods/log -n shop" or "get nodes (cluster-wide)".
func (a Access) String() string {
	s := a.Verb + " " + a.ResourceName()
	if a.Name != "" {
		s += " " + a.Name
	}
	switch {
	case a.ClusterScoped:
		s += " (cluster-wide)"
	case a.Namespace == "":
		s += " -A"
	default:
		s += " -n " + a.Namespace
	}
	return s
}

// Key identifies the permission asked, whatever the answer.
func (a Access) Key() string {
	return strings.Join([]string{a.Verb, a.Group, a.Resource, a.Subresource, a.Namespace, a.Name}, "|")
}

// denied reports whether the review answered "no" (not merely failed).
func (a Access) denied() bool { return !a.Allowed && a.Error == "" }

// Can asks the API server whether we may do a (SelfSubjectAccessReview).
// Answers are cached for the run. With WideReviews, a permission in one
// namespace is granted by the same permission in every namespace and on
// every name (a review with neither, which only a ClusterRoleBinding
// grants), asked once for the run; only when that is not granted is the
// namespace asked.
func (c *Cluster) Can(ctx context.Context, a Access) Access {
	if c.WideReviews && a.Namespace != "" && !a.ClusterScoped {
		wide := a
		wide.Namespace, wide.Name = "", ""
		if got := c.review(ctx, wide); got.Allowed {
			a.Allowed = true
			a.Reason = "granted in every namespace"
			if got.Reason != "" {
				a.Reason += ": " + got.Reason
			}
			return a
		}
	}
	return c.review(ctx, a)
}

// review asks one SelfSubjectAccessReview, cached for the run.
func (c *Cluster) review(ctx context.Context, a Access) Access {
	got, _ := cached(ctx, &c.cache, "ssar/"+a.Key(), func(ctx context.Context) (Access, error) {
		review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource,
				Subresource: a.Subresource, Name: a.Name,
			},
		}}
		res, err := c.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			a.Error = c.Error("SelfSubjectAccessReview", err).Error()
			return a, nil
		}
		a.Allowed, a.Reason = res.Status.Allowed, res.Status.Reason
		if !a.Allowed && res.Status.EvaluationError != "" && !res.Status.Denied {
			a.Error = "the authorizer could not decide: " + res.Status.EvaluationError
		}
		return a, nil
	})
	return got
}

// NotAllowed returns an error saying why a was refused, when the access
// review said no; nil when it is allowed or unknown (then the request is
// tried and its own error recorded).
func (c *Cluster) NotAllowed(ctx context.Context, a Access) error {
	got := c.Can(ctx, a)
	if !got.denied() {
		return nil
	}
	return fmt.Errorf("not allowed (preflight): %s", whyDenied(got, c.WhoAmI(ctx)))
}

func whyDenied(a Access, id Identity) string {
	who := id.Username
	if who == "" {
		who = "this user"
	}
	s := fmt.Sprintf("%s may not %s", who, a.String())
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	if a.ClusterScoped {
		s += "; it is cluster-scoped: only a ClusterRoleBinding grants it"
		if a.Resource == "nodes" {
			s += " (bind ClusterRole forensic-capture-nodes)"
		}
	}
	return s
}

// Check is one row of the preflight table.
type Check struct {
	Step     string   `json:"step"`
	Collects string   `json:"collects"`
	Needs    []Access `json:"needs,omitempty"`
	Status   Status   `json:"status"`
	// Why explains a status other than ok.
	Why string `json:"why,omitempty"`
}

// Judge folds a step's reviews into its status.
func Judge(needs []Access, id Identity) (Status, string) {
	var denied, unknown []string
	for _, a := range needs {
		switch {
		case a.Allowed:
		case a.denied():
			denied = append(denied, whyDenied(a, id))
		default:
			unknown = append(unknown, a.String()+": "+a.Error)
		}
	}
	switch {
	case len(denied) > 0:
		return StatusCannot, strings.Join(denied, "; ")
	case len(unknown) > 0:
		return StatusUnknown, "will try: " + strings.Join(unknown, "; ")
	}
	return StatusOK, ""
}
