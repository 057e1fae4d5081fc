.PHONY: build image test portable unit race fuzz hack demo integration bench clean
GO ?= go
BIN := bin/proxy-init
# What `proxy-init --version` prints.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
# Fuzz targets run briefly by `make test`: package:FuzzName:budget, each
# budget about ten seconds of executions on a 2-core machine. Budgets are
# counts, not durations: with a duration, Go 1.26's fuzz coordinator can fail
# a target that found nothing with a bare "context deadline exceeded" at the
# end of the window (golang/go#75804, fixed in Go 1.27), which would fail CI
# at random. FUZZTIME=30s (or 1000x) overrides every budget for a local run.
FUZZ_TARGETS ?= ./nat/:FuzzParsePortRange:200000x ./nat/:FuzzParsePortList:100000x \
	./nat/:FuzzParsePrefix:250000x ./nat/:FuzzConfigRender:50000x ./nat/kernel/:FuzzConfigApply:400x
FUZZTIME ?=

CNI_BIN := bin/proxy-init-cni
REPAIR_BIN := bin/proxy-init-cni-repair

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/proxy-init
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(CNI_BIN) ./cmd/proxy-init-cni
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(REPAIR_BIN) ./cmd/proxy-init-cni-repair

# The images IMAGE:nonroot and IMAGE:netadmin, offline (FROM scratch, no
# pull, no network): see deploy/Containerfile.
IMAGE ?= proxy-init
image: build
	./deploy/image.sh bin $(IMAGE)

# Every test: unit tests, kernel tests in throwaway namespaces (root), the
# integration matrix, the shared-client tests under -race, and a short run of
# each fuzz target, and the hack/ module (demo and benchmark tools).
test: build image portable unit race fuzz hack

# The pure planner, the Fake and pod's Fake path build and vet on any GOOS;
# only nat/kernel (and what uses it) is Linux's.
portable:
	GOOS=darwin $(GO) vet ./nat/ ./nat/pod/ ./nat/nattest/
	GOOS=windows $(GO) vet ./nat/

unit:
	$(GO) test -count=1 -timeout 20m ./...

# The tests of a Client shared between goroutines, under the race detector
# (which needs cgo): without it they only catch gross failures.
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -run 'Concurrent' ./nat/kernel/

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		budget=$${FUZZTIME:-$$budget}; \
		echo "fuzz $$name ($$pkg) for $$budget"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$budget $$pkg; \
	done

# hack/ is its own Go module, so that the plotting library the benchmark
# charts use never enters the graph of a user who imports nat; `./...` at the
# root does not reach it, so it is vetted and tested here, or it would rot.
hack:
	cd hack && $(GO) vet ./... && $(GO) test -count=1 ./...

demo: build
	./hack/demo.sh

integration:
	$(GO) test -count=1 -v -run 'TestMatrix' ./internal/harness/

bench: build
	./hack/bench.sh

clean:
	rm -rf bin
