package podcollect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/forensic-tools/forensic/shared/kube"
)

// PageSize is how many pods one page of a Pages list holds.
const PageSize = 500

// maxHeld bounds the pods a Pages holds read but not yet asked for. The
// capture asks in the list's own order (namespace/name), so it holds at
// most a page; should a server order its list otherwise, pods past the
// bound are read alone instead (Snapshot falls back to ReadPod).
const maxHeld = 2 * PageSize

// Pages serves the start snapshots of the pods of a label selection from
// a list read a page at a time, as the capture reaches each page: one
// request for PageSize pods instead of one per pod, and each snapshot read
// seconds before its pod's capture starts, never minutes. Only the pods
// asked for are kept, and each only until it is asked for: memory holds
// about one page, whatever the size of the selection.
//
// A pod the list does not hold when it is asked for (deleted since the
// selection, relabelled, or past the bound) is read alone with ReadPod,
// which says why it is missing. A list that fails (after the client's
// retries) is given up, and every later pod read alone.
type Pages struct {
	c         *kube.Cluster
	namespace string // "" for every namespace
	selector  string
	want      map[string]bool // keys still to hand out

	mu     sync.Mutex
	held   map[string]*Snapshot
	last   string // the last key listed
	cont   string // the continue token of the next page
	done   bool   // no further page: the list ended or failed
	failed error  // why the list was given up
}

// NewPages returns the page reader of the pods labelled selector in
// namespace (every namespace when it is ""); keys are the namespace/name
// of the pods the capture will ask for.
func NewPages(c *kube.Cluster, namespace, selector string, keys []string) *Pages {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	return &Pages{c: c, namespace: namespace, selector: selector, want: want, held: map[string]*Snapshot{}}
}

// Snapshot returns pod ns/name as the page that holds it was read, or, when
// the list does not hold it, as ReadPod reads it now.
func (pg *Pages) Snapshot(ctx context.Context, ns, name string) (*Snapshot, error) {
	if s := pg.take(ctx, ns+"/"+name); s != nil {
		return s, nil
	}
	return ReadPod(ctx, pg.c, ns, name)
}

// take returns the held snapshot of key, reading pages until the list has
// gone past key; nil when it does not hold key.
func (pg *Pages) take(ctx context.Context, key string) *Snapshot {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	// Asked for once: not held should a later page hold it again.
	defer delete(pg.want, key)
	for {
		if s := pg.held[key]; s != nil {
			delete(pg.held, key)
			return s
		}
		// The API server lists in key order: a key before the last one
		// listed that is not held was not in the list.
		if pg.done || (pg.last != "" && key <= pg.last) || ctx.Err() != nil {
			return nil
		}
		if err := pg.next(ctx); err != nil {
			pg.done, pg.failed = true, err
			return nil
		}
	}
}

// next reads one more page and holds the pods of it still wanted.
func (pg *Pages) next(ctx context.Context) error {
	taken := time.Now().UTC()
	raw, err := pg.list(ctx)
	if err != nil {
		return err
	}
	var page struct {
		Metadata struct {
			Continue        string `json:"continue"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return fmt.Errorf("decoding a page of the pod list: %w", err)
	}
	for _, item := range page.Items {
		var id struct {
			Metadata struct{ Namespace, Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(item, &id); err != nil {
			return fmt.Errorf("decoding a pod of the pod list: %w", err)
		}
		key := id.Metadata.Namespace + "/" + id.Metadata.Name
		pg.last = max(pg.last, key)
		if !pg.want[key] || len(pg.held) >= maxHeld {
			continue
		}
		own := withListKind(item)
		var pod corev1.Pod
		if err := json.Unmarshal(own, &pod); err != nil {
			return fmt.Errorf("decoding pod %s: %w", key, err)
		}
		pg.held[key] = &Snapshot{Raw: own, Pod: &pod, Taken: taken, ListResourceVersion: page.Metadata.ResourceVersion}
	}
	pg.cont = page.Metadata.Continue
	if pg.cont == "" {
		pg.done = true
	}
	return nil
}

// list reads the next page as the API server's JSON.
func (pg *Pages) list(ctx context.Context) ([]byte, error) {
	opts := &metav1.ListOptions{LabelSelector: pg.selector, Limit: PageSize, Continue: pg.cont}
	rc := coreREST(pg.c)
	if rc == nil {
		// A fake clientset has no REST client: the typed list, encoded.
		l, err := pg.c.Client.CoreV1().Pods(pg.namespace).List(ctx, *opts)
		if err != nil {
			return nil, err
		}
		return json.Marshal(l)
	}
	return rc.Get().Namespace(pg.namespace).Resource("pods").
		VersionedParams(opts, scheme.ParameterCodec).
		SetHeader("Accept", "application/json").Do(ctx).Raw()
}

// Err returns why the list was given up, nil when it was not.
func (pg *Pages) Err() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return pg.failed
}

// withListKind returns a list item with the kind and apiVersion the list
// leaves out of its items put in front, so that pod.json reads as a pod
// object (kubectl, jq .kind); every other byte is the API server's.
func withListKind(item []byte) []byte {
	item = bytes.TrimSpace(item)
	if len(item) < 2 || item[0] != '{' || bytes.HasPrefix(item, []byte(`{"kind"`)) {
		return item
	}
	head := `{"kind":"Pod","apiVersion":"v1"`
	if !bytes.Equal(item, []byte("{}")) {
		head += ","
	}
	out := make([]byte, 0, len(head)+len(item)-1)
	return append(append(out, head...), item[1:]...)
}

// source says where the snapshot came from, for pod.json's description.
func (s *Snapshot) source() string {
	if s.ListResourceVersion == "" {
		return "the pod as the API server returned it, byte for byte, read at " + s.Taken.Format(time.RFC3339Nano)
	}
	return "the pod as the API server returned it in a page of a pod list (resourceVersion " + strconv.Quote(s.ListResourceVersion) +
		") read at " + s.Taken.Format(time.RFC3339Nano) + ", byte for byte but for the kind and apiVersion put in front (a list names them once for all its items)"
}
