#!/usr/bin/env bash
# bench-scoring-callgrind.sh: what a scoring call costs Redis, in
# instructions, next to a trivial EVALSHA: a yardstick that does not move
# with the machine's load the way wall-clock ratios do (bench-scoring.sh).
#
# Runs redis-server under valgrind's callgrind (apt-get install valgrind),
# counting only what readQueryFromClient runs (parsing, the command, the
# script), once for redis-benchmark's trivial EVALSHA over six keys, once
# for BenchmarkApplyBatch (new 5-event contacts, 40 per round trip, with
# the read before and the leaderboard call after) and twice for
# BenchmarkApplyBatchReturning (contacts already scored; its set-up scores
# 20,000 contacts, so the figure is the difference between a run of 600
# and one of 100 round trips, over the 20,000 returning contacts between).
# Prints instructions per call and per event and the ratio trivial-per-call
# / ours-per-event, which is the throughput ratio bench-scoring.sh
# measures if both ran at the same instructions per cycle (ours touch more
# memory, so they run slower per instruction).
#
# Usage: scripts/bench-scoring-callgrind.sh [contacts]   (default 4000;
# KEEP=1 keeps the callgrind profiles for callgrind_annotate)
set -euo pipefail
contacts="${1:-4000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
dir="$(mktemp -d /tmp/ltcg.XXXXXX)"
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$dir"' EXIT
(cd "$root" && go test -c -o "$dir/scoring.test" ./scoring/)

# measure NAME COMMAND...: runs COMMAND against a callgrind redis-server
# on $sock and prints the instructions counted.
measure() {
	local name="$1"
	shift
	sock="$dir/$name.sock"
	valgrind --tool=callgrind --callgrind-out-file="$dir/$name.out" --collect-atstart=no \
		--toggle-collect=readQueryFromClient \
		redis-server --port 0 --unixsocket "$sock" --dir "$dir" --save '' --appendonly no \
		--loglevel warning >"$dir/$name.log" 2>&1 &
	local vp=$!
	for _ in $(seq 300); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
	"$@" >"$dir/$name.run" 2>&1 || { cat "$dir/$name.run" >&2; kill "$vp"; exit 1; }
	redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
	wait "$vp" || true
	grep -E '^summary:' "$dir/$name.out" | awk '{ print $2 }' | head -1
}

trivial() {
	local sha
	sha="$(redis-cli -s "$sock" script load "return 1")"
	redis-benchmark -s "$sock" -n 20000 -P 16 -c 50 -q \
		evalsha "$sha" 6 '{k}1' '{k}2' '{k}3' '{k}4' '{k}5' '{k}6'
}
# bench NAME ROUNDTRIPS: runs a scoring benchmark for that many round trips.
bench() {
	(cd "$root/scoring" && LONGTAIL_TEST_REDIS_URL="unix://$sock" "$dir/scoring.test" \
		-test.run='^$' -test.bench="^$1\$" -test.benchtime="$2x" -test.cpu=1)
}
t="$(measure trivial trivial)"
o="$(measure ours bench BenchmarkApplyBatch "$((contacts / 40))")"
r1="$(measure returning100 bench BenchmarkApplyBatchReturning 100)"
r2="$(measure returning600 bench BenchmarkApplyBatchReturning 600)"
awk -v t="$t" -v o="$o" -v c="$contacts" -v r1="$r1" -v r2="$r2" 'BEGIN {
	tc = t / 20000; oc = o / c; rc = (r2 - r1) / 20000
	printf "trivial EVALSHA:                      %8.0f instructions per call\n", tc
	printf "scoring (new 5-event contact):        %8.0f instructions per contact, %.0f per event\n", oc, oc / 5
	printf "scoring (returning 5-event contact):  %8.0f instructions per contact, %.0f per event\n", rc, rc / 5
	printf "instruction ratio:                    %.3f new, %.3f returning (trivial per call / ours per event)\n", tc / (oc / 5), tc / (rc / 5)
}'
