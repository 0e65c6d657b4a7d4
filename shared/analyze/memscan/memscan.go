// Package memscan searches process memory (a checkpoint's pages or a
// core's segments) for strings, regular expressions and secrets. Memory is
// read in chunks through ReadAt, never whole: a search holds one chunk
// and the overlap that keeps matches across chunk boundaries.
package memscan

import (
	"bytes"
	"context"
	"fmt"
	"regexp"

	"github.com/forensic-tools/forensic/shared/analyze/secrets"
)

// Range is a span of addresses the memory holds bytes for.
type Range struct{ Start, End uint64 }

// Process is one process's memory.
type Process struct {
	PID  int
	Comm string
	// Ranges are the dumped address ranges, sorted.
	Ranges []Range
	// ReadAt reads memory at a virtual address.
	ReadAt func(p []byte, addr uint64) (int, error)
	// MappingAt names the mapping holding an address.
	MappingAt func(addr uint64) string
}

// Hit is one match in memory.
type Hit struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Address uint64 `json:"address"`
	Mapping string `json:"mapping,omitempty"`
	// Match is the matched bytes, as text with non-printable bytes escaped.
	Match string `json:"match"`
	// Before and After are up to the context's bytes around the match,
	// escaped the same way.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Query is what to search for: Literal, or Regexp when it is not nil.
type Query struct {
	Literal []byte
	Regexp  *regexp.Regexp
	// Context is how many bytes before and after a match are shown.
	Context int
	// Limit stops the search after this many hits; 0 means 10000.
	Limit int
}

const (
	chunkSize = 1 << 20
	// overlap is how far a regular expression match may cross a chunk
	// boundary and still be found. A match the end of a chunk cut short
	// may be listed twice at the same address: cut, and whole.
	overlap = 4096
)

// Search finds every hit of q in the processes' memory, in address order.
// It returns the hits and whether the limit cut the search.
func Search(ctx context.Context, procs []Process, q Query) ([]Hit, bool, error) {
	r, err := Scan(ctx, procs, &q, false)
	return r.Hits, r.Truncated, err
}

// Result is what Scan found.
type Result struct {
	Hits      []Hit
	Truncated bool
	Secrets   []Secret
}

// Scan reads every process's memory once, in chunks, and runs the search
// q (when not nil) and the secret scanners (when secrets is true) over
// each chunk.
func Scan(ctx context.Context, procs []Process, q *Query, withSecrets bool) (Result, error) {
	var res Result
	limit := 10000
	if q != nil {
		if q.Limit > 0 {
			limit = q.Limit
		}
		if q.Regexp == nil && len(q.Literal) == 0 {
			return res, fmt.Errorf("empty search string")
		}
	}
	keep := overlap
	if q != nil && len(q.Literal) > keep {
		keep = len(q.Literal)
	}
	for _, p := range procs {
		seen := map[string]bool{}
		nsec := 0
		searching := q != nil
		err := Chunks(ctx, p, keep, func(base uint64, data []byte, fresh int) bool {
			if searching {
				searching = search(p, q, base, data, fresh, &res, limit)
			}
			if withSecrets && nsec < maxSecretsPerProcess {
				nsec += secretsIn(p, base, data, fresh, seen, &res)
			}
			return searching || (withSecrets && nsec < maxSecretsPerProcess)
		})
		if err != nil {
			return res, err
		}
		if q != nil && len(res.Hits) >= limit {
			res.Truncated = true
			q = nil
		}
	}
	return res, nil
}

