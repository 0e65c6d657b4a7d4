// Package agentio receives a forensic agent session into an evidence
// bundle, the same way for every plugin: the Docker sidecar
// (shared/docker) and the Kubernetes ephemeral container (shared/kube).
//
// Receive demultiplexes the agent's stdout (package stream) straight into
// a collect.Sink, one artifact after the other, each hashed as it is
// written; a failed check (count or hash mismatch, a stream cut short, a
// failure the agent itself reported) keeps the bytes and marks the
// artifact partial with the reason. StreamRecord and Problems turn the
// demux summary into the agent/transfer.json figures and the list of what
// went wrong; LimitedBuffer keeps a bounded copy of the agent's stderr.
//
// The package knows nothing of Docker or Kubernetes.
package agentio
