// Package target says which pods a capture takes, in the kubectl dialect:
// ParseTarget reads pod/NAME, NAME, deploy/NAME, sts/, ds/, rs/, job/, rc/
// (with kubectl's long and plural forms), a Selection adds -n, -A and
// -l SELECTOR, and Resolve turns it into pods, each once. It also knows
// the workload kinds: how to read one (GetWorkload), the permission that
// takes (AccessGetKind), and why a named object could not be read
// (LookupError).
//
// It imports only shared/kube, never the other kube packages.
package target
