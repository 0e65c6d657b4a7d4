package dockertest

import (
	"io"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/streams"
	"github.com/moby/moby/client"
)

// CLI is the docker CLI as a plugin sees it, with writers for its output
// streams and an empty standard input. It embeds the real interface, left
// nil: a call it does not answer panics.
type CLI struct {
	command.Cli
	// Engine is the fake engine Client returns unless WithClient set another.
	Engine   *Engine
	client   client.APIClient
	out, err *streams.Out
}

// NewCLI is a CLI over a new Engine, printing to stdout and stderr.
func NewCLI(stdout, stderr io.Writer) *CLI {
	return &CLI{Engine: NewEngine(), out: streams.NewOut(stdout), err: streams.NewOut(stderr)}
}

// WithEngine makes e the CLI's engine.
func (c *CLI) WithEngine(e *Engine) *CLI { c.Engine = e; return c }

// WithClient makes Client return cl instead of the Engine, when cl is not
// nil (a real client, e.g. one for an unreachable address).
func (c *CLI) WithClient(cl client.APIClient) *CLI { c.client = cl; return c }

// Client returns the engine client.
func (c *CLI) Client() client.APIClient {
	if c.client != nil {
		return c.client
	}
	return c.Engine
}

// Out returns standard output.
func (c *CLI) Out() *streams.Out { return c.out }

// Err returns standard error.
func (c *CLI) Err() *streams.Out { return c.err }

// In returns an empty standard input.
func (c *CLI) In() *streams.In { return streams.NewIn(io.NopCloser(strings.NewReader(""))) }

// CurrentContext returns "default".
func (c *CLI) CurrentContext() string { return "default" }
