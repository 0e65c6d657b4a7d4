package cmd

import (
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total, errs int
		elapsed           time.Duration
		want              string
	}{
		{0, 2000, 0, 0, "[0/2000 pods] 0.0 pods/s, 0 errors, ? left"},
		{500, 2000, 3, 10 * time.Second, "[500/2000 pods] 50.0 pods/s, 3 errors, 30s left"},
		{2000, 2000, 0, 40 * time.Second, "[2000/2000 pods] 50.0 pods/s, 0 errors, 0s left"},
	} {
		if got := progressLine(tc.done, tc.total, tc.errs, tc.elapsed); got != tc.want {
			t.Errorf("progressLine(%d, %d, %d, %v) = %q, want %q", tc.done, tc.total, tc.errs, tc.elapsed, got, tc.want)
		}
	}
}
