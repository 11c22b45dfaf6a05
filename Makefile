# GiveLive developer tasks (GNU make). `make` alone lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Never download another Go toolchain: a go.mod bump must fail loudly.
export GOTOOLCHAIN := local

GO       ?= go
BIN      ?= bin/givelive
RUN_ARGS ?= serve --demo
# Benchmarks: which packages and which benchmarks (a -bench regexp).
BENCH_PKGS ?= ./...
BENCH      ?= .
# Fuzzing: time per fuzz target, and where to look for targets.
FUZZTIME  ?= 20s
FUZZ_PKGS ?= ./...
# The web app: npm only fetches its packages; go generate bundles them.
WEB      := client/web
WEB_DEPS := $(WEB)/node_modules/.package-lock.json

.PHONY: help run build test web bench fuzz generate check-generated lint-docker clean

help: ## List the targets
	@echo 'Usage: make TARGET [VAR=value]'
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN { FS = ":.*## " } { printf "  %-16s %s\n", $$1, $$2 }'
	@echo
	@echo 'Variables: RUN_ARGS="$(RUN_ARGS)" BENCH_PKGS=$(BENCH_PKGS) BENCH=$(BENCH) FUZZTIME=$(FUZZTIME) FUZZ_PKGS=$(FUZZ_PKGS)'

run: web ## Build and run the server with demo data (RUN_ARGS="serve --demo")
	$(GO) run ./cmd/givelive $(RUN_ARGS)

build: web ## Build a static binary into bin/givelive
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/givelive

web: $(WEB_DEPS) ## Build the web app into client/web/dist (npm ci first when node_modules is missing)
	$(GO) generate ./$(WEB)/...

# npm ci runs when node_modules is missing, or older than the lock file.
$(WEB_DEPS): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

# -race needs cgo (a C compiler), whatever CGO_ENABLED the caller exported.
# The timeout is per package: cmd/givelive's browser and media tests take
# about 8 minutes under -race on 2 busy CPUs; 25 leaves room, not a target.
test: web ## gofmt, go vet and the web app's type check, then every test with the race detector
	cd $(WEB) && npm run --silent typecheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [[ -n "$$unformatted" ]]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 25m ./...

bench: ## Run benchmarks with allocations (BENCH_PKGS, BENCH)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(BENCH_PKGS)

# `go test -fuzz` takes one target in one package, so list the targets first
# (`go test -list` prints a package's matching names, then its "ok" line) and
# fuzz each package/target pair in turn. New crashers land in testdata/fuzz.
fuzz: ## Fuzz every Fuzz* target for FUZZTIME each (default 20s)
	@list=$$($(GO) test -list '^Fuzz' $(FUZZ_PKGS)) || { echo "$$list"; exit 1; }; \
	pairs=$$(awk '/^Fuzz/ { names[n++] = $$1; next } \
	              /^ok /  { for (i = 0; i < n; i++) print $$2, names[i]; n = 0 }' <<< "$$list"); \
	if [[ -z "$$pairs" ]]; then echo "no fuzz targets in $(FUZZ_PKGS)"; exit 0; fi; \
	while read -r pkg target; do \
	  echo "==> $$pkg $$target ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime '$(FUZZTIME)' -fuzzminimizetime 1s "$$pkg" || exit 1; \
	done <<< "$$pairs"

generate: $(WEB_DEPS) ## Run go generate in every package (the web app's bundle too)
	$(GO) generate ./...

# Needs a clean working tree, so that any change is go generate's doing.
# The web app's bundle goes to client/web/dist, which git ignores.
check-generated: $(WEB_DEPS) ## Fail if go generate changes or adds any file
	@if [[ -n "$$(git status --porcelain)" ]]; then \
	  echo 'check-generated: the working tree is not clean; commit or stash first:'; \
	  git status --porcelain; exit 1; \
	fi
	$(GO) generate ./...
	@if [[ -n "$$(git status --porcelain)" ]]; then \
	  echo 'check-generated: generated code is out of date; run "make generate" and commit:'; \
	  git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

lint-docker: ## Lint the Dockerfile with BuildKit's checks (no Docker engine needed)
	cd tools/dockerlint && $(GO) run . ../../Dockerfile

clean: ## Remove build output (bin/, the web app's bundle); leaves data/ and node_modules alone
	rm -rf bin
	find $(WEB)/dist -mindepth 1 ! -name README.txt -delete
