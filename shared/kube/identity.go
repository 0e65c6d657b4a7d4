package kube

import (
	"context"
	"fmt"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/forensic-tools/forensic/shared/evidence"
)

// Identity sources.
const (
	// FromSelfSubjectReview: the API server said who we are.
	FromSelfSubjectReview = "SelfSubjectReview"
	// FromKubeconfig: the API server could not say; this is the kubeconfig
	// user, which is a name in a local file, not a proven identity.
	FromKubeconfig = "kubeconfig"
)

// Identity is who the API server sees making the requests.
type Identity struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
	// Source is FromSelfSubjectReview or FromKubeconfig.
	Source string `json:"source"`
	// Problem says why SelfSubjectReview did not answer, when it did not.
	Problem string `json:"problem,omitempty"`
}

// String is the identity in one line, for custody.json and the preflight table.
func (i Identity) String() string {
	if i.Source == FromKubeconfig {
		name := i.Username
		if name == "" {
			name = "(none)"
		}
		return fmt.Sprintf("kubeconfig user %s (not confirmed by the API server: %s)", name, i.Problem)
	}
	if len(i.Groups) == 0 {
		return i.Username
	}
	return fmt.Sprintf("%s (groups: %s)", i.Username, strings.Join(i.Groups, ", "))
}

// WhoAmI asks the API server who we are (SelfSubjectReview, what
// `kubectl auth whoami` does). When that is not allowed or not served, it
// says so and falls back to the kubeconfig user. The answer is cached.
func (c *Cluster) WhoAmI(ctx context.Context) Identity {
	id, _ := cached(ctx, &c.cache, "whoami", func(ctx context.Context) (Identity, error) {
		res, err := c.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return Identity{Source: FromKubeconfig, Username: c.KubeconfigUser,
				Problem: "SelfSubjectReview failed: " + c.Error("asking who we are", err).Error()}, nil
		}
		u := res.Status.UserInfo
		if u.Username == "" {
			return Identity{Source: FromKubeconfig, Username: c.KubeconfigUser,
				Problem: "SelfSubjectReview returned no user name"}, nil
		}
		id := Identity{Source: FromSelfSubjectReview, Username: u.Username, UID: u.UID, Groups: u.Groups}
		if len(u.Extra) > 0 {
			id.Extra = map[string][]string{}
			for k, v := range u.Extra {
				id.Extra[k] = []string(v)
			}
		}
		return id, nil
	})
	return id
}

// Engine returns the custody record's engine: the API server's URL and
// version, the kubeconfig context and who we are there.
func (c *Cluster) Engine(ctx context.Context) evidence.Engine {
	e := evidence.Engine{Kind: "kubernetes", Host: c.Host, Context: c.Context, Extra: map[string]string{}}
	if v, err := c.ServerVersion(ctx); err == nil {
		e.Version = v.GitVersion
		e.Extra["platform"] = v.Platform
	} else {
		e.Extra["version_error"] = err.Error()
	}
	id := c.WhoAmI(ctx)
	e.Identity = id.String()
	e.Extra["identity_source"] = id.Source
	if id.UID != "" {
		e.Extra["identity_uid"] = id.UID
	}
	if c.KubeconfigUser != "" {
		e.Extra["kubeconfig_user"] = c.KubeconfigUser
	}
	if c.Impersonate != "" {
		e.Extra["impersonating"] = c.Impersonate
	}
	for k, v := range id.Extra {
		e.Extra["identity_extra."+k] = strings.Join(v, ",")
	}
	return e
}
