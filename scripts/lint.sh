#!/usr/bin/env bash
# The static checks, cheapest first: go.mod tidy, gofmt, go vet,
# staticcheck. `make lint` and CI (.ci/run) both run this script, so the
# checks and the staticcheck version live here only. It needs nothing but
# Go: staticcheck is built from the Go module proxy at the pinned version
# (`go run pkg@version`, cached after the first run). Not govulncheck: it
# needs its online database, which CI machines cannot reach.
set -euo pipefail
cd "$(dirname "$0")/.."

staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2

echo "lint: go mod tidy -diff" >&2
if ! go mod tidy -diff; then
  echo "go.mod/go.sum are not tidy: run go mod tidy" >&2
  exit 1
fi

echo "lint: gofmt -l" >&2
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "lint: go vet" >&2
go vet ./...

echo "lint: staticcheck (${staticcheck#*@})" >&2
go run "$staticcheck" ./...
