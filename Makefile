# cutover — build, test, bench. `make test` is what CI runs (.ci/run).
GO ?= go
BIN := bin/cutover
# kustomize's Go plugin loader imports "plugin", which makes a cgo build
# export every symbol: +25 MB of binary, +10 MB RSS at start
# (docs/design.md, "Charts and overlays"). cutover loads no Go plugins.
export GOFLAGS := $(GOFLAGS) -tags=kustomize_disable_go_plugin_support

.PHONY: build test test-compat unit bench vet demo clean

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/cutover

# Everything: unit tests, then the end-to-end scenarios on the local control
# plane (its binaries are built on first use into ~/.cache/cutover/cluster,
# ~10 minutes cold, then reused).
test: vet cluster-bin
	$(GO) test -count=1 -timeout 60m ./...

# The packages whose tests start the local control plane, run against the
# oldest Kubernetes minor still supported upstream (testdata/cluster/compat.mod,
# cached apart from the newest; README "Supported Kubernetes").
CLUSTER_PKGS = $$($(GO) list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '/internal\/testcluster( |$$)/ {print $$1}')

test-compat: export CUTOVER_CLUSTER_MODFILE = compat.mod
test-compat: cluster-bin
	$(GO) test -count=1 -timeout 60m $(CLUSTER_PKGS)

unit:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/'); echo "gofmt needed"; exit 1; }

# Speed and memory targets (docs/design.md, "Targets") as benchmarks.
bench: cluster-bin
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 20x ./engine/... ./steps/... ./cmd/... ./internal/releasebench

clean:
	rm -rf bin

include testdata/cluster/cluster.mk

# A cluster of your own, then a blue/green release on it, on process pods
# with 200 requests/s flowing through the Service: v1 goes live, then, once
# it answers through the Service's proxy, v2 is deployed beside it,
# verified, switched to and v1 retired, while each second's versions and
# errors print (testdata/cluster/demo.sh).
demo: build cluster-up
	@testdata/cluster/demo.sh
