# gridstore build, test and lint entry points. `make help` lists the targets.
# Shell logic longer than a line lives in scripts/.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN       := bin/gridstore
# `make run`: where the node keeps its drives, where it listens, and its
# credentials: RUN_USER / RUN_PASSWORD when given, else GRIDSTORE_ROOT_USER /
# GRIDSTORE_ROOT_PASSWORD from the environment, else development defaults
# (scripts/run.sh; override them for anything but a local try-out).
RUN_DIR      ?= ./data
RUN_ADDRESS  ?= 127.0.0.1:9000
RUN_USER     ?=
RUN_PASSWORD ?=
DEMOFLAGS    ?= -nodes 3 -base-port 9100
# How long `make fuzz` runs each fuzz target.
FUZZTIME  ?= 10s
# staticcheck is fetched through the Go module proxy at this version; when it
# cannot be fetched, lint skips it with a notice.
STATICCHECK_VERSION ?= v0.8.2
IMAGE     ?= gridstore:dev
# `make cluster-*`: the docker-compose command and project (the project
# name prefixes containers, network and volumes; default: this directory's name).
COMPOSE         ?= docker-compose
COMPOSE_PROJECT ?=

.DEFAULT_GOAL := help

.PHONY: help build run grid-demo smoke test chaos sendfile-check fuzz bench lint fmt-check vet staticcheck check-generated generate docker clean
.PHONY: image-context cluster-up cluster-down cluster-clean compose-test chaos-docker bench-cluster

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the static binary bin/gridstore
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/gridstore

run: build ## build, then run one node on ./data/data{1...4} (EC 2+2) at 127.0.0.1:9000 until Ctrl-C
	@RUN_DIR='$(RUN_DIR)' RUN_ADDRESS='$(RUN_ADDRESS)' RUN_USER='$(RUN_USER)' RUN_PASSWORD='$(RUN_PASSWORD)' BIN='$(BIN)' \
		scripts/run.sh

grid-demo: build ## run the grid demo (3 grid nodes in one process on 127.0.0.1:9100-9102)
	./$(BIN) grid-demo $(DEMOFLAGS)

# Under the race detector internal/iobuf hands out heap memory; the packages
# that take its buffers run once more without it, on the mapped memory a
# server uses.
IOBUF_PKGS = ./internal/iobuf/ ./erasure/ ./storage/doublebuf/ ./storage/health/ ./storage/local/ ./storage/remote/ ./node/object/

test: ## run every test with the race detector, then the buffer users without it
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 10m $(IOBUF_PKGS)

chaos: ## fault scenarios on real 4-process clusters (node/clusterproc, GRIDSTORE_CHAOS=1): about 8 minutes
	GRIDSTORE_CHAOS=1 $(GO) test -race -count=1 -timeout 15m -v -run . ./node/clusterproc/...

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
	@echo ">> go vet, GOOS=darwin (the server builds on macOS too: no Linux-only call outside _linux files)"
	GOOS=darwin $(GO) vet ./...

staticcheck:
	@echo ">> staticcheck $(STATICCHECK_VERSION)"
	@STATICCHECK_VERSION=$(STATICCHECK_VERSION) GO=$(GO) scripts/staticcheck.sh

check-generated:
	@echo ">> generated code is up to date"
	@GO=$(GO) scripts/check-generated.sh

generate: ## regenerate code (msgp) in the tree
	$(GO) generate ./...

# --- Docker image and the docker-compose cluster (docker-compose.yml) ----------
docker: image-context ## build the image gridstore:dev (FROM scratch, nothing pulled) around bin/gridstore
	docker build --pull=false -t $(IMAGE) -f cmd/gridstore/Dockerfile bin

# The image's build context: the static binary and the empty drive mount
# points the Dockerfile copies (git keeps no empty directories).
image-context: build
	@for i in $$(seq 1 16); do mkdir -p bin/mountpoints/data$$i; done

cluster-up: image-context ## start the 4-node cluster of docker-compose.yml (S3 on 127.0.0.1:9000) and wait until healthy
	COMPOSE='$(COMPOSE)' COMPOSE_PROJECT='$(COMPOSE_PROJECT)' GRIDSTORE_IMAGE='$(IMAGE)' scripts/cluster-up.sh

cluster-down: ## stop and remove the cluster's containers; the drives (volumes) are kept
	$(COMPOSE) $(if $(COMPOSE_PROJECT),-p $(COMPOSE_PROJECT)) down

cluster-clean: ## remove the cluster's containers and its volumes: every object is gone
	$(COMPOSE) $(if $(COMPOSE_PROJECT),-p $(COMPOSE_PROJECT)) down -v

# TestComposeCluster builds its own binary and image (a tag of its own,
# removed afterwards) and runs docker-compose.yml as a project of its own.
# GRIDSTORE_DOCKER_TESTS=0 skips it, =1 fails where Docker is missing.
compose-test: ## build the image, run docker-compose.yml, PUT/GET/LIST with a node stopped (skips without Docker)
	$(GO) test -count=1 -timeout 10m -run '^TestComposeCluster$$' -v ./cmd/gridstore

# TestComposeChaos: the same kind of cluster, one node killed and started,
# paused, then cut off the network, under 12 S3 clients (GRIDSTORE_CHAOS=1
# turns it on; plain `make test` skips it). It skips without Docker like
# compose-test. No -race: the code under test runs in the containers (not
# race-built); a race-built test client would take the CPU the 4 containers
# need on a small machine (on 2 cores: a quarter to a third fewer writes,
# the slowest request 3.7 s rather than 1-2 s), and its figures would
# measure the client. `make chaos` runs the same workload code with -race.
chaos-docker: ## kill, pause and partition a node of docker-compose.yml's cluster under load, check every write (skips without Docker)
	GRIDSTORE_CHAOS=1 $(GO) test -count=1 -timeout 10m -run '^TestComposeChaos$$' -v ./cmd/gridstore

# `make bench-cluster`: issue 14's standard suite on a 4-process cluster on
# loopback, measured with `gridstore bench`. BENCH_DURATION (default 20s) is
# each row's length; BENCH_CLUSTER_FLAGS takes --nodes 1 (one node, EC 2+2)
# and --write (append the table to docs/benchmarks.md).
BENCH_CLUSTER_FLAGS ?=
bench-cluster: ## the standard S3 suite (PUT/GET 4 KiB, 1 MiB, 16 MiB, a node down) on a 4-process cluster: markdown table
	GO=$(GO) scripts/bench-cluster.sh $(BENCH_CLUSTER_FLAGS)

clean: ## remove build output
	rm -rf bin
