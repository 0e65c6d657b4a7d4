package nodesnap

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	const ok = `{"namespace":"default","pod":"web-0","pod_uid":"u1","containers":[{"name":"app","container_id":"containerd://abc"}],` +
		`"pod_logs_dir":"/var/tmp/pod-logs","cri_endpoint":"unix:///run/c.sock","journal_dirs":["/var/log/journal"],"since":"2026-12-06T20:00:00Z",` +
		`"checkpoints":[{"container":"app","path":"/var/lib/kubelet/checkpoints/c.tar","delete":true}]}`
	r, err := ParseRequest(ok)
	if err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	if r.Containers[0].ContainerID != "containerd://abc" || !r.Checkpoints[0].Delete || r.Since.IsZero() {
		t.Errorf("parsed %+v", r)
	}
	// A field a newer kube side adds is ignored.
	if _, err := ParseRequest(`{"namespace":"a","pod":"b","pod_uid":"c","something_new":[1]}`); err != nil {
		t.Errorf("unknown field: %v", err)
	}
	for _, tc := range []struct{ name, json, want string }{
		{"not json", `{`, "decoding the request"},
		{"no pod", `{"namespace":"a"}`, "needs namespace, pod and pod_uid"},
		{"bad id", `{"namespace":"a","pod":"b","pod_uid":"c","containers":[{"name":"app","container_id":"abc"}]}`, "not <runtime>://<id>"},
		{"bad name", `{"namespace":"a","pod":"b","pod_uid":"c","containers":[{"name":"../x","container_id":"containerd://abc"}]}`, "not a plain name"},
		{"relative dir", `{"namespace":"a","pod":"b","pod_uid":"c","pod_logs_dir":"pods"}`, `"pods" is not absolute`},
		{"tcp endpoint", `{"namespace":"a","pod":"b","pod_uid":"c","cri_endpoint":"tcp://1.2.3.4:1"}`, "not unix:///PATH"},
		{"checkpoint without path", `{"namespace":"a","pod":"b","pod_uid":"c","checkpoints":[{"container":"app"}]}`, "has no path"},
		{"criu log without path", `{"namespace":"a","pod":"b","pod_uid":"c","criu_logs":[{"container":"app"}]}`, "a plain container name and a path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest(tc.json)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestArtifactNames(t *testing.T) {
	for got, want := range map[string]string{
		ContainerArtifact("app", "logs/0.log"):               "node/app/logs/0.log",
		JournalArtifact("/var/log/journal/m/system.journal"): "node/journal/var/log/journal/m/system.journal",
		CheckpointArtifact("app"):                            "checkpoint/app.tar",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
