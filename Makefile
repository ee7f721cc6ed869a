# gridstore build, test and lint entry points. `make help` lists the targets.
# Shell logic longer than a line lives in scripts/.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN       := bin/gridstore
# `make run`: where the node keeps its drives, where it listens, and its
# development credentials (override them for anything but a local try-out).
RUN_DIR      ?= ./data
RUN_ADDRESS  ?= 127.0.0.1:9000
RUN_USER     ?= gridstore
RUN_PASSWORD ?= gridstore-dev-password
DEMOFLAGS    ?= -nodes 3 -base-port 9100
# How long `make fuzz` runs each fuzz target.
FUZZTIME  ?= 10s
# staticcheck is fetched through the Go module proxy at this version; when it
# cannot be fetched, lint skips it with a notice.
STATICCHECK_VERSION ?= v0.8.2
IMAGE     ?= gridstore:dev

.DEFAULT_GOAL := help

.PHONY: help build run grid-demo smoke test sendfile-check fuzz bench lint fmt-check vet staticcheck check-generated generate docker clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the static binary bin/gridstore
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/gridstore

run: build ## build, then run one node on ./data/data{1...4} (EC 2+2) at 127.0.0.1:9000 until Ctrl-C
	@mkdir -p $(RUN_DIR)
	@echo ">> make run: one gridstore node, four drives under $(RUN_DIR) (erasure coding 2+2)"
	@echo ">>   S3 endpoint: http://$(RUN_ADDRESS)"
	@echo ">>   Access key:  $(RUN_USER)"
	@echo ">>   Secret key:  $(RUN_PASSWORD)"
	@echo ">>   Region:      us-east-1"
	@echo ">>   Try: AWS_ACCESS_KEY_ID=$(RUN_USER) AWS_SECRET_ACCESS_KEY=$(RUN_PASSWORD) AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url http://$(RUN_ADDRESS) s3 ls"
	@echo ">> Ctrl-C stops it (in-flight requests are drained)."
	GRIDSTORE_ROOT_USER='$(RUN_USER)' GRIDSTORE_ROOT_PASSWORD='$(RUN_PASSWORD)' \
		./$(BIN) server --address $(RUN_ADDRESS) '$(RUN_DIR)/data{1...4}'

grid-demo: build ## run the grid demo (3 grid nodes in one process on 127.0.0.1:9100-9102)
	./$(BIN) grid-demo $(DEMOFLAGS)

test: ## run every test with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

smoke: build ## the aws CLI against a fresh `make run`-style server: mb, 50 MiB cp up/down, ls, presign, rm, rb
	GO=$(GO) scripts/smoke-awscli.sh

sendfile-check: ## prove remote shard reads go file-to-socket with sendfile (needs strace)
	GO=$(GO) scripts/sendfile-strace.sh

fuzz: ## run each Fuzz* target for FUZZTIME (default 10s)
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

bench: ## run every benchmark once, with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: fmt-check vet staticcheck check-generated ## gofmt, go vet, staticcheck, stale generated code

fmt-check:
	@echo ">> gofmt"
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*' -not -path './bin/*' -not -path './tmp/*' -not -path '*/testdata/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change these files (run gofmt -w):"; echo "$$out"; exit 1; fi

vet:
	@echo ">> go vet"
	$(GO) vet ./...

staticcheck:
	@echo ">> staticcheck $(STATICCHECK_VERSION)"
	@STATICCHECK_VERSION=$(STATICCHECK_VERSION) GO=$(GO) scripts/staticcheck.sh

check-generated:
	@echo ">> generated code is up to date"
	@GO=$(GO) scripts/check-generated.sh

generate: ## regenerate code (msgp) in the tree
	$(GO) generate ./...

docker: build ## build the image gridstore:dev (FROM scratch) around bin/gridstore
	docker build -t $(IMAGE) -f cmd/gridstore/Dockerfile bin

clean: ## remove build output
	rm -rf bin