// search adds the hits of q that start in the chunk's fresh part; false
// when the limit is reached.
func search(p Process, q *Query, base uint64, data []byte, fresh int, res *Result, limit int) bool {
	var starts [][2]int
	if q.Regexp != nil {
		starts = toPairs(q.Regexp.FindAllIndex(data, -1))
	} else {
		for i := 0; ; {
			j := bytes.Index(data[i:], q.Literal)
			if j < 0 {
				break
			}
			starts = append(starts, [2]int{i + j, i + j + len(q.Literal)})
			i += j + 1
		}
	}
	for _, s := range starts {
		// A match that ends in the carried part was found with the
		// previous chunk; one that only starts there was cut by it.
		if s[1] <= len(data)-fresh || s[1] == s[0] {
			continue
		}
		addr := base + uint64(s[0])
		h := Hit{PID: p.PID, Comm: p.Comm, Address: addr, Match: Escape(data[s[0]:s[1]])}
		if p.MappingAt != nil {
			h.Mapping = p.MappingAt(addr)
		}
		if q.Context > 0 {
			h.Before = Escape(around(p, addr, -q.Context, s[1]-s[0]))
			h.After = Escape(around(p, addr+uint64(s[1]-s[0]), q.Context, 0))
		}
		res.Hits = append(res.Hits, h)
		if len(res.Hits) >= limit {
			return false
		}
	}
	return true
}

// secretsIn adds the secrets of the chunk not seen before in the process
// and returns how many.
func secretsIn(p Process, base uint64, data []byte, fresh int, seen map[string]bool, res *Result) int {
	n := 0
	for _, m := range secrets.Text("memory", data) {
		if m.Value == "" || seen[m.Value] {
			continue
		}
		i := bytes.Index(data, []byte(m.Value))
		if i >= 0 && i+len(m.Value) <= len(data)-fresh {
			continue // wholly in the previous chunk: already seen there
		}
		seen[m.Value] = true
		s := Secret{PID: p.PID, Comm: p.Comm, Match: m}
		if i >= 0 {
			s.Address = base + uint64(i)
			if p.MappingAt != nil {
				s.Mapping = p.MappingAt(s.Address)
			}
		}
		res.Secrets = append(res.Secrets, s)
		if n++; len(seen) >= maxSecretsPerProcess {
			break
		}
	}
	return n
}

func toPairs(m [][]int) [][2]int {
	out := make([][2]int, len(m))
	for i, v := range m {
		out[i] = [2]int{v[0], v[1]}
	}
	return out
}

// around reads n bytes after addr, or -n bytes before it, within the
// dumped range that holds addr.
func around(p Process, addr uint64, n int, _ int) []byte {
	var r Range
	for _, x := range p.Ranges {
		if x.Start <= addr && addr <= x.End {
			r = x
			break
		}
	}
	start, end := addr, addr+uint64(n)
	if n < 0 {
		start, end = addr-uint64(-n), addr
		if start < r.Start || start > addr {
			start = r.Start
		}
	} else if end > r.End || end < addr {
		end = r.End
	}
	if end <= start {
		return nil
	}
	b := make([]byte, end-start)
	k, _ := p.ReadAt(b, start)
	return b[:k]
}

// Chunks calls fn with the process's memory in chunks: data holds the
// last keep bytes of the previous chunk of the same range (when adjacent)
// and then fresh new bytes; base is data's address. fn returns false to
// stop.
func Chunks(ctx context.Context, p Process, keep int, fn func(base uint64, data []byte, fresh int) bool) error {
	buf := make([]byte, keep+chunkSize)
	for _, r := range p.Ranges {
		carry := 0
		for a := r.Start; a < r.End; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(uint64(chunkSize), r.End-a)
			k, err := p.ReadAt(buf[carry:carry+int(n)], a)
			if k == 0 && err != nil {
				break
			}
			data := buf[:carry+k]
			if !fn(a-uint64(carry), data, k) {
				return nil
			}
			a += uint64(k)
			carry = min(keep, len(data))
			copy(buf, data[len(data)-carry:])
			if err != nil {
				break
			}
		}
	}
	return nil
}

// Escape shows bytes as text: printable ASCII as it is, the rest as \xNN.
func Escape(b []byte) string {
	var sb bytes.Buffer
	for _, c := range b {
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// Secret is a secret found in memory.
type Secret struct {
	PID     int
	Comm    string
	Address uint64
	Mapping string
	Match   secrets.Match
}

// maxSecretsPerProcess bounds the secrets reported for one process.
const maxSecretsPerProcess = 50

// Secrets runs the secret scanners over every process's memory. A value
// seen twice in a process is reported once, at its first address.
func Secrets(ctx context.Context, procs []Process) ([]Secret, error) {
	r, err := Scan(ctx, procs, nil, true)
	return r.Secrets, err
}
