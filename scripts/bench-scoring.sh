#!/usr/bin/env bash
# bench-scoring.sh: compares scoring throughput with raw Redis scripting.
#
# Starts a private redis-server on a unix socket, measures raw pipelined
# EVALSHA throughput with redis-benchmark (a trivial script over six keys,
# more than the scoring script's four, 50 connections, 16 commands per
# pipeline), then runs each scoring benchmark against the same server and
# prints events/s, the ratio to the raw EVALSHA calls/s and the time Redis
# spent per EVALSHA (INFO commandstats: the apply script, plus one
# leaderboard call per Apply or per ApplyBatch). Target: ratio ≥ 0.3.
#
# Both processes share the machine's cores with the Go benchmark (and with
# whatever else runs): compare runs made back to back.
#
# Usage: scripts/bench-scoring.sh [benchtime]   (default 3s)
set -euo pipefail

benchtime="${1:-3s}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/ltbench.XXXXXX)"
sock="$dir/redis.sock"
pid=""
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$dir" --save '' \
	--appendonly no --databases 64 --maxmemory-policy noeviction --loglevel warning \
	--daemonize no >"$dir/redis.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	redis-cli -s "$sock" ping >/dev/null 2>&1 && break
	sleep 0.05
done
redis-cli -s "$sock" ping >/dev/null

sha="$(redis-cli -s "$sock" script load "return 1")"
raw="$(redis-benchmark -s "$sock" -n 400000 -P 16 -c 50 -q \
	evalsha "$sha" 6 '{k}1' '{k}2' '{k}3' '{k}4' '{k}5' '{k}6' 2>/dev/null |
	tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)"
echo "raw EVALSHA (trivial script, 6 keys, -P 16): ${raw} calls/s"

for bench in BenchmarkApply BenchmarkApplyBatch; do
	redis-cli -s "$sock" config resetstat >/dev/null
	out="$(cd "$root" && LONGTAIL_TEST_REDIS_URL="unix://$sock" \
		go test -run='^$' -bench="^${bench}\$" -benchtime="$benchtime" ./scoring/ 2>&1)" || {
		echo "$out"
		exit 1
	}
	usec="$(redis-cli -s "$sock" info commandstats | tr -d '\r' |
		grep -Eo 'cmdstat_evalsha:calls=[0-9]+,usec=[0-9]+,usec_per_call=[0-9.]+' | grep -Eo '[0-9.]+$' || true)"
	echo "$out" | grep -E '^Benchmark' | while read -r name _ _ _ rest; do
		eps="$(echo "$rest" | grep -Eo '[0-9.]+ events/s' | cut -d' ' -f1)"
		[[ -z "$eps" ]] && continue
		awk -v n="$name" -v e="$eps" -v r="$raw" -v u="${usec:-?}" \
			'BEGIN { printf "%-24s %10.0f events/s  ratio %.3f (target >= 0.3)  %s us/EVALSHA in Redis\n", n, e, e / r, u }'
	done
done
