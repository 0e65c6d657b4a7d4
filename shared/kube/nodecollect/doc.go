// Package nodecollect is the node stage of kubectl forensic capture
// (--node, --checkpoint): evidence that only the node holds, taken off it
// by a short-lived collector pod.
//
// Per node that hosts selected pods, the stage creates one collector pod
// pinned to the node (nodeName), with the host's PID namespace and the
// host's / mounted read-only at /host, running the forensic agent image in
// its node mode (forensic-agent node --request JSON --wait-stdin
// --host-root /host). It has one container per target pod; each is
// attached on its own through pods/attach (an agentrun.Launcher), so each
// pod's stream goes into that pod's bundle. The pod is deleted once every
// target pod on the node is done, also on an error or Ctrl-C, and each
// bundle's custody.json records it (name, UID, node, image, privileges,
// times).
//
// Checkpoints (--checkpoint) are asked of the kubelet through the API
// server's nodes/proxy subresource (POST .../proxy/checkpoint/NS/POD/C);
// the kubelet writes the CRIU archive under its root directory, and the
// collector streams it into checkpoint/<container>.tar (SHA-256 computed
// on the node, checked on arrival) and deletes it unless --keep-on-node.
// See Route for why this route, and the access each route needs.
package nodecollect
