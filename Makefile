# scopeguard: run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN       := $(CURDIR)/bin
BUF       := go tool -modfile=tools/go.mod buf
GRPCURL   := $(BIN)/grpcurl
HEALTH    := $(BIN)/grpc-health-probe
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
check: lint checkgenerate test e2e ## Everything CI runs: lint, generated-code check, race tests, end-to-end.

.PHONY: generate
generate: ## Regenerate gen/ from proto/.
	$(BUF) format -w
	$(BUF) generate

.PHONY: protovalidate-proto
protovalidate-proto: ## Re-export buf/validate/validate.proto from the pinned protovalidate Go module.
	cd tools && go run ./cmd/export-protovalidate > ../third_party/protovalidate/buf/validate/validate.proto
	$(BUF) format -w third_party/protovalidate

.PHONY: checkgenerate
checkgenerate: generate ## Fail if regenerating changes anything.
	@if [ -n "$$(git status --porcelain -- gen proto third_party)" ]; then \
		echo "generated code is stale; run make generate and commit:"; git status --porcelain -- gen proto third_party; exit 1; fi

.PHONY: lint
lint: ## go vet, gofmt, buf lint and buf format.
	go vet ./...
	@unformatted="$$(gofmt -l $(GO_FILES))"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(BUF) lint
	$(BUF) format -d --exit-code

.PHONY: breaking
breaking: ## Fail on wire/JSON-breaking proto changes against main.
	$(BUF) breaking --against '.git#branch=main'

.PHONY: test
test: ## Unit and in-process gRPC tests with the race detector.
	go test -race -shuffle=on ./...

.PHONY: e2e
e2e: build $(GRPCURL) $(HEALTH) ## End-to-end: the built binary, grpcurl and grpc-health-probe.
	PATH="$(BIN):$$PATH" scripts/e2e.sh

$(GRPCURL):
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4

$(HEALTH):
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-health-probe@v0.4.62

.PHONY: tools
tools: $(GRPCURL) $(HEALTH) ## Install the pinned command-line tools into bin/.
	$(BUF) --version

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
