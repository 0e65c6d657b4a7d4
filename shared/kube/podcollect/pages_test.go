package podcollect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/forensic-tools/forensic/shared/kube"
)

// pageServer is an API server of pods that lists them the way a real one
// does: in namespace/name order, PageSize at a time, items without kind.
type pageServer struct {
	keys     []string // every pod, sorted
	items    map[string]string
	lists    atomic.Int64
	gets     atomic.Int64
	failList atomic.Bool
	gone     map[string]bool // listed at selection, deleted since
}

func newPageServer(namespaces []string, per int) *pageServer {
	s := &pageServer{items: map[string]string{}, gone: map[string]bool{}}
	for _, ns := range namespaces {
		for i := range per {
			name := fmt.Sprintf("pod-%04d", i)
			key := ns + "/" + name
			s.keys = append(s.keys, key)
			// Key order differs from key order of the (namespace, name)
			// pairs where one namespace is a prefix of another.
			s.items[key] = fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"uid":"uid-%s-%d","resourceVersion":"%d","labels":{"app":"x"}},"spec":{"nodeName":"n1"},"status":{"phase":"Running"}}`,
				name, ns, ns, i, 100+i)
		}
	}
	slices.Sort(s.keys)
	return s
}

func (s *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/v1/pods" {
		s.lists.Add(1)
		if s.failList.Load() {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is gone","code":500}`, 500)
			return
		}
		if r.URL.Query().Get("labelSelector") != "app=x" {
			http.Error(w, "selector", 400)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var b strings.Builder
		b.WriteString(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"777"`)
		end := min(start+limit, len(s.keys))
		if end < len(s.keys) {
			fmt.Fprintf(&b, `,"continue":"%d"`, end)
		}
		b.WriteString(`},"items":[`)
		first := true
		for _, k := range s.keys[start:end] {
			if s.gone[k] {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(s.items[k])
		}
		b.WriteString("]}")
		_, _ = w.Write([]byte(b.String()))
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/"); ok && strings.Contains(rest, "/pods/") {
		s.gets.Add(1)
		ns, name, _ := strings.Cut(rest, "/pods/")
		item, ok := s.items[ns+"/"+name]
		if !ok || s.gone[ns+"/"+name] || strings.Contains(name, "/") {
			w.WriteHeader(404)
			_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"pods %q not found"}`, name)
			return
		}
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1",` + item[1:]))
		return
	}
	http.NotFound(w, r)
}

func pagesCluster(t *testing.T, s *pageServer) *kube.Cluster {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return kube.NewCluster(cs, srv.URL)
}

// TestPagesServeAPageAtATime: 1,200 pods asked for in list order by eight
// workers at once are served from three list requests and no GET; each
// snapshot is the list's item byte for byte with the kind put in front,
// and no more than about a page is ever held.
func TestPagesServeAPageAtATime(t *testing.T) {
	s := newPageServer([]string{"a", "a-b", "b"}, 400)
	c := pagesCluster(t, s)
	pg := NewPages(c, "", "app=x", s.keys)
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	maxHeld := 0
	for range 8 {
		wg.Go(func() {
			for key := range work {
				ns, name, _ := strings.Cut(key, "/")
				snap, err := pg.Snapshot(t.Context(), ns, name)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					continue
				}
				want := `{"kind":"Pod","apiVersion":"v1",` + s.items[key][1:]
				if string(snap.Raw) != want || snap.Pod.Name != name || snap.Pod.Namespace != ns || snap.ListResourceVersion != "777" {
					t.Errorf("%s: snapshot %q (rv %q), want %q", key, snap.Raw, snap.ListResourceVersion, want)
				}
				pg.mu.Lock()
				mu.Lock()
				maxHeld = max(maxHeld, len(pg.held))
				mu.Unlock()
				pg.mu.Unlock()
			}
		})
	}
	for _, k := range s.keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if got := s.lists.Load(); got != 3 {
		t.Errorf("%d list requests, want 3 (1,200 pods, 500 a page)", got)
	}
	if got := s.gets.Load(); got != 0 {
		t.Errorf("%d pods read alone, want 0", got)
	}
	// A page, and what the other workers have not taken yet of the one
	// before.
	if maxHeld > PageSize+8 {
		t.Errorf("held %d pods at once, want at most a page and the workers' (%d)", maxHeld, PageSize+8)
	}
	if pg.Err() != nil {
		t.Errorf("Err() = %v", pg.Err())
	}
}

