# The two set-up commands are `make demo` and `make test`; see README.md.
SHELL := /bin/bash
GO ?= go
# A semantic version, as krew requires: the nearest v* tag, else v0.1.0-dev.<commit>.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.1.0-dev.$$(git rev-parse --short HEAD 2>/dev/null || echo unknown))
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/forensic-tools/forensic/shared/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
export CGO_ENABLED := 0

.PHONY: all build dist install demo test test-unit test-docker test-k8s check bench-docker clean

all: build

# docker-forensic embeds the linux agents of these architectures. They are
# built in a temporary folder and handed to the compiler with
# `go build -overlay`, so that nothing is written into the source tree.
EMBED_ARCHS := amd64 arm64

# grpcnotrace keeps grpc (the agent's CRI client) from linking golang.org/x/net/trace
# and html/template, which would let the linker keep dead code: 20.5 MB -> 15.5 MB.
GOTAGS := -tags grpcnotrace
AGENT_EMBED := $(CURDIR)/docker-forensic/internal/agentbin/bin/forensic-agent-linux-

## build: static binaries of both plugins and the agent into bin/ (docker-forensic carries the linux agents of amd64 and arm64)
build:
	GOOS=linux $(GO) build -trimpath $(GOTAGS) -ldflags '$(LDFLAGS)' -o bin/forensic-agent ./forensic-agent
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	replace= && for arch in $(EMBED_ARCHS); do \
	  GOOS=linux GOARCH=$$arch $(GO) build -trimpath $(GOTAGS) -ldflags '$(LDFLAGS)' -o "$$tmp/forensic-agent-linux-$$arch" ./forensic-agent || exit 1; \
	  replace="$$replace$${replace:+,}\"$(AGENT_EMBED)$$arch\":\"$$tmp/forensic-agent-linux-$$arch\""; \
	done && \
	echo "{\"Replace\":{$$replace}}" > "$$tmp/overlay.json" && \
	$(GO) build -trimpath $(GOTAGS) -ldflags '$(LDFLAGS)' -overlay "$$tmp/overlay.json" -o bin/docker-forensic ./docker-forensic
	$(GO) build -trimpath $(GOTAGS) -ldflags '$(LDFLAGS)' -o bin/kubectl-forensic ./kubectl-forensic

## dist: release archives for linux, darwin, windows on amd64 and arm64, SHA256SUMS, krew/forensic.yaml
dist:
	rm -rf dist
	$(GO) run ./tools/dist -version $(VERSION) -commit $(COMMIT) -out dist

PREFIX ?= /usr/local
DOCKER_PLUGINS ?= $(HOME)/.docker/cli-plugins

## install: docker-forensic into ~/.docker/cli-plugins, kubectl-forensic (and its completion helper) into $(PREFIX)/bin
install: build
	install -d $(DOCKER_PLUGINS) $(PREFIX)/bin
	install -m 0755 bin/docker-forensic $(DOCKER_PLUGINS)/docker-forensic
	install -m 0755 bin/kubectl-forensic $(PREFIX)/bin/kubectl-forensic
	ln -sf kubectl-forensic $(PREFIX)/bin/kubectl_complete-forensic

## demo: collect a local demo container with docker forensic and verify the bundle
demo:
	test/demo.sh

## test: everything CI runs: checks, unit tests, Docker and Kubernetes end-to-end suites
test:
	test/run

## check: go mod tidy, gofmt and go vet leave nothing to say
check:
	test/run check

test-unit:
	test/run unit

test-docker:
	test/run docker

test-k8s:
	test/run k8s

## bench-docker: docker forensic export throughput against docker export | gzip/zstd
bench-docker:
	test/bench/docker-export.sh

clean:
	rm -rf bin dist
