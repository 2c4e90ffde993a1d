# scopeguard: run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN       := $(CURDIR)/bin
BUF       := go tool -modfile=tools/go.mod buf
GRPCURL   := $(BIN)/grpcurl
HEALTH    := $(BIN)/grpc-health-probe
GHZ       := $(BIN)/ghz
LINTER    := $(BIN)/golangci-lint
NODE_DIR  := clients/node
PYTHON_DIR := clients/python
RUBY_DIR  := clients/ruby
# Debian's interpreter: python3-grpcio and python3-protobuf install into it,
# whatever python3 comes first on PATH.
PYTHON    ?= /usr/bin/python3
# npm ci writes this file last; it stands for an up-to-date node_modules.
NODE_MODULES := $(NODE_DIR)/node_modules/.package-lock.json
GO_FILES   = $(shell git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/')

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: run
run: ## Run the server on 127.0.0.1:50051 with the embedded catalog.
	go run ./cmd/scopeguard serve

.PHONY: build
build: ## Build bin/scopeguard (put bin/ on PATH to run it as scopeguard).
	go build -o $(BIN)/scopeguard ./cmd/scopeguard

.PHONY: check
check: lint checkgenerate checkcatalog breaking test fuzz e2e node-test python-test ruby-test ## Everything CI runs: lint, generated-code, catalog and breaking-change checks, race tests, a short fuzz run, end-to-end (shell, PHP, Node, Python, Ruby).

.PHONY: generate
generate: ## Regenerate gen/ and the OpenAPI document (server/openapi/openapi.yaml) from proto/.
	$(BUF) format -w
	$(BUF) generate
	$(BUF) generate --template server/openapi/buf.gen.yaml

.PHONY: third-party-protos
third-party-protos: ## Re-export buf/validate, google/rpc's status and error details and google/api's HTTP annotations from their pinned Go modules.
	mkdir -p third_party/protovalidate/buf/validate third_party/googleapis/google/rpc third_party/googleapis/google/api
	cd tools && go run ./cmd/export-proto buf/validate/validate.proto > ../third_party/protovalidate/buf/validate/validate.proto
	for f in google/rpc/error_details.proto google/rpc/status.proto google/api/annotations.proto google/api/http.proto; do \
		(cd tools && go run ./cmd/export-proto $$f) > third_party/googleapis/$$f; done
	$(BUF) format -w third_party

.PHONY: generate-node
generate-node: node-install ## Regenerate the Node client's code in clients/node/gen/ (protoc-gen-es from npm).
	$(BUF) generate --template $(NODE_DIR)/buf.gen.yaml

.PHONY: generate-python
generate-python: ## Regenerate the Python client's code in clients/python/gen/ (Debian protoc and grpc_python_plugin).
	$(BUF) generate --template $(PYTHON_DIR)/buf.gen.yaml

.PHONY: generate-ruby
generate-ruby: ## Regenerate the Ruby client's code in clients/ruby/gen/ (Debian protoc and grpc_ruby_plugin).
	$(BUF) generate --template $(RUBY_DIR)/buf.gen.yaml

GENERATED := gen proto third_party server/openapi $(NODE_DIR)/gen $(PYTHON_DIR)/gen $(RUBY_DIR)/gen

.PHONY: checkgenerate
checkgenerate: generate generate-node generate-python generate-ruby ## Fail if regenerating (Go, OpenAPI, Node, Python or Ruby) changes anything.
	@if [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
		echo "generated code is stale; run make generate generate-node generate-python generate-ruby and commit:"; \
		git status --porcelain -- $(GENERATED); exit 1; fi

.PHONY: catalog
catalog: ## Regenerate server/catalog/catalog.txt from ../shared/hubspot and the overlay.
	go run ./cmd/catalog-gen

.PHONY: checkcatalog
checkcatalog: ## Fail if regenerating the catalog would change it (skipped without ../shared/hubspot).
	@if [ -f ../shared/hubspot/catalog-source.json ]; then go run ./cmd/catalog-gen -check; \
	else echo "checkcatalog: ../shared/hubspot absent, skipped"; fi

.PHONY: lint
lint: $(LINTER) ## go vet, gofmt, golangci-lint, buf lint and buf format.
	go vet ./...
	@unformatted="$$(gofmt -l $(GO_FILES))"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(LINTER) run ./...
	$(BUF) lint
	$(BUF) format -d --exit-code

# The commit make breaking compares with: where HEAD left main (local main,
# else origin/main); BREAKING_AGAINST=<commit> chooses another. On main
# itself it is HEAD, so only a branch's own changes are judged.
BREAKING_AGAINST ?= $(shell git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null)

.PHONY: breaking
breaking: ## Fail on wire/JSON-breaking proto changes since this branch left main.
	@if [ -z "$(BREAKING_AGAINST)" ]; then \
		echo "breaking: no merge base with main or origin/main (a single-branch or shallow clone?):" \
			"git fetch origin main, or set BREAKING_AGAINST=<commit>" >&2; exit 1; fi
	$(BUF) breaking --against '.git#ref=$(BREAKING_AGAINST)'

# Packages with tests the race detector rules out (//go:build !race): its
# instrumentation allocates, so the zero-allocation pins run only without it.
NORACE_PKGS = $(sort $(dir $(shell git grep -l '^//go:build !race' -- '*_test.go')))

.PHONY: test
test: ## Unit and in-process gRPC tests with the race detector, then the allocation pins without it.
	go test -race -shuffle=on ./...
	go test -shuffle=on $(addprefix ./,$(NORACE_PKGS))

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s) on top of its checked-in seed corpus.
	go test ./server/explain -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	go test ./server/catalog -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME)
	go test ./server/hubspot -run '^$$' -fuzz '^FuzzClassifyCredential$$' -fuzztime $(FUZZTIME)
	go test ./server/hubspot -run '^$$' -fuzz '^FuzzScrub$$' -fuzztime $(FUZZTIME)
	go test ./server/tokens -run '^$$' -fuzz '^FuzzParseApps$$' -fuzztime $(FUZZTIME)
	go test ./server/callers -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	go test ./server -run '^$$' -fuzz '^FuzzInvalidUTF8Field$$' -fuzztime $(FUZZTIME)
	go test ./server -run '^$$' -fuzz '^FuzzCheckScopesFastPath$$' -fuzztime $(FUZZTIME)

