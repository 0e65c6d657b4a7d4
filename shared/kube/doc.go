// Package kube collects evidence about Kubernetes pods into bundles.
//
// It works in the kubectl dialect but without cobra: the kubectl-forensic
// commands turn flags into a Selection, Options and a Cluster, and call
// Resolve, Preflight and Capture.Run.
//
//   - targets.go resolves pod/NAME, NAME, deploy/NAME, sts/, ds/, rs/, job/
//     and -l SELECTOR, in one namespace or across all, into pods.
//   - preflight.go asks the API server, with one SelfSubjectAccessReview per
//     verb, what each collection step may do, and reads the namespace's
//     PodSecurity labels and whether ephemeral containers are available.
//   - identity.go records who the capture ran as (SelfSubjectReview, else
//     the kubeconfig user), against which server and version.
//   - collectors.go holds the per-pod collection steps (collect.Collector):
//     the pod object byte for byte, describe, events, owners, node, service
//     account, references, services, network policies, container statuses,
//     and every container log streamed into the bundle.
//   - capture.go runs pods concurrently, one bundle each, and writes the
//     index of a multi-pod capture.
//   - live.go, livecheck.go, livestep.go and attach.go are live capture:
//     the forensic agent in an ephemeral container that targets the pod's
//     container, its security context chosen against the namespace's
//     PodSecurity level, attached over WebSocket or SPDY, its stream demuxed
//     into the bundle (shared/agent/agentio).
//
// Without live capture nothing here changes the cluster: every request is
// a read, apart from the access and identity reviews, which the API server
// answers without storing anything. Live capture, which must be asked for,
// adds an ephemeral container (which cannot be removed) and records it as
// a custody action through collect.Sink.Action.
//
// Data shared by the pods of one run (services, endpoint slices, network
// policies and events of a namespace, nodes, owners, access reviews) is
// fetched once per run and reused, so capturing fifty pods of a Deployment
// costs little more API traffic than capturing one.
package kube
