# The two set-up commands are `make demo` and `make test`; see README.md.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/forensic-tools/forensic/shared/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
export CGO_ENABLED := 0

.PHONY: all build demo test test-unit test-docker test-k8s check bench-docker clean

all: build

AGENT_EMBED := docker-forensic/internal/agentbin/bin/forensic-agent

## build: static binaries of both plugins and the agent into bin/
build:
	GOOS=linux $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/forensic-agent ./forensic-agent
	cp bin/forensic-agent $(AGENT_EMBED)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/docker-forensic ./docker-forensic
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-forensic ./kubectl-forensic

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
