# contactmerge — common tasks. `make test` is the README's test command.
GO ?= go
TOOL = $(GO) tool -modfile=tools/go.mod

.PHONY: build test demo bench bench-scale bench-match-incremental vet fmt lint race fuzz

build: ## build the binary into ./bin
	$(GO) build -o bin/contactmerge ./cmd/contactmerge

test: ## start the services the tests need, then gofmt, vet, lint, and every test (race detector on engine, store, genesys)
	scripts/test.sh

demo: ## the first thing to run: an in-process sandbox, scan, match, merge
	$(GO) run ./cmd/contactmerge demo

lint: ## golangci-lint with .golangci.yml (built from tools/go.mod)
	$(TOOL) golangci-lint run ./...

race: ## the packages with concurrency under the race detector
	$(GO) test -race -count=1 ./engine/... ./store/... ./genesys/... ./internal/...

FUZZTIME ?= 2m
fuzz: ## every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

scale: ## full-size scale test: 3 workers, 2 OAuth clients at 600/min, one PostgreSQL (TEST_DATABASE_URL), sandbox faults on; logs THROUGHPUT
	CONTACTMERGE_SCALE=full $(GO) test -count=1 -timeout 40m -run '^TestScaleWorkersShareClientBudgets$$' -v ./cmd/contactmerge/

bench: ## reproducible benchmarks (matcher, store, jobs)
	$(GO) test -run '^$$' -bench . -benchmem ./match/... ./store/...

N ?= 1000000
RUNS ?= 1
STEPS ?= import match scan
bench-scale: ## import, match and scan of N generated contacts (20% duplicates), each timed with its peak RSS: make bench-scale N=1000000 [RUNS=3] [STEPS="import match"] [DSN=postgres://...]
	RUNS=$(RUNS) STEPS="$(STEPS)" scripts/bench-scale.sh $(N) $(DSN)

SHARE ?= 0.01
bench-match-incremental: ## incremental against full match of N contacts with SHARE changed, median of RUNS, same groups checked: make bench-match-incremental N=1000000 [SHARE=0.01] [RUNS=3]
	RUNS=$(RUNS) SHARE=$(SHARE) scripts/bench-match-incremental.sh $(N)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
