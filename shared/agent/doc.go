// Package agent holds what the plugins and the in-container forensic agent
// share: the agent's image name, its command line and the names of the
// artifacts it streams. It stays free of Linux-only code so that the
// plugins, which import it, build on every platform.
//
// The agent runs beside the target, in an ephemeral container (Kubernetes)
// or a sidecar container (Docker) that shares the target's network and
// process namespaces, and never execs into the target. Its packages:
//
//   - stream: the wire protocol on the agent's stdout, both ends.
//   - pcap: packet capture of the network namespace (AF_PACKET) to pcapng
//     or pcap.
//   - fsnap: a tar of the target's root seen through /proc/<pid>/root.
//   - procsnap: a JSON snapshot of processes and sockets from /proc.
//   - session: runs the captures one `forensic-agent run` asked for,
//     concurrently, onto one stream.
//   - imagetar: writes the agent's image (an empty base plus the binary)
//     as a tarball that `docker load` and `ctr images import` accept.
package agent
