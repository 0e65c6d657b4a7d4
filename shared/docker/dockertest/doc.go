// Package dockertest holds what the Docker tests share: a fake engine
// built with builder methods (NewEngine().WithArch("arm64").
// WithContainer(...).WithLogs(...)) and a fake docker CLI for the
// plugin's command tests. Only tests import it.
//
// It does not import shared/docker, so that the tests inside that
// package can use it: the fake embeds moby's client.APIClient, which
// satisfies shared/docker's Client.
package dockertest
