// Package podcollect collects pods into bundles: Collectors are the steps
// of one pod, most volatile first (the pod object byte for byte, the live
// step, every container log, events, describe, owners, node, service
// account, references, services, network policies, the pod again at the
// end); Capture runs pods concurrently, one bundle each, a failure on one
// never stopping the others; Index is the file written beside the bundles
// of a capture of several pods.
//
// It is the top of the kube packages: it imports shared/kube, target,
// live and preflight, and none of them imports it.
package podcollect
