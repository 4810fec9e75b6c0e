#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a while each:
#   scripts/fuzz.sh [DURATION]      e.g. scripts/fuzz.sh 10m
# Seeds come from the fixtures (f.Add in each target) and testdata/fuzz.
# Crashers are written to the package's testdata/fuzz/ — commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-30s}"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($dur)"
    # Large seeds make the minimiser spend the whole budget shrinking them.
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$dur" -fuzzminimizetime=1s "$pkg"
  done
done
