package nodesnap

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOverlayOptions(t *testing.T) {
	for _, tc := range []struct {
		name, opts string
		want       overlayOpts
	}{
		{"lowerdir list", "rw,lowerdir=/l/2:/l/1,upperdir=/u,workdir=/w,index=off",
			overlayOpts{upper: "/u", work: "/w", lowers: []string{"/l/2", "/l/1"}}},
		{"new mount API", "rw,lowerdir+=/l/2,lowerdir+=/l/1,datadir+=/d,upperdir=/u,workdir=/w",
			overlayOpts{upper: "/u", work: "/w", lowers: []string{"/l/2", "/l/1", "/d"}}},
		{"escapes", `rw,lowerdir=/a\:b:/c\040d,upperdir=/u\054x,workdir=/w`,
			overlayOpts{upper: "/u,x", work: "/w", lowers: []string{"/a:b", "/c d"}}},
		{"read-only", "ro,lowerdir=/l", overlayOpts{lowers: []string{"/l"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, overlayOptions(tc.opts), cmp.AllowUnexported(overlayOpts{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
