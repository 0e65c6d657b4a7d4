// Package agentimage makes the forensic agent's image from an agent
// executable, and says which agent an image holds.
//
// An agent is either a static binary (the forensic-agent command, or one
// carried inside a plugin) or a plugin's own executable that runs as the
// agent when started under the name forensic-agent. A dynamically linked
// executable gets its ELF interpreter and shared libraries into the image
// at the paths the loader of this host resolves them to (Needs), so that
// it runs in an otherwise empty image.
//
// Every image carries labels with the agent binary's SHA-256 and its
// architecture (Labels), so that a plugin can tell whether an image under
// the expected tag holds the agent it would put there.
package agentimage
