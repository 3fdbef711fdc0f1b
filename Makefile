# condure-go. `make run` starts condure with the bundled example handler on
# port 8000; `make test` runs every test. See README.md.

GO      ?= go
BIN     := bin/condure
PY      ?= /usr/bin/python3
FUZZTIME ?= 30s
# Packages that run goroutines of their own (workers, hub, handlers, logging).
RACE_PKGS := ./reactor/... ./zhttp/... ./zmqio/... ./server/... ./internal/... ./cmd/...
# Per package: the end-to-end tests in cmd/condure take 6-9 minutes under
# -race on 2 loaded cores, too near go test's default 10.
TEST_TIMEOUT ?= 30m

.PHONY: build run test bench bench-tls bench-micro fuzz lint deps clean

build:
	$(GO) build -o $(BIN) ./cmd/condure

run: deps build
	scripts/run.sh $(BIN)

test: deps build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -race $(RACE_PKGS)

# The scale report: our server and /usr/bin/condure side by side (A B A B),
# HTTP and WebSocket load, idle connections (plain, HTTPS, wss) at 1k/5k/15k,
# TLS CPU per request and per handshake, GC figures;
# writes bench/results/{report.txt,bench.svg}. About 15 minutes, TLS included
# (ONLY=http,idle-http,idle-ws,ws skips it; see scripts/bench.sh).
bench:
	scripts/bench.sh

# TLS beside the reference (#18): RSS per idle HTTPS and wss connection at
# 1k and 10k, server CPU per kept-alive HTTPS request (record layer on, off).
bench-tls:
	scripts/tls-idle-mem.sh 1000
	scripts/tls-idle-mem.sh 10000
	WS=1 scripts/tls-idle-mem.sh 1000
	WS=1 scripts/tls-idle-mem.sh 10000
	scripts/tls-keepalive-cpu.sh 5 50

# Micro-benchmarks of the protocol packages, with allocations.
bench-micro:
	$(GO) test -run='^$$' -bench=. -benchmem ./http1 ./http2 ./zhttp ./reactor ./websocket ./server

# Every fuzz target for FUZZTIME each; seeds and past crashers live in
# each package's testdata/fuzz.
fuzz:
	@for t in FuzzParseRequest FuzzChunkedDecoder FuzzValidAuthority; do $(GO) test ./http1 -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s || exit 1; done
	@for t in FuzzParseTnet FuzzPacketParse FuzzSessionID; do $(GO) test ./zhttp -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s || exit 1; done
	$(GO) test ./websocket -run='^$$' -fuzz='^FuzzReader$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s
	@for t in FuzzFrame FuzzHeadersSplit FuzzHPACKDecode FuzzHuffman FuzzHPACKEncode; do $(GO) test ./http2 -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s || exit 1; done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# System packages the build and tests need (Debian).
deps:
	scripts/deps.sh

clean:
	rm -rf bin
