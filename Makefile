# carry — the two commands a fresh machine needs: `make run` and `make test`.
GO       ?= go
BIN      := bin/carry
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: all build run test test-short bench lint fmt vet clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/carry

# Paper trading with the built-in defaults. Without DATABASE_URL carry runs a private Postgres in .carry/pg.
run: build
	@scripts/ensure-postgres.sh
	$(BIN) run $(ARGS)

# The whole suite with the race detector, against a throwaway Postgres that is removed afterwards.
test: build
	@scripts/ensure-postgres.sh --always
	$(BIN) dev with-postgres -- $(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short: build
	@scripts/ensure-postgres.sh --always
	$(BIN) dev with-postgres -- $(GO) test -short -count=1 $(PKGS)

bench: build
	@scripts/ensure-postgres.sh --always
	$(BIN) dev with-postgres -- $(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

clean:
	rm -rf bin backtest-out
