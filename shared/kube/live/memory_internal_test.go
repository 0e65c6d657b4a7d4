package live

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/forensic-tools/forensic/shared/agent"
)

// TestMemoryStepSent: the memory step's artifacts are named by the
// processes the agent found, so any core counts as sent; the other steps
// still need their one artifact.
func TestMemoryStepSent(t *testing.T) {
	x := &step{live: &LiveOptions{Run: agent.DefaultRunOptions()}}
	for _, tc := range []struct {
		step, name string
		want       bool
	}{
		{StepMemory, "memory/1-app.core", true},
		{StepMemory, "memory/1-app.json", false},
		{StepMemory, "proc/snapshot.json", false},
		{StepProcesses, "proc/snapshot.json", true},
		{StepProcesses, "memory/1-app.core", false},
	} {
		if got := x.stepSent(tc.step, tc.name); got != tc.want {
			t.Errorf("stepSent(%s, %s) = %v, want %v", tc.step, tc.name, got, tc.want)
		}
	}
}

// TestAgentContainerMemory: the agent gets --memory and its options only
// when the plan runs the memory step.
func TestAgentContainerMemory(t *testing.T) {
	run := agent.DefaultRunOptions()
	run.Memory, run.MemoryPIDs, run.MemorySkipFileBacked, run.Proc = true, []int{3}, true, true
	x := &step{live: &LiveOptions{Run: run}, now: time.Now}
	for _, tc := range []struct {
		steps []string
		want  string
		not   string
	}{
		{[]string{StepProcesses, StepMemory}, "--memory --memory-pid 3 --memory-skip-file-backed", ""},
		{[]string{StepProcesses}, "--proc", "--memory"},
	} {
		c := x.agentContainer(LivePlan{Target: "web", Steps: tc.steps, SecurityContext: &corev1.SecurityContext{}})
		args := strings.Join(c.Args, " ")
		if !strings.Contains(args, tc.want) || tc.not != "" && strings.Contains(args, tc.not) {
			t.Errorf("steps %v: args %q, want %q and no %q", tc.steps, args, tc.want, tc.not)
		}
	}
}
