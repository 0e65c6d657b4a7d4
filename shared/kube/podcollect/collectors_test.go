package podcollect

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/forensic-tools/forensic/shared/evidence"
	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
)

func paths(m evidence.Manifest) []string {
	var out []string
	for _, a := range m.Artifacts {
		out = append(out, a.Path)
	}
	sort.Strings(out)
	return out
}

func TestCaptureFullPod(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	f := kubetest.NewFakeAPI(objs...)
	f.Logs["setup"] = "2026-11-29T12:00:00Z setting up\n"
	f.Logs["app"] = "2026-11-29T12:00:01Z serving\n"
	f.Logs["app/previous"] = "2026-11-29T11:59:00Z crashed\n"
	f.Logs["sidecar"] = "2026-11-29T12:00:02Z side\n"
	res, files := runCapture(t, f, pod, preflight.Options{})

	want := []string{
		"containers/status.json",
		"logs/app.log", "logs/app.previous.log", "logs/setup.log", "logs/sidecar.log",
		"networkpolicies/deny-all.json", "networkpolicies/web-in.json",
		"node/node.json",
		"owners/chain.json", "owners/deployment_web.json", "owners/replicaset_web-5d8.json",
		"pod/describe.txt", "pod/events.json", "pod/pod-end.json", "pod/pod.json", "pod/pod.yaml",
		"preflight.json", "preflight.txt",
		"references.json", "serviceaccount.json",
		"services/web.endpointslices.json", "services/web.json",
	}
	if diff := cmp.Diff(want, paths(res.Manifest)); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if !res.Manifest.Complete {
		t.Errorf("bundle incomplete: %q", res.Manifest.Incomplete)
	}
	for path, want := range map[string]string{
		"logs/setup.log":             f.Logs["setup"],
		"logs/app.log":               f.Logs["app"],
		"logs/app.previous.log":      f.Logs["app/previous"],
		"logs/sidecar.log":           f.Logs["sidecar"],
		"pod/describe.txt":           "Name:",
		"preflight.txt":              "STEP",
		"serviceaccount.json":        `"name": "web-sa"`,
		"node/node.json":             `"kind": "Node"`,
		"services/web.json":          `"kind": "Service"`,
		"pod/pod.yaml":               "name: web-1",
		"owners/deployment_web.json": `"kind": "Deployment"`,
	} {
		if !strings.Contains(files[path], want) {
			t.Errorf("%s = %q, want it to contain %q", path, files[path], want)
		}
	}
	if strings.Contains(files["pod/describe.txt"], "an older pod") || !strings.Contains(files["pod/describe.txt"], "pulled the image") {
		t.Errorf("describe.txt should show the pod's own event only:\n%s", files["pod/describe.txt"])
	}
	for _, name := range []string{"custody.json", "manifest.json", "SHA256SUMS", "collection.log"} {
		if files[name] == "" {
			t.Errorf("bundle has no %s", name)
		}
	}

	var custody evidence.Custody
	if err := json.Unmarshal([]byte(files["custody.json"]), &custody); err != nil {
		t.Fatal(err)
	}
	wantTarget := evidence.Target{Kind: "kubernetes-pod", ID: "uid-web-1", Name: "web-1", Namespace: "shop", Node: "node-1", State: "Running",
		Image: "img/app:1", ImageID: "img/app@sha256:" + strings.Repeat("a", 64),
		ImageDigests: []string{"img/init@sha256:" + strings.Repeat("b", 64), "img/app@sha256:" + strings.Repeat("a", 64), "img/sidecar@sha256:" + strings.Repeat("a", 64)}}
	gotTarget := custody.Target
	gotTarget.Extra = nil
	if diff := cmp.Diff(wantTarget, gotTarget); diff != "" {
		t.Errorf("custody target (-want +got):\n%s", diff)
	}
	if got := custody.Target.Extra["controller"]; got != "ReplicaSet/web-5d8" {
		t.Errorf("target controller = %q", got)
	}
	if got, want := custody.Engine.Identity, "alice (groups: responders, system:authenticated)"; got != want {
		t.Errorf("engine identity = %q, want %q", got, want)
	}
	if custody.Engine.Kind != "kubernetes" || custody.Engine.Host != "https://fake:6443" || custody.Engine.Context != "fake-ctx" {
		t.Errorf("engine = %+v", custody.Engine)
	}
	if len(custody.Actions) != 0 {
		t.Errorf("capture changed the cluster: actions %+v", custody.Actions)
	}
	if !strings.Contains(strings.Join(custody.Notes, "\n"), "container broken has not run yet") {
		t.Errorf("no note for the container that never ran: %q", custody.Notes)
	}

	var events corev1.EventList
	if err := json.Unmarshal([]byte(files["pod/events.json"]), &events); err != nil {
		t.Fatal(err)
	}
	if len(events.Items) != 1 || events.Items[0].Name != "e1" {
		t.Errorf("events.json holds %d events, want only e1", len(events.Items))
	}

	var chain []map[string]any
	if err := json.Unmarshal([]byte(files["owners/chain.json"]), &chain); err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, l := range chain {
		links = append(links, l["kind"].(string)+"/"+l["name"].(string)+" of "+l["of"].(string))
	}
	if diff := cmp.Diff([]string{"ReplicaSet/web-5d8 of Pod/web-1", "Deployment/web of ReplicaSet/web-5d8"}, links); diff != "" {
		t.Errorf("owner chain (-want +got):\n%s", diff)
	}

	var refs kube.Refs
	if err := json.Unmarshal([]byte(files["references.json"]), &refs); err != nil {
		t.Fatal(err)
	}
	names := func(rs []kube.Ref) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"db", "old-token", "regcred", "web-tls"}, names(refs.Secrets)); diff != "" {
		t.Errorf("referenced secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"flags", "web-config"}, names(refs.ConfigMaps)); diff != "" {
		t.Errorf("referenced configmaps (-want +got):\n%s", diff)
	}
	for path, body := range files {
		if strings.Contains(body, "KEY") && strings.Contains(body, "tls.key") || strings.Contains(body, "U0VDUkVULVRPS0VO") {
			t.Errorf("%s holds a Secret value without --include-secrets", path)
		}
	}

	// Logs are read with timestamps; the previous run only where one exists.
	var logReqs []string
	for _, a := range f.CS.Actions() {
		if a.GetSubresource() == "log" {
			o := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
			if !o.Timestamps {
				t.Errorf("log of %s read without timestamps", o.Container)
			}
			logReqs = append(logReqs, o.Container+map[bool]string{true: " previous", false: ""}[o.Previous])
		}
		// get-field-selector is the fake recording a local helper, not a request.
		if v := a.GetVerb(); v != "get" && v != "list" && v != "get-field-selector" && !(v == "create" && strings.HasPrefix(a.GetResource().Resource, "selfsubject")) {
			t.Errorf("capture made a %s request on %s: it must only read", v, a.GetResource().Resource)
		}
	}
	if diff := cmp.Diff([]string{"setup", "app", "app previous", "sidecar"}, logReqs); diff != "" {
		t.Errorf("log requests (-want +got):\n%s", diff)
	}
}

