.PHONY: build test demo integration bench clean
GO ?= go
BIN := bin/proxy-init

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/proxy-init

clean:
	rm -rf bin
