package memscan

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
)

// flat is memory made of one range at base.
func flat(base uint64, data []byte) Process {
	return Process{PID: 7, Comm: "app", Ranges: []Range{{base, base + uint64(len(data))}},
		ReadAt: func(p []byte, addr uint64) (int, error) {
			if addr < base || addr >= base+uint64(len(data)) {
				return 0, errors.New("not dumped")
			}
			n := copy(p, data[addr-base:])
			if n < len(p) {
				return n, errors.New("not dumped")
			}
			return n, nil
		}}
}

func TestSearchAcrossChunks(t *testing.T) {
	data := bytes.Repeat([]byte{0}, 3*chunkSize)
	marks := []int{10, chunkSize - 3, 2*chunkSize - 1, 3*chunkSize - 6} // two cross a chunk boundary
	for _, m := range marks {
		copy(data[m:], "marker")
	}
	p := flat(0x1000, data)
	hits, cut, err := Search(context.Background(), []Process{p}, Query{Literal: []byte("marker"), Context: 4})
	if err != nil || cut || len(hits) != len(marks) {
		t.Fatalf("%d hits (cut %v, %v), want %d: %+v", len(hits), cut, err, len(marks), hits)
	}
	for i, h := range hits {
		if h.Address != 0x1000+uint64(marks[i]) || h.Match != "marker" {
			t.Errorf("hit %d at %#x %q, want %#x", i, h.Address, h.Match, 0x1000+marks[i])
		}
	}
	if hits[0].Before != `\x00\x00\x00\x00` || hits[3].After != "" {
		t.Errorf("context %q / %q: want four bytes before, none after the end of memory", hits[0].Before, hits[3].After)
	}
	re, _, _ := Search(context.Background(), []Process{p}, Query{Regexp: regexp.MustCompile(`mark[a-z]+`)})
	if len(re) != len(marks) {
		t.Errorf("regexp: %d hits, want %d", len(re), len(marks))
	}
	few, cut, _ := Search(context.Background(), []Process{p}, Query{Literal: []byte("marker"), Limit: 2})
	if len(few) != 2 || !cut {
		t.Errorf("limit 2: %d hits, cut %v", len(few), cut)
	}
}

func TestSecretsOncePerValue(t *testing.T) {
	tok := []byte("ghp_" + "T4kq9ZbW2xLm7Np3Rv8Yc1Hd6Fs0Gj5Ue2Ko")
	data := bytes.Repeat([]byte{0}, 2*chunkSize)
	copy(data[100:], tok)
	copy(data[chunkSize-10:], tok) // across the boundary
	copy(data[chunkSize+500:], tok)
	ss, err := Secrets(context.Background(), []Process{flat(0, data)})
	if err != nil || len(ss) != 1 || ss[0].Address != 100 {
		t.Fatalf("secrets %+v (%v): want the token once, at 100", ss, err)
	}
}
