// Package preflight says, before anything is collected, what each
// collection step of a pod capture may do: it asks the API server one
// SelfSubjectAccessReview per permission (answers cached for the run, so
// the collectors ask the same questions for free), reads the namespace's
// PodSecurity labels and whether ephemeral containers are served, and
// with live capture asked for, adds the plan of each pod (shared/kube/live).
// The Report is what kubectl forensic preflight prints and what every
// bundle keeps as preflight.json and preflight.txt. Options choose the
// optional steps, for the preflight and the capture alike.
//
// It imports shared/kube, target and live, never podcollect.
package preflight
