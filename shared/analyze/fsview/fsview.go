package fsview

import (
	"sort"
	"strings"
)

// Ref says which entry holds a path's current state: the layer's index and
// the entry's index within that layer's records.
type Ref struct {
	Layer, Index int32
}

type node struct {
	name string
	kids map[string]*node
	ref  Ref
	set  bool // an entry put this path; false for folders only implied by their children
}

// View is the merged filesystem of the layers applied so far.
type View struct {
	root node
	n    int
}

// New returns an empty view.
func New() *View { return &View{} }

// Len is the number of paths in the view, implied folders included.
func (v *View) Len() int { return v.n }

func split(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (v *View) find(p string) *node {
	n := &v.root
	for _, c := range split(p) {
		n = n.kids[c]
		if n == nil {
			return nil
		}
	}
	return n
}

// Get returns the entry holding p, and false when p is absent or only
// implied by its children.
func (v *View) Get(p string) (Ref, bool) {
	n := v.find(p)
	if n == nil || !n.set {
		return Ref{}, false
	}
	return n.ref, true
}

// Exists reports whether p is in the view, put or implied.
func (v *View) Exists(p string) bool { return v.find(p) != nil }

// Put records that ref now holds p, creating implied parent folders. A
// non-directory replaces whatever was below p. It returns the previous
// entry of p, if one was put.
func (v *View) Put(p string, ref Ref, dir bool) (prev Ref, existed bool) {
	n := &v.root
	for _, c := range split(p) {
		k := n.kids[c]
		if k == nil {
			if n.kids == nil {
				n.kids = map[string]*node{}
			}
			k = &node{name: c}
			n.kids[c] = k
			v.n++
		}
		n = k
	}
	prev, existed = n.ref, n.set
	n.ref, n.set = ref, true
	if !dir && len(n.kids) > 0 {
		v.n -= count(n) - 1
		n.kids = nil
	}
	return prev, existed
}

// Delete removes p and everything below it. It returns how many paths
// were removed and whether p itself was there.
func (v *View) Delete(p string) (removed int, existed bool) {
	parts := split(p)
	if len(parts) == 0 {
		return v.Clear("/"), true
	}
	parent := &v.root
	for _, c := range parts[:len(parts)-1] {
		parent = parent.kids[c]
		if parent == nil {
			return 0, false
		}
	}
	n := parent.kids[parts[len(parts)-1]]
	if n == nil {
		return 0, false
	}
	delete(parent.kids, n.name)
	removed = count(n)
	v.n -= removed
	return removed, true
}

// Clear removes everything below the folder p, keeping p, and returns how
// many paths were removed.
func (v *View) Clear(p string) int {
	n := v.find(p)
	if n == nil {
		return 0
	}
	removed := count(n) - 1
	n.kids = nil
	v.n -= removed
	return removed
}

// count is the size of the subtree at n, n included.
func count(n *node) int {
	c := 1
	for _, k := range n.kids {
		c += count(k)
	}
	return c
}

// Walk calls fn for every put path, parents before children, children in
// name order.
func (v *View) Walk(fn func(p string, ref Ref)) {
	walk(&v.root, "", fn)
}

func walk(n *node, p string, fn func(string, Ref)) {
	if n.set {
		if p == "" {
			fn("/", n.ref)
		} else {
			fn(p, n.ref)
		}
	}
	names := make([]string, 0, len(n.kids))
	for name := range n.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		walk(n.kids[name], p+"/"+name, fn)
	}
}

// WalkUnder calls fn for every put path strictly below p, as Walk does.
func (v *View) WalkUnder(p string, fn func(p string, ref Ref)) {
	n := v.find(p)
	if n == nil {
		return
	}
	base := strings.TrimSuffix(p, "/")
	names := make([]string, 0, len(n.kids))
	for name := range n.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		walk(n.kids[name], base+"/"+name, fn)
	}
}