.PHONY: e2e
e2e: build fakehubspot $(GRPCURL) $(HEALTH) ## End-to-end: the built binary, grpcurl recipes, grpc-health-probe, the demo, the README's server examples, three replicas on Redis.
	PATH="$(BIN):$$PATH" scripts/e2e.sh
	PATH="$(BIN):$$PATH" scripts/e2e-redis.sh

.PHONY: fakehubspot
fakehubspot: ## Build bin/fakehubspot (the fake HubSpot for demos and tests).
	go build -o $(BIN)/fakehubspot ./cmd/fakehubspot

.PHONY: demo
demo: build fakehubspot $(GRPCURL) ## The seed story against the fake HubSpot: CheckScopes by token, the 403, ExplainError, RefreshToken.
	PATH="$(BIN):$$PATH" examples/demo.sh

.PHONY: node-install
node-install: $(NODE_MODULES) ## Install the Node client's pinned npm packages (npm ci in clients/node).

$(NODE_MODULES): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund

.PHONY: node-test
node-test: build fakehubspot node-install ## Node client suite: bin/scopeguard and bin/fakehubspot called through clients/node.
	cd $(NODE_DIR) && npm test

.PHONY: python-test
python-test: build fakehubspot ## Python client suite (unittest): bin/scopeguard and bin/fakehubspot called through clients/python.
	cd $(PYTHON_DIR) && PYTHONPATH=.:gen PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -W error::ResourceWarning -m unittest discover -s tests -t . -v

.PHONY: ruby-test
ruby-test: build fakehubspot ## Ruby client suite (minitest): bin/scopeguard and bin/fakehubspot called through clients/ruby.
	cd $(RUBY_DIR) && ruby -I lib -I gen test/scopeguard_client_test.rb

# Each tool depends on this Makefile, where its version is pinned: a bump
# reinstalls it (any other edit only relinks it from the build cache).
$(GRPCURL): Makefile
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4

$(HEALTH): Makefile
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-health-probe@v0.4.62

$(GHZ): Makefile
	GOBIN=$(BIN) go install github.com/bojand/ghz/cmd/ghz@v0.120.0

$(LINTER): Makefile
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: bench
bench: build barehealth $(GHZ) ## Go benchmarks, then each RPC's server CPU per call over a bare grpc-go server (ghz), scale and startup figures.
	go test -run '^$$' -bench . -benchmem ./...
	PATH="$(BIN):$$PATH" scripts/bench-grpc.sh

.PHONY: barehealth
barehealth: ## Build bin/barehealth, the bare grpc-go health server scripts/bench-grpc.sh measures against.
	go build -o $(BIN)/barehealth ./scripts/barehealth

.PHONY: tools
tools: ## Install the pinned grpcurl, grpc-health-probe and golangci-lint into bin/ and build buf and the protoc plugins, in parallel.
	@$(MAKE) --no-print-directory -j4 $(GRPCURL) $(HEALTH) $(LINTER) buf-tools

# buf and the protoc plugins (tools/go.mod): go tool builds and caches them.
.PHONY: buf-tools
buf-tools:
	$(BUF) --version
	go tool -modfile=tools/go.mod protoc-gen-go --version
	go tool -modfile=tools/go.mod protoc-gen-go-grpc --version
	go tool -modfile=tools/go.mod protoc-gen-openapi </dev/null >/dev/null # it has no --version: an empty request

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
