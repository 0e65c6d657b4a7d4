// Package live is live capture in Kubernetes: the forensic agent (packets,
// filesystem, processes) in an ephemeral container added to the pod with
// targetContainerName, so that it shares the target container's process
// namespace and the pod's network namespace. Nothing is exec'd in the
// target.
//
//   - plan.go plans: which container is the target, and the least
//     security context that does the job under the namespace's PodSecurity
//     level (PlanLive, LevelNeeded), or why a step is refused.
//   - check.go checks: the preflight rows of the live steps and their
//     verdicts (LiveRows, JudgeLive).
//   - run.go runs: the live step of a pod's capture (Collector) adds the
//     container, waits for it, attaches, sends the start byte, streams the
//     agent's artifacts into the bundle (shared/agent/agentio) and records
//     agent/transfer.json and the custody action.
//   - attach.go attaches to the container's standard streams (pods/attach,
//     WebSocket with a fallback to SPDY).
//
// It imports shared/kube, never target, preflight or podcollect (which
// import it).
package live
