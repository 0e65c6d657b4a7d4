// Package agentrun runs one live capture: the forensic agent in a container
// beside the target, whatever the runtime. It is the plugins' side of an
// agent session; shared/agent/session is the agent's own side.
//
// A Launcher is what a runtime offers: the Docker sidecar (shared/docker)
// and the Kubernetes ephemeral container (shared/kube) implement it, and
// the node collector and memory capture are meant to be next. The launcher
// has already created the agent's container, with the agent's command line,
// when Run gets it; Run then owns everything the runtimes have in common:
// it starts the agent, attaches, sends the start byte, receives the stream
// into the bundle (package agentio), stops the agent on interruption by
// closing its stdin and waits for it to end its stream for at most the
// stop grace, waits for its exit code, writes agent/transfer.json (one
// typed Transfer, the same keys for every launcher) and agent/stderr.log,
// removes what can be removed and records the custody action.
//
// The package knows nothing of Docker or Kubernetes.
package agentrun
