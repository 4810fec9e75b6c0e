#!/usr/bin/env bash
# The Redis topology tests, long versions: longtail against a real Sentinel
# set (master, replica, three sentinels; the master is stopped mid-ingest
# and every accepted event must be scored exactly once) and a real
# three-master Cluster (every script and asynq), started on loopback from
# the Debian redis-server, redis-sentinel and redis-cli binaries.
#
#   scripts/test-topologies.sh        # a few minutes
#
# The default suite (scripts/test.sh) runs the same tests in their short form.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test-topologies.sh: installing ${need[*]} with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export CI="${CI:-true}" LONGTAIL_TOPOLOGY_LONG=1
exec go test -race -count=1 -v -run 'TestSentinel|TestCluster' -timeout 15m "$@" ./cmd/longtail/
