.PHONY: build image test portable unit race fuzz hack e2e e2e-bench demo integration bench clean deps-test deps-bench deps-e2e lint
# Prerequisites run in the order written: deps-* install before anything
# uses what they install.
.NOTPARALLEL:
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
CNI_INSTALL_BIN := bin/proxy-init-cni-install
REPAIR_BIN := bin/proxy-init-cni-repair

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/proxy-init
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(CNI_BIN) ./cmd/proxy-init-cni
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(CNI_INSTALL_BIN) ./cmd/proxy-init-cni-install
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(REPAIR_BIN) ./cmd/proxy-init-cni-repair

# The images IMAGE:nonroot and IMAGE:netadmin, and the CNI DaemonSet's
# IMAGE-cni:latest, offline (FROM scratch, no pull, no network): see
# deploy/Containerfile.
IMAGE ?= proxy-init
image: build
	./deploy/image.sh bin $(IMAGE)

# Every test: go vet and staticcheck, unit tests, kernel tests in throwaway
# namespaces (root), the integration matrix, the Helm chart (deploy/charts)
# and the benchmark harness's report (internal/bench), the shared-client
# tests under -race, a short run of each fuzz target, the hack/ module (the
# chart plotter, the scripts' checks), and the real-cluster scenarios (e2e).
test: deps-test deps-e2e build image portable lint unit race fuzz hack e2e

# What a target needs from Debian, installed only when missing (apt-get, as
# root): a fresh machine runs `make test` as it is.
deps-test:
	./hack/deps.sh test
deps-bench:
	./hack/deps.sh bench
deps-e2e:
	./hack/deps.sh e2e

# go vet and staticcheck over both modules. staticcheck is run at a fixed
# version from the module proxy (go run pkg@version), so it never enters
# the product's go.mod; its checks are the default set.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd hack && $(GO) vet ./... && $(STATICCHECK) ./...

# The pure planner, the Fake and pod's Fake path build and vet on any GOOS;
# only nat/kernel (and what uses it) is Linux's.
portable:
	GOOS=darwin $(GO) vet ./nat/ ./nat/explain/ ./nat/pod/ ./nat/nattest/
	GOOS=windows $(GO) vet ./nat/ ./nat/explain/

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
# charts use (hack/benchplot) never enters the graph of a user who imports
# nat; `./...` at the root does not reach it, so it is tested here (and
# linted by lint), or it would rot. What needs the product's internal
# packages lives in the root module and runs in unit: the benchmark
# harness (internal/bench) and the chart test (deploy/charts), so neither
# runs twice.
hack:
	cd hack && $(GO) test -count=1 ./...

# The real-cluster scenarios (docs/e2e.md): hack/e2e is its own module (it
# builds Kubernetes and etcd from the Go module proxy into a cache once,
# ~8 min cold, seconds warm), boots a single node inside namespaces it
# creates and runs the scenarios against it. Root; never skipped under CI.
# -p 1: one test binary (one cluster) at a time; two side by side on two
# cores only slow each other down.
# No `build` prerequisite: hack/e2e/images builds every binary and image it
# runs from the working tree itself, so bin/ would go unused.
E2E_TIMEOUT ?= 40m
e2e: deps-test deps-e2e
	cd hack/e2e && $(GO) vet ./... && $(GO) test -p 1 -count=1 -timeout $(E2E_TIMEOUT) ./...

# Pod start on the real node (apply to Ready, medians over interleaved
# rounds): unmeshed, unmeshed with the plugin chained, meshed in CNI and in
# init-container mode. Markdown and JSON on stdout; a measurement only.
E2E_BENCH_ROUNDS ?= 15
e2e-bench: deps-test deps-e2e
	cd hack/e2e && E2E_BENCH=$(E2E_BENCH_ROUNDS) $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -run '^$$' -bench '^BenchmarkPodStart$$' -benchtime 1x ./scenarios/

demo: build
	./hack/demo.sh

integration:
	$(GO) test -count=1 -v -run 'TestMatrix' ./internal/harness/

# The benchmarks (docs/performance.md): hack/bench.sh builds the measurer,
# internal/bench, and the chart plotter, hack/benchplot, and writes
# bench/REPORT.md, results.json, charts.json and the charts.
bench: deps-bench build
	./hack/bench.sh

clean:
	rm -rf bin
