package live

// Names the external tests (package live_test, which run the live step
// inside a whole capture through podcollect and preflight) need.
var (
	DescribeSC = describeSC
	Ask        = live
)

const (
	ProducerAgent       = producerAgent
	ArtifactTransfer    = artifactTransfer
	ArtifactAgentStderr = artifactAgentStderr

	ScRootPcapPtrace = scRootPcapPtrace
	ScTarget         = scTarget
)