// TestPagesReadMissingPodsAlone: a pod deleted since the selection is read
// alone, and the error says it is not found; pods left out of the
// selection are not held.
func TestPagesReadMissingPodsAlone(t *testing.T) {
	s := newPageServer([]string{"a"}, 20)
	s.gone["a/pod-0005"] = true
	c := pagesCluster(t, s)
	want := []string{"a/pod-0001", "a/pod-0005", "a/pod-0009"}
	pg := NewPages(c, "", "app=x", want)
	for _, key := range want {
		ns, name, _ := strings.Cut(key, "/")
		snap, err := pg.Snapshot(context.Background(), ns, name)
		if key == "a/pod-0005" {
			if err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("deleted pod: %v, want not found", err)
			}
			continue
		}
		if err != nil || snap.ListResourceVersion == "" {
			t.Errorf("%s: %v %+v", key, err, snap)
		}
	}
	if len(pg.held) != 0 {
		t.Errorf("%d pods held that were not asked for", len(pg.held))
	}
	if s.lists.Load() != 1 || s.gets.Load() != 1 {
		t.Errorf("%d lists and %d GETs, want 1 and 1 (the deleted pod)", s.lists.Load(), s.gets.Load())
	}
}

// TestPagesOutOfOrder: pods asked for in the reverse of the list's order
// are all served right, holding at most maxHeld; the rest are read alone.
func TestPagesOutOfOrder(t *testing.T) {
	s := newPageServer([]string{"a", "b", "c"}, 500)
	c := pagesCluster(t, s)
	pg := NewPages(c, "", "app=x", s.keys)
	for _, key := range slices.Backward(s.keys) {
		ns, name, _ := strings.Cut(key, "/")
		snap, err := pg.Snapshot(context.Background(), ns, name)
		if err != nil || snap.Pod.Namespace+"/"+snap.Pod.Name != key {
			t.Fatalf("%s: %v", key, err)
		}
		if len(pg.held) > maxHeld {
			t.Fatalf("held %d pods, want at most %d", len(pg.held), maxHeld)
		}
	}
	if got := s.gets.Load(); got != int64(len(s.keys)-maxHeld) {
		t.Errorf("%d pods read alone, want %d (all but the %d held)", got, len(s.keys)-maxHeld, maxHeld)
	}
}

// TestPagesListFails: a list that fails is given up, its error kept, and
// every pod is read alone.
func TestPagesListFails(t *testing.T) {
	s := newPageServer([]string{"a"}, 3)
	s.failList.Store(true)
	c := pagesCluster(t, s)
	pg := NewPages(c, "", "app=x", s.keys)
	for _, key := range s.keys {
		ns, name, _ := strings.Cut(key, "/")
		if snap, err := pg.Snapshot(context.Background(), ns, name); err != nil || snap.ListResourceVersion != "" {
			t.Errorf("%s: %v %+v", key, err, snap)
		}
	}
	if pg.Err() == nil || !strings.Contains(pg.Err().Error(), "etcd is gone") {
		t.Errorf("Err() = %v", pg.Err())
	}
	if s.lists.Load() != 1 || s.gets.Load() != 3 {
		t.Errorf("%d lists, %d GETs; want 1 and 3", s.lists.Load(), s.gets.Load())
	}
}

func TestWithListKind(t *testing.T) {
	for in, want := range map[string]string{
		`{"metadata":{}}`:      `{"kind":"Pod","apiVersion":"v1","metadata":{}}`,
		`{}`:                   `{"kind":"Pod","apiVersion":"v1"}`,
		`{"kind":"Pod","x":1}`: `{"kind":"Pod","x":1}`,
	} {
		got := withListKind([]byte(in))
		if string(got) != want || !json.Valid(got) {
			t.Errorf("withListKind(%s) = %s, want %s", in, got, want)
		}
	}
}
