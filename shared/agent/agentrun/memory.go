package agentrun

import (
	"fmt"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/evidence"
)

// MemoryActions are the custody actions of --memory: each process whose
// core the agent wrote was stopped (all its threads, with ptrace) while
// its memory was read. The times come from the core's CLOSE frame; a core
// that did not arrive whole still gives an action, whose detail says the
// times are unknown.
func MemoryActions(sum *stream.Summary) []evidence.Action {
	if sum == nil {
		return nil
	}
	var out []evidence.Action
	for _, a := range sum.Artifacts {
		if !strings.HasPrefix(a.Name, "memory/") || !strings.HasSuffix(a.Name, ".core") {
			continue
		}
		m := a.CloseMeta
		act := evidence.Action{What: "stopped process to read its memory"}
		at, aerr := time.Parse(time.RFC3339Nano, fmt.Sprint(m["stopped"]))
		until, uerr := time.Parse(time.RFC3339Nano, fmt.Sprint(m["resumed"]))
		pid := a.Meta["pid"]
		switch {
		case m == nil || aerr != nil || uerr != nil:
			act.Detail = fmt.Sprintf("process %v (%s): the agent stopped it with ptrace to read its memory; the core did not arrive whole, so when and how long is unknown (the agent lets it run again on every path, and the kernel does if the agent dies)", pid, a.Name)
			act.At = time.Now().UTC()
		default:
			act.At, act.Until = at, until
			act.Detail = fmt.Sprintf("process %v (%v), %v threads stopped with ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT) for %v while %v bytes of memory were read into %s, then let run again",
				pid, m["comm"], m["threads"], m["stopped_for"], m["memory_bytes"], a.Name)
		}
		if a.AgentError != "" {
			act.Error = a.AgentError
		}
		out = append(out, act)
	}
	return out
}
