// Package nodesnap reads the node-level evidence of one pod on the node
// that runs it and streams it with the agent's framed protocol
// (shared/agent/stream): every log file the kubelet keeps for the pod's
// containers, each container's writable layer in OCI layer form with a
// diff, the container runtime's records over its CRI socket, the node's
// journal files for the pod's lifetime, and kubelet checkpoint archives.
// A report (node/report.json), written last, says what was found, what
// was not and why.
//
// Every host path is read under a host root (/host in the node collector
// pod, / when run directly on a host). The request names the pod, its
// containers and the kubelet's folders; the agent never assumes
// /var/log/pods or a socket path.
package nodesnap
