// Package kube is what every Kubernetes package of the collection core
// shares: the Cluster (a client-go client, the API server's address, the
// kubeconfig context and a cache of what the pods of one run share), the
// wording of API errors, who the capture runs as (identity.go), the
// permissions the collection steps need and the API server's answers to
// them (access.go), and what a pod object says without asking the
// cluster (pod.go).
//
// The work is done in its subpackages, whose imports point down:
//
//   - target resolves pod/NAME, NAME, deploy/, sts/, ds/, rs/, job/, rc/
//     and -l SELECTOR, in one namespace or across all (-A), into pods.
//   - live is live capture: the forensic agent in an ephemeral container
//     that targets the pod's container; plan.go chooses its security
//     context against the namespace's PodSecurity level, check.go makes
//     the preflight rows of the live steps, run.go adds the container,
//     attaches (attach.go) and streams the agent's artifacts into the
//     bundle.
//   - preflight asks the API server, with one SelfSubjectAccessReview per
//     verb, what each collection step may do, and reads the namespace's
//     PodSecurity labels and whether ephemeral containers are served.
//   - podcollect holds the per-pod collection steps (collect.Collector),
//     captures pods concurrently, one bundle each, and writes the index of
//     a multi-pod capture.
//   - kubetest holds the fakes the tests of these packages share.
//
// The kubectl-forensic commands turn flags into a target.Selection,
// preflight.Options and a Cluster, and call target.Resolve,
// preflight.Preflight and podcollect.Capture.Run.
//
// Without live capture nothing here changes the cluster: every request is
// a read, apart from the access and identity reviews, which the API server
// answers without storing anything. Live capture, which must be asked for,
// adds an ephemeral container (which cannot be removed) and records it as
// a custody action through collect.Sink.Action.
//
// Data shared by the pods of one run (services, endpoint slices, network
// policies and events of a namespace, nodes, owners, access reviews) is
// fetched once per run and reused (Cached), so capturing fifty pods of a
// Deployment costs little more API traffic than capturing one.
//
// This package imports none of its subpackages; no kube package imports
// cobra, the Docker or moby clients, shared/docker or the plugins
// (boundary_test.go).
package kube
