# longtail — common tasks. `make help` lists them.
GO ?= go
BIN ?= bin/longtail

.PHONY: help build run demo test lint bench fuzz ci

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/longtail
	$(GO) build -o $(BIN) ./cmd/longtail

run: ## run the service on the embedded Redis (nothing persisted)
	$(GO) run ./cmd/longtail serve

demo: ## run the demo: a synthetic long tail of 5,000 partners, engaging live (embedded Redis)
	$(GO) run ./cmd/longtail demo

test: ## the whole suite against real Redis (installs redis-server if missing)
	./scripts/test.sh

lint: ## go mod tidy -diff, gofmt, go vet, staticcheck (pinned in scripts/lint.sh)
	./scripts/lint.sh

bench: ## benchmarks, reported against raw Redis measured in the same run
	./scripts/bench.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	./scripts/fuzz.sh $${FUZZTIME:-30s}

ci: ## what CI runs
	./.ci/run
