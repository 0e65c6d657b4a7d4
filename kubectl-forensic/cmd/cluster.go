package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/target"
	"github.com/forensic-tools/forensic/shared/version"
)

// Client-side rate limits. client-go's defaults (5 requests per second,
// bursts of 10) would make a capture of fifty pods wait on itself for
// seconds; kubectl's one-shot processes never meet them.
const (
	defaultQPS   = 100
	defaultBurst = 200
)

// selectionFlags are the flags that choose pods, shared by capture and
// preflight: -l, -A (the namespace, -n, comes from the kubeconfig flags).
type selectionFlags struct {
	selector      string
	allNamespaces bool
}

func (s *selectionFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&s.selector, "selector", "l", "", "label selector: capture every matching pod (e.g. -l app=web,tier!=db)")
	fs.BoolVarP(&s.allNamespaces, "all-namespaces", "A", false, "look pods up in every namespace (with -l or pod names)")
}

// selection parses the target arguments and settles the namespace: -n,
// else the kubeconfig context's, else "default".
func (s *selectionFlags) selection(cf *genericclioptions.ConfigFlags, args []string) (target.Selection, error) {
	sel := target.Selection{Selector: s.selector, AllNamespaces: s.allNamespaces}
	for _, a := range args {
		t, err := target.ParseTarget(a)
		if err != nil {
			return sel, err
		}
		sel.Targets = append(sel.Targets, t)
	}
	if !s.allNamespaces {
		ns, _, err := cf.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return sel, kubeconfigError(cf, err)
		}
		sel.Namespace = ns
	}
	return sel, nil
}

// clientFlags shape the API client.
type clientFlags struct {
	qps   float32
	burst int
	// retry bounds the retries of one API request (0: kube.RetryBudget).
	retry time.Duration
}

func (c *clientFlags) addFlags(fs *pflag.FlagSet) {
	fs.Float32Var(&c.qps, "qps", defaultQPS, "client-side limit of API requests per second (client-go's default is 5)")
	fs.IntVar(&c.burst, "burst", defaultBurst, "client-side burst of API requests above --qps (client-go's default is 10)")
	fs.DurationVar(&c.retry, "retry-timeout", kube.RetryBudget, "how long one API read is retried when the API server throttles (429), fails (5xx) or restarts, before the pod is listed failed")
}

func (c *clientFlags) validate() error {
	switch {
	case c.qps <= 0:
		return fmt.Errorf("--qps must be above 0, not %g", c.qps)
	case c.burst < 1:
		return fmt.Errorf("--burst must be at least 1, not %d", c.burst)
	case c.retry < 0:
		return fmt.Errorf("--retry-timeout must not be negative, not %v", c.retry)
	}
	return nil
}

// newCluster builds the client from the kubeconfig flags, with the rate
// limits of c, a user agent that names this tool in the API server's
// audit log, and API warnings written once each to errOut.
func newCluster(cf *genericclioptions.ConfigFlags, c clientFlags, errOut io.Writer) (*kube.Cluster, error) {
	cf.WrapConfigFn = func(rc *rest.Config) *rest.Config {
		rc.QPS, rc.Burst = c.qps, c.burst
		rc.UserAgent = "kubectl-forensic/" + version.Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
		rc.WarningHandler = rest.NewWarningWriter(errOut, rest.WarningWriterOptions{Deduplicate: true})
		// Throttling, server errors and an API server restart are waited
		// out (reads only, within kube.RetryBudget a request).
		rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			return &kube.Retry{Next: rt, Budget: c.retry, Requests: &apiRequests}
		})
		return rc
	}
	raw, err := cf.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, kubeconfigError(cf, err)
	}
	if len(raw.Clusters) == 0 && (cf.APIServer == nil || *cf.APIServer == "") && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		// client-go would fall back to http://localhost:8080.
		return nil, kubeconfigError(cf, clientcmd.ErrEmptyConfig)
	}
	rc, err := cf.ToRESTConfig()
	if err != nil {
		return nil, kubeconfigError(cf, err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", rc.Host, err)
	}
	cl := kube.NewCluster(client, rc.Host)
	cl.Context = raw.CurrentContext
	if cf.Context != nil && *cf.Context != "" {
		cl.Context = *cf.Context
	}
	if ctx := raw.Contexts[cl.Context]; ctx != nil {
		cl.KubeconfigUser = ctx.AuthInfo
	}
	if cf.AuthInfoName != nil && *cf.AuthInfoName != "" {
		cl.KubeconfigUser = *cf.AuthInfoName
	}
	if cf.Impersonate != nil {
		cl.Impersonate = *cf.Impersonate
	}
	return cl, nil
}

// connect returns the cluster, from the kubeconfig flags unless fake is
// set (tests), after its first request: the server's version. A missing
// kubeconfig or an unreachable server ends the command here, in one line.
func connect(ctx context.Context, cf *genericclioptions.ConfigFlags, c clientFlags, errOut io.Writer, fake func() (*kube.Cluster, error)) (*kube.Cluster, error) {
	var cl *kube.Cluster
	var err error
	if fake != nil {
		cl, err = fake()
	} else {
		cl, err = newCluster(cf, c, errOut)
	}
	if err != nil {
		return nil, err
	}
	if _, err := cl.ServerVersion(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// kubeconfigError says in one line what is wrong with the kubeconfig and
// where kubectl would look.
func kubeconfigError(cf *genericclioptions.ConfigFlags, err error) error {
	if cf.Context != nil && *cf.Context != "" && strings.Contains(err.Error(), "context was not found") {
		return fmt.Errorf("context %q is not in the kubeconfig (kubectl config get-contexts)", *cf.Context)
	}
	if clientcmd.IsEmptyConfig(err) {
		where := "~/.kube/config"
		if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
			where = "KUBECONFIG=" + env
		}
		return fmt.Errorf("no kubeconfig: nothing usable in %s; set KUBECONFIG or pass --kubeconfig (kubectl config view shows what kubectl sees)", where)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("no kubeconfig: %s: %v; set KUBECONFIG or pass --kubeconfig", pe.Path, pe.Err)
	}
	return fmt.Errorf("reading the kubeconfig: %w", err)
}
