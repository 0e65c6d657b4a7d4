// Package imagetest builds image tarballs for tests, in memory and
// deterministically: layers from lists of entries (hostile ones
// included), images in the legacy `docker save` layout and in the OCI
// image layout, and the conversion of a real `docker save` tarball to the
// OCI layout, for engines (such as Docker 20.10) that write only the
// legacy one.
//
// It is a test helper, like net/http/httptest: no production code
// imports it.
package imagetest
