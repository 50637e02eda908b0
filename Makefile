# contactmerge — common tasks. `make test` is the README's test command.
GO ?= go

.PHONY: build test demo bench vet fmt

build: ## build the binary into ./bin
	$(GO) build -o bin/contactmerge ./cmd/contactmerge

test: ## start the services the tests need, then gofmt, vet and every test
	scripts/test.sh

demo: ## the first thing to run: an in-process sandbox, scan, match, merge
	$(GO) run ./cmd/contactmerge demo

bench: ## reproducible benchmarks (matcher, store, jobs)
	$(GO) test -run '^$$' -bench . -benchmem ./match/... ./store/...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
