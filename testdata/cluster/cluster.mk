# Local Kubernetes control plane for tests and demos (testdata/cluster/README.md).
# Included by the root Makefile.
#
#   make cluster-bin     build etcd, kube-apiserver, kube-controller-manager,
#                        kube-scheduler and kwok into the cache if missing
#   make cluster-up      start a long-running cluster (detached); prints its kubeconfig
#   make cluster-status  pids, ports, kubeconfig and readiness
#   make cluster-down    stop it
#   make cluster-test    the harness's own scenarios

CLUSTER_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CLUSTER_ROOT   := $(abspath $(CLUSTER_MK_DIR)/../..)
CLUSTER_CMD    ?= cd $(CLUSTER_ROOT) && go run ./internal/testcluster/cmd/testcluster

.PHONY: cluster-bin cluster-up cluster-down cluster-status cluster-test

cluster-bin:
	@$(CLUSTER_CMD) bin

cluster-up:
	@$(CLUSTER_CMD) up

cluster-down:
	@$(CLUSTER_CMD) down

cluster-status:
	@$(CLUSTER_CMD) status

cluster-test:
	cd $(CLUSTER_ROOT) && go test -count=1 ./internal/testcluster/...
