package nodecollect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/forensic-tools/forensic/shared/kube"
)

// TestCheckpointErrors: the kubelet's answers through nodes/proxy become
// errors that name the cause: the feature off (404), a runtime that cannot
// checkpoint, CRIU's failure with its log; a success gives the archive.
func TestCheckpointErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		body   string
		want   string
		path   string
		criu   string
		nowant string
	}{
		{name: "ok", code: 200, body: `{"items":["/var/lib/kubelet/checkpoints/checkpoint-web_shop-main-2026.tar"]}`, path: "/var/lib/kubelet/checkpoints/checkpoint-web_shop-main-2026.tar"},
		{name: "feature off", code: 404, body: "404 page not found", want: "the kubelet has no checkpoint API (feature gate ContainerCheckpoint off"},
		{name: "runtime", code: 500, body: `checkpointing of shop/web/main failed (rpc error: code = Unimplemented desc = method CheckpointContainer not implemented)`, want: "the container runtime cannot checkpoint"},
		{name: "criu", code: 500, body: `checkpointing of shop/web/main failed (rpc error: code = Unknown desc = checkpointing container "ab" failed: criu failed: type NOTIFY errno 0 path= /run/containerd/x/ab/criu-dump.log)`,
			want: "checkpointing container main of pod shop/web on node n1: checkpointing of shop/web/main failed", criu: "/run/containerd/x/ab/criu-dump.log", nowant: "has prevented the request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.RequestURI()
				w.WriteHeader(tc.code)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			s := &Stage{c: kube.NewCluster(cs, srv.URL), o: &Options{}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
			r := s.checkpoint(context.Background(), "n1", pod, "main")
			if got != "POST /api/v1/nodes/n1/proxy/checkpoint/shop/web/main?timeout=60" {
				t.Errorf("request %q", got)
			}
			if r.Path != tc.path || !strings.Contains(r.Error, tc.want) || r.CRIULog != tc.criu || (tc.nowant != "" && strings.Contains(r.Error, tc.nowant)) {
				t.Errorf("result %+v, want path %q, error with %q, CRIU log %q", r, tc.path, tc.want, tc.criu)
			}
		})
	}
}
