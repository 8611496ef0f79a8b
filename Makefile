# The project's index of commands. `make help` lists them.
SHELL       := /bin/bash
GO          ?= go
FUNCTIONS   := $(notdir $(wildcard functions/*))
NODE_STAMP  := infra/node_modules/.package-lock.json
GOTEST_FLAGS ?= -count=1 -timeout 30m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose tests do no I/O: none of their tests imports the test kit or
# the local stack (DynamoDB Local, SES local), the CDK (synth runs node) or
# os/exec. They are the ones `make race` runs under the race detector.
PURE_PKGS    = $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}{{end}}' ./... \
                 | grep -vE '/shared/testkit( |$$)|/infra/local/stack( |$$)|/aws-cdk-go/|(^| )os/exec( |$$)' | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help dev test unit race build bench load synth deploy lint reset deps deps-java deps-node deps-go deps-cc deps-zip fuzz clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

dev: deps ## run the whole service locally, seeded (Ctrl-C stops it)
	$(GO) run ./infra/local dev

test: deps ## run every test against a fresh DynamoDB Local and SES local
	$(GO) run ./infra/local test -- $(GO) test $(GOTEST_FLAGS) ./...

# The test kit appends the name of each test it skips to TESTKIT_SKIPPED_FILE;
# the last line counts them, whether the tests passed or not.
unit: deps-go ## every test that needs no local stack; the last line counts the integration tests skipped
	@skipped=$$(mktemp); trap 'rm -f $$skipped' EXIT; \
	env -u CI TESTKIT_SKIPPED_FILE=$$skipped $(GO) test $(GOTEST_FLAGS) ./...; rc=$$?; \
	echo "$$(wc -l <$$skipped | tr -d ' ') integration tests skipped: the local stack is not running (make test runs them)"; \
	exit $$rc

race: deps-go deps-cc ## the tests of the packages without I/O, under the race detector
	@pkgs="$(PURE_PKGS)"; test -n "$$pkgs" || { echo "race: no package without I/O found"; exit 1; }; \
	echo "race:" $$pkgs; CGO_ENABLED=1 $(GO) test -race $(GOTEST_FLAGS) $$pkgs

bench: deps ## benchmarks against DynamoDB Local: time, DynamoDB calls and capacity units (RCU, WCU) per operation
	$(GO) run ./infra/local test -- $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./...

load: deps ## load test: 200 clients for 60 s on the local HTTP API (make load LOAD_FLAGS='-clients 50')
	$(GO) run ./infra/local test -- $(GO) run ./infra/load $(LOAD_FLAGS)

build: deps-go deps-zip ## one bootstrap per function (linux/arm64), zipped under dist/
	@rm -rf dist && mkdir -p dist
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	  (cd dist/$$f && zip -q -X ../$$f.zip bootstrap) || exit 1; \
	  echo "dist/$$f.zip $$(du -h dist/$$f/bootstrap | cut -f1)"; \
	done

synth: deps build ## cdk synth, offline, into cdk.out/ (the example sender of cdk.json allowed)
	npx --prefix infra cdk synth --quiet -c allowExampleSender=true

deploy: deps build ## cdk deploy to the AWS account of your credentials
	npx --prefix infra cdk deploy

FUZZTIME ?= 30s
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" as
# the -fuzztime deadline passes (go.dev/issue/75804, fixed in Go 1.27): such a
# run, with no failing input written, is run once more; anything else fails.
fuzz: deps-go ## run every fuzz target for FUZZTIME each (CI: 5s; longer: make fuzz FUZZTIME=10m)
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $$($(GO) list ./shared/... ./functions/...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$target ($$pkg)"; \
	    for attempt in 1 2; do \
	      if $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1; then break; fi; \
	      if [ $$attempt = 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "  the Go 1.26 fuzz deadline race (no failing input): once more"; continue; \
	      fi; \
	      cat $$log; exit 1; \
	    done; \
	  done; \
	done

lint: deps-go ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go') && exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

reset: ## forget the local data of make dev
	rm -rf .local

clean: ## remove build output
	rm -rf dist cdk.out

deps: deps-java deps-node deps-go ## install what is missing: Java 17, the pinned npm tools, Go modules and staticcheck

# infra/local/deps.sh checks each tool's version; it installs with apt-get on
# Debian or Ubuntu as root, else names what is missing and how to install it.
DEPS_CHECK := GO=$(GO) sh infra/local/deps.sh

deps-java:
	@$(DEPS_CHECK) java

deps-node:
	@$(DEPS_CHECK) node
	@if [ ! -f $(NODE_STAMP) ] || [ infra/package-lock.json -nt $(NODE_STAMP) ]; then cd infra && npm ci --no-audit --no-fund --loglevel=error; fi
	@# npm packages ship .go templates; a go.mod makes `go ... ./...` skip the folder.
	@test -f infra/node_modules/go.mod || echo 'module ignore.invalid/node_modules' > infra/node_modules/go.mod

deps-go:
	@$(DEPS_CHECK) go
	@$(GO) mod download
	@$(GO) run $(STATICCHECK) -version >/dev/null

# The race detector needs cgo, hence a C compiler.
deps-cc:
	@$(DEPS_CHECK) gcc

deps-zip:
	@$(DEPS_CHECK) zip
