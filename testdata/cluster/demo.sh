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

echo "== clients: 200 requests/s through the Service demo ($svc)"
./bin/loadgen -rate 200 -prefix 'traffic: ' "http://$svc/" >bin/demo-load.json &
load=$!
trap 'kill $load 2>/dev/null || true' EXIT

echo "== v2: deployed beside v1, checked, switched to while a probe watches, v1 retired"
./bin/cutover run -n "$ns" pipelines/blue-green-service -var version=v2 -var analysis_interval=1s \
  -var health_url="http://$svc/healthz" -var smoke_url="http://$svc/healthz" \
  -var probe_url="http://$svc/" -var probe_duration=8s
# What the clients see once the data plane acted on the switch (its delay).
sleep 3
kill -INT $load
wait $load || { echo "== clients saw errors (bin/demo-load.json)"; exit 1; }
trap - EXIT
echo "== clients saw no error (summary: bin/demo-load.json)"
./bin/cutover history -n "$ns"
