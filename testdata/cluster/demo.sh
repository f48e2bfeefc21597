#!/bin/sh
# make demo: a blue/green release (pipelines/blue-green-service) on process
# pods of the developer's cluster (make cluster-up) while clients send 200
# requests/s through the Service's proxy. Each second's versions and errors
# ("traffic: t= 12s v1=120 v2=80 errors=0") print between the run's lines.
set -eu
cd "$(dirname "$0")/../.."
ns=${DEMO_NAMESPACE:-cutover-demo}
testcluster() { go run ./internal/testcluster/cmd/testcluster "$@"; }
eval "$(testcluster env)"
go build -o bin/loadgen ./internal/loadgen/cmd/loadgen
# A namespace of its own, emptied, whose pods run as real servers.
testcluster namespace -process "$ns"
# Plain text: the live renderer would redraw over the traffic lines.
export TERM=dumb

echo "== v1 goes live"
./bin/cutover run -n "$ns" pipelines/blue-green-service -var version=v1 -var initial=true -var analysis_interval=1s
svc=$(testcluster addr "svc/$ns/demo")

# The Service is new: its proxy resets connections until the data plane acts
# on its endpoints, a propagation delay after they appeared. The clients are
# counted from when v1 answers through it, so that they measure the release.
echo "== waiting for v1 to answer through the Service demo ($svc)"
./bin/loadgen -await -version v1 -await-timeout 60s "http://$svc/" || {
  echo "== the Service demo did not answer from v1 in 60s: see logs/dataplane.log and logs/pod-agent.log in ${CUTOVER_DEV_CLUSTER_DIR:-$HOME/.cache/cutover/dev-cluster}"
  exit 1
}

echo "== clients: 200 requests/s through the Service demo ($svc)"
./bin/loadgen -rate 200 -prefix 'traffic: ' "http://$svc/" >bin/demo-load.json &
load=$!
trap 'kill $load 2>/dev/null || true' EXIT

echo "== v2: deployed beside v1, checked, switched to while a probe watches, v1 retired"
./bin/cutover run -n "$ns" pipelines/blue-green-service -var version=v2 -var analysis_interval=1s \
  -var health_url="http://$svc/healthz" -var smoke_url="http://$svc/healthz" \
  -var probe_url="http://$svc/" -var probe_duration=8s
# The clients keep counting until only v2 has answered for twice the data
# plane's propagation delay: the release as they see it once it is over.
./bin/loadgen -await -version v2 -for 3s "http://$svc/" || {
  echo "== v2 alone did not answer through the Service demo for 3s"
  exit 1
}
kill -INT $load
wait $load || { echo "== clients saw errors (bin/demo-load.json)"; exit 1; }
trap - EXIT
echo "== clients saw no error (summary: bin/demo-load.json)"
./bin/cutover history -n "$ns"
