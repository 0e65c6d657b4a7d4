//go:build e2e

package kubee2e

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCaptureWithMinimalRole: a service account bound to the shipped
// minimal role (forensic-capture in the namespace, forensic-capture-nodes
// cluster-wide) captures a Deployment's pod completely, and the custody
// record names it.
func TestCaptureWithMinimalRole(t *testing.T) {
	t.Parallel()
	e := Require(t)
	kfApplyRBAC(t, e)
	ns := e.Namespace(t)
	kfDeployment(t, e, ns, "guarded", 1)
	kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "responder")
	kfBind(t, e, "forensic-capture", ns, "responder", ns)
	kfBind(t, e, "forensic-capture-nodes", ns, "responder", "")
	user := "system:serviceaccount:" + ns + ":responder"

	dir := t.TempDir()
	pre := kfRun(t, dir, kubeconfig, "preflight", "-n", ns, "deploy/guarded")
	if pre.Code != 0 {
		t.Fatalf("preflight: %s", pre)
	}
	for _, want := range []string{"identity:   " + user, "Cannot collect: none", "STEP", "owners", "get deployments.apps -n " + ns} {
		if !strings.Contains(pre.Stdout, want) {
			t.Errorf("preflight output lacks %q:\n%s", want, pre.Stdout)
		}
	}

	b := kfOneBundle(t, dir, kfRun(t, dir, kubeconfig, "capture", "-n", ns, "deploy/guarded"), 0)
	if got := b.JQ(t, "custody.json", ".engine.identity"); !strings.HasPrefix(got, user+" (groups: ") {
		t.Errorf("custody identity = %q, want %s", got, user)
	}
	if got := b.JQ(t, "preflight.json", "[.checks[].status] | unique | join(\",\")"); got != "off,ok" {
		t.Errorf("preflight statuses in the bundle: %s", got)
	}
	for _, f := range []string{"node/node.json", "owners/deployment_guarded.json", "serviceaccount.json", "pod/events.json", "logs/main.log"} {
		if !b.Has(f) {
			t.Errorf("bundle lacks %s", f)
		}
	}
}

// TestCaptureWithLessThanTheRole: a service account that may only read
// pods and their logs gets a clear preflight table, and a capture that
// finishes with a bundle marked incomplete, with the reasons: not a crash.
func TestCaptureWithLessThanTheRole(t *testing.T) {
	t.Parallel()
	e := Require(t)
	ns := e.Namespace(t)
	e.CreatePod(t, ns, NewPod("limited", kfBusybox("echo limited pod; exec sleep 3600")), 2*time.Minute)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pods-and-logs"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	}}
	if _, err := e.Client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := kfServiceAccountKubeconfig(t, e, ns, "intern")
	if _, err := e.Client.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "intern"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pods-and-logs"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "intern", Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pre := kfRun(t, dir, kubeconfig, "preflight", "-n", ns, "limited")
	if pre.Code != 2 {
		t.Fatalf("preflight: %s; want exit 2", pre)
	}
	for _, want := range []string{
		"Cannot collect: events, node, serviceaccount, services, networkpolicies, podsecurity",
		"CANNOT",
		"may not get nodes (cluster-wide); it is cluster-scoped: only a ClusterRoleBinding grants it (bind ClusterRole forensic-capture-nodes)",
		"may not list events -n " + ns,
	} {
		if !strings.Contains(pre.Stdout, want) {
			t.Errorf("preflight output lacks %q:\n%s", want, pre.Stdout)
		}
	}
	if !strings.HasPrefix(pre.Stderr, "kubectl forensic: some steps cannot be collected") || strings.Count(pre.Stderr, "\n") != 1 {
		t.Errorf("preflight stderr = %q", pre.Stderr)
	}

	r := kfRun(t, dir, kubeconfig, "capture", "-n", ns, "limited")
	b := kfOneBundle(t, dir, r, 2)
	if !strings.Contains(r.Stderr, "preflight: namespace "+ns+": cannot collect node") || !strings.Contains(r.Stderr, "INCOMPLETE") {
		t.Errorf("capture stderr does not warn and report:\n%s", r.Stderr)
	}
	reasons := strings.Join(b.Manifest.Incomplete, "\n")
	for _, want := range []string{"node/node.json: not allowed (preflight)", "pod/events.json: not allowed (preflight)", "services: not allowed", "serviceaccount.json: not allowed"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("incomplete reasons lack %q:\n%s", want, reasons)
		}
	}
	if got := b.File(t, "logs/main.log"); !strings.Contains(got, "limited pod") {
		t.Errorf("the allowed log is missing: %q", got)
	}
	if got := b.JQ(t, "custody.json", "[.notes[] | select(startswith(\"preflight: cannot collect\"))] | length"); got == "0" {
		t.Error("custody.json notes nothing about the missing permissions")
	}
}