func TestIncludeSecretsNeverStoresTokens(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	f := kubetest.NewFakeAPI(objs...)
	res, files := runCapture(t, f, pod, preflight.Options{IncludeSecrets: true})
	if got := files["secrets/web-tls.json"]; !strings.Contains(got, `"tls.key": "S0VZ"`) {
		t.Errorf("secrets/web-tls.json = %q, want the value (base64 of KEY)", got)
	}
	if got := files["secrets/old-token.json"]; got == "" || strings.Contains(got, "U0VDUkVULVRPS0VO") {
		t.Errorf("secrets/old-token.json = %q: a service account token must be stored without its value", got)
	}
	if _, ok := files["secrets/db.json"]; ok {
		t.Errorf("secrets/db.json stored, but Secret db does not exist")
	}
	if !res.Manifest.Complete {
		t.Errorf("bundle incomplete: %q", res.Manifest.Incomplete)
	}
}

func TestDeniedStepsMarkIncomplete(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	f := kubetest.NewFakeAPI(objs...)
	f.Deny["get nodes"] = true
	f.Deny["get pods/log"] = true
	f.Deny["list networkpolicies.networking.k8s.io"] = true
	res, files := runCapture(t, f, pod, preflight.Options{})
	if res.Manifest.Complete {
		t.Fatal("bundle complete, want incomplete")
	}
	var failed []string
	for _, a := range res.Manifest.Artifacts {
		if a.Error != "" {
			failed = append(failed, a.Path)
			if !strings.Contains(a.Error, "not allowed (preflight): alice may not") {
				t.Errorf("%s: error %q does not say it was not allowed", a.Path, a.Error)
			}
		}
	}
	want := []string{"logs/setup.log", "logs/app.log", "logs/app.previous.log", "logs/sidecar.log", "node/node.json", "networkpolicies"}
	if diff := cmp.Diff(want, failed); diff != "" {
		t.Errorf("failed artifacts (-want +got):\n%s", diff)
	}
	if !strings.Contains(files["preflight.txt"], "CANNOT") || !strings.Contains(files["preflight.txt"], "bind ClusterRole forensic-capture-nodes") {
		t.Errorf("preflight.txt does not show what cannot be collected:\n%s", files["preflight.txt"])
	}
	for _, a := range f.CS.Actions() {
		if a.GetResource().Resource == "nodes" || a.GetSubresource() == "log" || a.GetResource().Resource == "networkpolicies" {
			t.Errorf("a denied request was made: %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
		}
	}
}

func TestPreviousLogMissingIsANote(t *testing.T) {
	pod := kubetest.NewPod("shop", "crash").Container("crashy", 4).P()
	f := kubetest.NewFakeAPI(kubetest.Namespace("shop", nil), pod)
	res, files := runCapture(t, f, pod, preflight.Options{})
	if !res.Manifest.Complete {
		t.Errorf("bundle incomplete: %q", res.Manifest.Incomplete)
	}
	if _, ok := files["logs/crashy.previous.log"]; ok {
		t.Error("a previous log was stored though the kubelet has none")
	}
	if !strings.Contains(files["custody.json"], "the kubelet keeps no previous log of container crashy (restarts 4)") {
		t.Errorf("custody.json has no note about the missing previous log:\n%s", files["custody.json"])
	}
}

func TestPodDeletedDuringCapture(t *testing.T) {
	pod := kubetest.NewPod("shop", "doomed").Container("c1", 0).Container("c2", 0).P()
	f := kubetest.NewFakeAPI(kubetest.Namespace("shop", nil), pod)
	f.Logs["c1"] = "first\n"
	// The first log stream deletes the pod; the second then fails.
	f.CS.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		if a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions).Container == "c1" {
			if err := f.CS.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "shop", "doomed"); err != nil {
				t.Error(err)
			}
			return false, nil, nil
		}
		return true, nil, apierrors.NewNotFound(corev1.Resource("pods"), "doomed")
	})
	res, files := runCapture(t, f, pod, preflight.Options{})
	if res.Manifest.Complete {
		t.Fatal("bundle complete, want incomplete")
	}
	reasons := strings.Join(res.Manifest.Incomplete, "\n")
	for _, want := range []string{"logs/c2.log", "the pod was deleted during the capture"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("incomplete reasons %q do not mention %q", reasons, want)
		}
	}
	if files["logs/c1.log"] != "first\n" {
		t.Errorf("logs/c1.log = %q: what was read before the deletion must be kept", files["logs/c1.log"])
	}
}

