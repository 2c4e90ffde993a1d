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
build: ## Build bin/scopeguard.
	go build -o $(BIN)/scopeguard ./cmd/scopeguard

.PHONY: check
check: lint checkgenerate checkcatalog test fuzz e2e node-test ## Everything CI runs: lint, generated-code and catalog checks, race tests, a short fuzz run, end-to-end (shell and Node).

.PHONY: generate
generate: ## Regenerate gen/ from proto/.
	$(BUF) format -w
	$(BUF) generate

.PHONY: third-party-protos
third-party-protos: ## Re-export buf/validate/validate.proto and google/rpc/error_details.proto from their pinned Go modules.
	mkdir -p third_party/protovalidate/buf/validate third_party/googleapis/google/rpc
	cd tools && go run ./cmd/export-proto buf/validate/validate.proto > ../third_party/protovalidate/buf/validate/validate.proto
	cd tools && go run ./cmd/export-proto google/rpc/error_details.proto > ../third_party/googleapis/google/rpc/error_details.proto
	$(BUF) format -w third_party

.PHONY: generate-node
generate-node: node-install ## Regenerate the Node client's code in clients/node/gen/ (protoc-gen-es from npm).
	$(BUF) generate --template $(NODE_DIR)/buf.gen.yaml

.PHONY: checkgenerate
checkgenerate: generate generate-node ## Fail if regenerating (Go or Node) changes anything.
	@if [ -n "$$(git status --porcelain -- gen proto third_party $(NODE_DIR)/gen)" ]; then \
		echo "generated code is stale; run make generate generate-node and commit:"; \
		git status --porcelain -- gen proto third_party $(NODE_DIR)/gen; exit 1; fi

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

.PHONY: breaking
breaking: ## Fail on wire/JSON-breaking proto changes against main.
	$(BUF) breaking --against '.git#branch=main'

.PHONY: test
test: ## Unit and in-process gRPC tests with the race detector.
	go test -race -shuffle=on ./...

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s) on top of its checked-in seed corpus.
	go test ./server/explain -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	go test ./server/catalog -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME)
	go test ./server/hubspot -run '^$$' -fuzz '^FuzzClassifyCredential$$' -fuzztime $(FUZZTIME)
	go test ./server/hubspot -run '^$$' -fuzz '^FuzzScrub$$' -fuzztime $(FUZZTIME)
	go test ./server/tokens -run '^$$' -fuzz '^FuzzParseApps$$' -fuzztime $(FUZZTIME)
	go test ./server -run '^$$' -fuzz '^FuzzCheckScopesFastPath$$' -fuzztime $(FUZZTIME)

.PHONY: e2e
e2e: build fakehubspot $(GRPCURL) $(HEALTH) ## End-to-end: the built binary, grpcurl recipes, grpc-health-probe, the demo.
	PATH="$(BIN):$$PATH" scripts/e2e.sh

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

$(GRPCURL):
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4

$(HEALTH):
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-health-probe@v0.4.62

$(GHZ):
	GOBIN=$(BIN) go install github.com/bojand/ghz/cmd/ghz@v0.120.0

$(LINTER):
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: bench
bench: build barehealth $(GHZ) ## Go benchmarks, then each RPC's server CPU per call over a bare grpc-go server (ghz), scale and startup figures.
	go test -run '^$$' -bench . -benchmem ./...
	PATH="$(BIN):$$PATH" scripts/bench-grpc.sh

.PHONY: barehealth
barehealth: ## Build bin/barehealth, the bare grpc-go health server scripts/bench-grpc.sh measures against.
	go build -o $(BIN)/barehealth ./scripts/barehealth

.PHONY: tools
tools: $(GRPCURL) $(HEALTH) $(LINTER) ## Install the pinned command-line tools into bin/.
	$(BUF) --version

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
