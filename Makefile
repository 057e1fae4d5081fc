.PHONY: build test unit fuzz demo integration bench clean
GO ?= go
BIN := bin/proxy-init
# Fuzz targets run briefly by `make test`: package:FuzzName pairs.
FUZZ_TARGETS ?= ./nat/:FuzzParsePortRange ./nat/:FuzzParsePortList ./nat/:FuzzParsePrefix ./nat/:FuzzConfigRender ./nat/:FuzzConfigApply
FUZZTIME ?= 10s

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/proxy-init

# Every test: unit tests, kernel tests in throwaway namespaces (root), the
# integration matrix, and a short run of each fuzz target.
test: build unit fuzz

unit:
	$(GO) test -count=1 -timeout 20m ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

demo: build
	./hack/demo.sh

integration: build
	$(GO) test -count=1 -v -run 'TestMatrix' ./internal/harness/

bench: build
	./hack/bench.sh

clean:
	rm -rf bin
