GO ?= go
PKGS := ./...

.PHONY: all build test bench fuzz deps run

all: build

build:
	$(GO) build -o bin/scimgate ./cmd/scimgate

deps:
	@scripts/ensure-deps.sh

# Every test, integration tests against a private slapd included.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 12m $(PKGS)
	$(GO) test -count=1 -race ./aci/...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./aci -run '^$$' -fuzz '^FuzzParseACI$$' -fuzztime $(FUZZTIME)
	$(GO) test ./aci/ldapfilter -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

# A private slapd with the demo directory and the server on 127.0.0.1:8080, in the
# foreground until Ctrl-C. Tokens and URLs go to .run/tokens.env.
run: deps build
	bin/scimgate demo
