#!/usr/bin/env bash
# bench-scoring.sh: compares scoring throughput with raw Redis scripting.
#
# Starts a private redis-server on a unix socket. In each round it measures
# raw pipelined EVALSHA throughput with redis-benchmark (a trivial script
# over six keys, more than the scoring script's four, 50 connections, 16
# commands per pipeline), runs one scoring benchmark against the same
# server, and measures the raw throughput again; the round's ratio is
# events/s over the mean of the two raw figures around it. Rounds take in
# turn BenchmarkApplyBatch (40 brand-new contacts of 5 events per call
# from 10 workers, as the ingest job scores webhooks with its default 10
# task workers: every batch creates keys), BenchmarkApplyBatchReturning (the same for contacts already scored: the
# steady state) and BenchmarkApply (one contact per call, no pipelining).
# It prints every round and the median ratio per benchmark, with the time
# Redis spent per EVALSHA (INFO commandstats: the commit script, plus the
# leaderboard calls). Target: ratio ≥ 0.3.
#
# With two cores or more, redis-server runs on core 0 and every client
# (redis-benchmark and the Go benchmark alike) on core 1 (taskset), so
# neither steals the other's core: both figures then measure Redis, not
# the scheduler. PIN=0 turns that off. The machine's other load still
# moves both; pairing each run with raw runs on either side keeps the
# ratio from swinging with it as much as absolute figures do.
#
# Usage: scripts/bench-scoring.sh [benchtime] [rounds]   (default 3s 3)
set -euo pipefail

benchtime="${1:-3s}"
rounds="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
server_cpu=() client_cpu=()
if [[ "${PIN:-1}" != 0 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
	server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
	echo "redis-server on core 0, clients on core 1 (PIN=0 to share all cores)"
fi
# shellcheck source=scripts/lib-redis.sh
source "$root/scripts/lib-redis.sh"
start_redis "${server_cpu[@]}"

(cd "$root" && go test -c -o "$dir/scoring.test" ./scoring/)
sha="$(redis-cli -s "$sock" script load "return 1")"
raw() {
	"${client_cpu[@]}" redis-benchmark -s "$sock" -n 400000 -P 16 -c 50 -q \
		evalsha "$sha" 6 '{k}1' '{k}2' '{k}3' '{k}4' '{k}5' '{k}6' 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}

benches=(BenchmarkApplyBatch BenchmarkApplyBatchReturning BenchmarkApply)
results="$dir/results"
: >"$results"
for round in $(seq "$rounds"); do
	for bench in "${benches[@]}"; do
		before="$(raw)"
		redis-cli -s "$sock" config resetstat >/dev/null
		out="$(cd "$root/scoring" && LONGTAIL_TEST_REDIS_URL="unix://$sock" \
			"${client_cpu[@]}" "$dir/scoring.test" -test.run='^$' -test.bench="^${bench}\$" -test.benchtime="$benchtime" 2>&1)" || {
			echo "$out"
			exit 1
		}
		usec="$(redis-cli -s "$sock" info commandstats | tr -d '\r' |
			grep -Eo 'cmdstat_evalsha:calls=[0-9]+,usec=[0-9]+,usec_per_call=[0-9.]+' | grep -Eo '[0-9.]+$' || true)"
		after="$(raw)"
		eps="$(echo "$out" | grep -E "^${bench}" | grep -Eo '[0-9.]+ events/s' | cut -d' ' -f1)"
		awk -v n="$bench" -v r="$round" -v e="$eps" -v b="$before" -v a="$after" -v u="${usec:-?}" 'BEGIN {
			raw = (b + a) / 2
			printf "round %d %-20s %8.0f events/s  raw EVALSHA %6.0fk/%6.0fk calls/s  ratio %.3f  %s us/EVALSHA in Redis\n", r, n, e, b / 1000, a / 1000, e / raw, u
		}'
		awk -v n="$bench" -v e="$eps" -v b="$before" -v a="$after" 'BEGIN { print n, e / ((b + a) / 2) }' >>"$results"
	done
	# A fresh database per round: the benchmarks add contacts as they run.
	redis-cli -s "$sock" flushall >/dev/null
done
for bench in "${benches[@]}"; do
	grep "^$bench " "$results" | cut -d' ' -f2 | sort -g |
		awk -v n="$bench" '{ v[NR] = $1 } END { printf "%-20s median ratio %.3f over %d rounds (target >= 0.3)\n", n, v[int((NR + 1) / 2)], NR }'
done
