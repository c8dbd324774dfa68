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

# The demo (issue 6) is not built yet: say so instead of pretending.
run:
	@echo "make run: the SCIM server and its demo are not implemented yet; see README.md, Status." >&2
	@exit 1