func TestJobOwnerChain(t *testing.T) {
	pod := kubetest.NewPod("ns", "backup-x").Container("run", 0).P()
	pod.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "backup-1", APIVersion: "batch/v1", UID: "uid-backup-1", Controller: new(true)}}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "backup-1", UID: "uid-backup-1",
		OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "backup", APIVersion: "batch/v1", UID: "uid-backup"}}}}
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "backup", UID: types.UID("uid-other")}}
	f := kubetest.NewFakeAPI(kubetest.Namespace("ns", nil), pod, job, cron)
	res, files := runCapture(t, f, pod, preflight.Options{})
	if !strings.Contains(files["owners/chain.json"], "the owner was replaced") {
		t.Errorf("chain.json does not flag the replaced CronJob:\n%s", files["owners/chain.json"])
	}
	if _, ok := files["owners/job_backup-1.json"]; !ok {
		t.Errorf("no owners/job_backup-1.json: %v", paths(res.Manifest))
	}
}

func TestEventsSharedPerNamespace(t *testing.T) {
	pod, objs := kubetest.RichWorld()
	f := kubetest.NewFakeAPI(objs...)
	x := &podSteps{c: f.Cluster(), pod: pod, ns: "shop", namespaceEvents: true}
	list, err := x.loadEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("got %d events, want the pod's one", len(list.Items))
	}
	y := &podSteps{c: x.c, pod: kubetest.NewPod("shop", "web-2").P(), ns: "shop", namespaceEvents: true}
	if _, err := y.loadEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range f.CS.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "events" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("events listed %d times for two pods of one namespace, want once", n)
	}
}

func TestReadPodMissing(t *testing.T) {
	f := kubetest.NewFakeAPI(kubetest.Namespace("shop", nil))
	_, err := ReadPod(context.Background(), f.Cluster(), "shop", "nope")
	if err == nil || err.Error() != `pod "nope" not found in namespace "shop" (kubectl get pods -n shop)` {
		t.Errorf("ReadPod of a missing pod = %v", err)
	}
}
