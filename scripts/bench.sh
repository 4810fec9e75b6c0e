#!/usr/bin/env bash
# Every benchmark, each reported beside a raw Redis baseline measured on the
# same machine in the same run (these machines are shared and noisy: read
# the ratios, not the absolute figures).
#
#   scripts/bench.sh            # ~3 minutes
#
# Targets: edge ≥ 100,000 events/s; import ≥ 20,000 rows/s; scoring ≥ 0.3 ×
# raw pipelined EVALSHA (scripts/bench-scoring.sh); event → queue entry
# p99 ≤ 250 ms at 5,000 events/s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools" >&2; exit 1; }

# shellcheck source=scripts/lib-redis.sh
source "$root/scripts/lib-redis.sh"
start_redis

rps() { tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1; }
set_raw="$(redis-benchmark -s "$sock" -n 400000 -P 16 -c 50 -q -t set 2>/dev/null | rps)"
echo "baseline: raw pipelined SET ${set_raw} ops/s"

metric() { grep -Eo "[0-9.]+ $1" | head -1 | cut -d' ' -f1; }
bench() { # package, benchmark, benchtime
	LONGTAIL_TEST_REDIS_URL="unix://$sock" go test -run '^$' -bench "^$2\$" -benchtime "$3" "$1" 2>&1 | tee -a "$dir/out" | grep -E '^Benchmark|FAIL' || true
}

echo; echo "== edge: signed 1,000-event SendGrid batches over HTTP → enqueued"
out="$(bench ./httpapi/ BenchmarkWebhookSendGridEdge 3s)"; echo "$out"
eps="$(echo "$out" | metric 'events/s')"
awk -v e="$eps" -v r="$set_raw" 'BEGIN { printf "edge: %.0f events/s (target ≥ 100000), %.3f × raw SET ops/s\n", e, e / r }'

echo; echo "== CSV import of contacts (pipelined upserts)"
out="$(bench ./csvimport/ BenchmarkImportContacts 3x)"; echo "$out"
rows="$(echo "$out" | metric 'rows/s')"
awk -v e="$rows" -v r="$set_raw" 'BEGIN { printf "import: %.0f rows/s (target ≥ 20000), %.3f × raw SET ops/s\n", e, e / r }'

echo; echo "== hand-off routing (repqueue)"
bench ./repqueue/ BenchmarkHandoff 2s

echo; echo "== scoring vs raw pipelined EVALSHA"
"$root/scripts/bench-scoring.sh" 3s

echo; echo "== event → queue entry latency at 5,000 events/s (whole service)"
bench ./cmd/longtail/ BenchmarkEventToQueue 1x

echo; echo "== nurture: emails rendered and delivered through mailer vs a bare SMTP loop (ratio ≥ 0.5, ≥ 1,000 emails/s)"
bench ./nurture/message/ BenchmarkRenderAndDeliver 5000x

echo; echo "== nurture: 100,000 enrollments scheduled vs trivial asynq tasks (batched-ratio ≥ 0.3)"
bench ./jobs/ BenchmarkScheduleEnrollments 100000x
