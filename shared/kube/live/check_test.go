package live_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/kube"
	"github.com/forensic-tools/forensic/shared/kube/kubetest"
	"github.com/forensic-tools/forensic/shared/kube/live"
	"github.com/forensic-tools/forensic/shared/kube/preflight"
)

func TestPreflightLive(t *testing.T) {
	nonRoot := func(ns string) *corev1.Pod {
		p := kubetest.NewPod(ns, "web-1").Node("node-1").Container("web", 0).P()
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: new(int64(65534)), RunAsGroup: new(int64(65534))}
		return p
	}
	all := []string{live.StepPcap, live.StepFilesystem, live.StepProcesses}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		deny    []string
		noEph   bool
		steps   []string
		want    map[string]kube.Status
		wantWhy map[string]string
	}{
		{name: "not asked: no live rows", want: map[string]kube.Status{}},
		{name: "privileged namespace", steps: all,
			want:    map[string]kube.Status{live.StepPcap: kube.StatusOK, live.StepFilesystem: kube.StatusOK, live.StepProcesses: kube.StatusOK},
			wantWhy: map[string]string{live.StepPcap: "capabilities.add=NET_RAW,SYS_PTRACE (PodSecurity privileged)"}},
		{name: "restricted namespace", labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, steps: all,
			want: map[string]kube.Status{live.StepPcap: kube.StatusCannot, live.StepFilesystem: kube.StatusOK, live.StepProcesses: kube.StatusOK},
			wantWhy: map[string]string{live.StepPcap: `namespace shop enforces PodSecurity "restricted", which forbids the NET_RAW capability`,
				live.StepFilesystem: "runAsUser=65534 runAsGroup=65534 runAsNonRoot=true"}},
		{name: "no right to add ephemeral containers", deny: []string{"update pods/ephemeralcontainers"}, steps: []string{live.StepProcesses},
			want:    map[string]kube.Status{live.StepProcesses: kube.StatusCannot},
			wantWhy: map[string]string{live.StepProcesses: "alice may not update pods/ephemeralcontainers -n shop (bind ClusterRole forensic-live-capture"}},
		{name: "no right to attach", deny: []string{"create pods/attach"}, steps: []string{live.StepPcap},
			want:    map[string]kube.Status{live.StepPcap: kube.StatusCannot},
			wantWhy: map[string]string{live.StepPcap: "alice may not create pods/attach -n shop"}},
		{name: "websocket not allowed is no obstacle", deny: []string{"get pods/attach", "watch pods"}, steps: []string{live.StepPcap},
			want: map[string]kube.Status{live.StepPcap: kube.StatusOK}},
		{name: "not served", noEph: true, steps: []string{live.StepProcesses},
			want:    map[string]kube.Status{live.StepProcesses: kube.StatusCannot},
			wantWhy: map[string]string{live.StepProcesses: "the API server does not serve pods/ephemeralcontainers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := nonRoot("shop")
			f := kubetest.NewFakeAPI(kubetest.Namespace("shop", tc.labels), pod)
			for _, d := range tc.deny {
				f.Deny[d] = true
			}
			if tc.noEph {
				f.NoEphemeral()
			}
			opts := preflight.Options{}
			if tc.steps != nil {
				opts.Live = live.Ask(tc.steps...)
			}
			r := preflight.Preflight(context.Background(), f.Cluster(), "shop", []*corev1.Pod{pod}, nil, opts)
			got := map[string]kube.Status{}
			why := map[string]string{}
			for _, c := range r.Checks {
				if c.Step == live.StepPcap || c.Step == live.StepFilesystem || c.Step == live.StepProcesses {
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
