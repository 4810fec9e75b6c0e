#!/usr/bin/env bash
# The whole test suite against real parts. Installs what the tests need
# (redis-server, redis-sentinel and redis-tools for the Sentinel and Cluster
# tests, and chromium for the page tests) with apt-get when
# missing; each test package then starts its own redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
# The Sentinel failover test (cmd/longtail/topology_test.go) runs real sentinels.
command -v redis-sentinel >/dev/null 2>&1 || [ -x /usr/bin/redis-sentinel ] || need+=(redis-sentinel)
# The rep page is tested in a real headless browser.
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]} with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Tests fail rather than skip when Redis is missing in CI; make that true
# for anyone running this script.
export CI="${CI:-true}"
exec go test -race -count=1 "$@" ./...
