# Workflow Agent Gateway — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Every workspace module (from go.work), and the services that build a binary.
MODULES  := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
PACKAGES := $(shell go list -m 2>/dev/null | sed 's,$$,/...,')
SERVICES := $(patsubst services/%/main.go,%,$(wildcard services/*/main.go))
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOBIN    := $(shell go env GOPATH)/bin

# Tool versions, pinned; `make tools` installs them with `go install`.
STATICCHECK_VERSION        := v0.8.2
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
BOMBARDIER_VERSION         := v1.2.6
HELM_VERSION               := v3.22.0

export PATH := $(GOBIN):$(PATH)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## Build everything and run the whole stack (edge on 127.0.0.1:8000)
	@DEVSTACK_BIN_DIR=$(BIN) $(BIN)/devstack run

.PHONY: token
token: ## Print a token the running dev stack accepts: make token SUB=<uuid> [EMAIL=…]
	@go run ./deploy/devstack token $(if $(SUB),--sub '$(SUB)') $(if $(EMAIL),--email '$(EMAIL)')

.PHONY: apikey
apikey: build ## Print a new MCP API key (last line): make apikey SCOPES=tools:read,tools:execute [OWNER=<uuid>]
	@$(BIN)/app-svc migrate >/dev/null && $(BIN)/app-svc apikey create --scopes '$(or $(SCOPES),tools:read)' $(if $(OWNER),--owner '$(OWNER)')

.PHONY: build
build: ## Build every service binary and the dev runner into ./bin
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do echo "build $$s"; go build -ldflags '$(LDFLAGS)' -o $(BIN)/$$s ./services/$$s || exit 1; done
	@go build -o $(BIN)/devstack ./deploy/devstack

.PHONY: test
test: deps proto-check lint modules-alone ## Vet, lint, check generated code, and run every test against the local servers
	go test -count=1 -timeout 15m $(PACKAGES)

.PHONY: test-race
test-race: ## Every test with the race detector (slower)
	go test -count=1 -race -timeout 30m $(PACKAGES)

.PHONY: lint
lint: ## go vet + staticcheck on every module
	go vet $(PACKAGES)
	staticcheck $(PACKAGES)
	@test -z "$$(gofmt -l $(MODULES))" || { echo "gofmt needed:"; gofmt -l $(MODULES); exit 1; }

.PHONY: modules-alone
modules-alone: ## Build each service with GOWORK=off (as a Docker build or a lone team would)
	@for s in $(SERVICES); do (cd services/$$s && GOWORK=off go build -o /dev/null ./...) || { echo "services/$$s does not build with GOWORK=off"; exit 1; }; done

.PHONY: proto
proto: ## Lint the protos and regenerate the Go code (buf, local plugins)
	cd proto && buf lint && buf generate

.PHONY: proto-check
proto-check: proto ## Fail when the committed generated code is stale
	@git diff --exit-code --stat -- proto || { echo "generated code is stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto)" || { git status --porcelain -- proto; echo "untracked generated files: run 'make proto' and commit"; exit 1; }

.PHONY: bench
bench: build ## Run the Go benchmarks and the edge load test; write docs/benchmarks.md
	@command -v bombardier >/dev/null || go install github.com/codesenberg/bombardier@$(BOMBARDIER_VERSION)
	go test -run '^$$' -bench . -benchmem -count 1 $(PACKAGES) | tee $(BIN)/gobench.txt
	DEVSTACK_BIN_DIR=$(BIN) $(BIN)/devstack bench --gobench $(BIN)/gobench.txt --out docs/benchmarks.md

.PHONY: tidy
tidy: ## go mod tidy in every module, each on its own (GOWORK=off), as it must build alone
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy) || exit 1; done

.PHONY: deps
deps: ## Install what the tests need when it is missing (pinned tools, the MCP e2e client's npm packages)
	@for t in staticcheck buf protoc-gen-go protoc-gen-go-grpc helm; do command -v $$t >/dev/null || { $(MAKE) tools; break; }; done
	@test -d services/mcp-svc/e2e/node_modules || npm ci --prefix services/mcp-svc/e2e --no-audit --no-fund

.PHONY: tools
tools: ## Install the pinned tools the build and tests need
	go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

.PHONY: clean
clean: ## Remove built binaries
	rm -rf $(BIN)
