GO ?= go
PKGS := ./...

.PHONY: all build test bench fuzz deps deps-run run run-389 run-ha

all: build

build:
	$(GO) build -o bin/scimgate ./cmd/scimgate

# What the tests need: OpenLDAP and 389 Directory Server (apt-get when missing).
deps:
	@scripts/ensure-deps.sh

# What the demo needs: OpenLDAP only.
deps-run:
	@scripts/ensure-deps.sh slapd

# Every test, integration tests against a private slapd included, under the
# race detector.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -race -timeout 12m $(PKGS)

# Every benchmark, each run for BENCHTIME (default 3s: shorter runs of the
# whole-stack benchmarks vary too much on a 2-core machine), one package at
# a time so that no benchmark shares the machine with another.
# The directories the benchmarks load are kept in BENCH_CACHE (a million
# users: about 2 GB), so that the next run copies them instead of running
# slapadd again; delete it to reclaim the space.
BENCHTIME ?= 3s
BENCH_CACHE ?= $(HOME)/.cache/scimgate/bench
bench: deps
	SCIMGATE_BENCH_CACHE=$(BENCH_CACHE) $(GO) test -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# Every fuzz target, each for FUZZTIME (default 60s).
FUZZTIME ?= 60s
FUZZ := ./aci:FuzzParseACI ./aci/ldapfilter:FuzzParse ./aci/ldapfilter:FuzzNormalizeDN \
	./oauth:FuzzValidate ./ldapbackend/scimldap:FuzzTranslateFilter ./scim:FuzzAppendJSON ./scim:FuzzHTTP \
	./scim/resource:FuzzParseFilter ./scim/resource:FuzzParsePath ./scim/resource:FuzzApplyPatch \
	./scim/resource:FuzzNormalize ./scim/resource:FuzzDecode
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== $$t"; $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME); \
	done

# A private slapd with the demo directory and the server on 127.0.0.1:8080, in the
# foreground until Ctrl-C. Tokens and URLs go to .run/tokens.env.
run: deps-run build
	bin/scimgate demo

# The same demo on 389 Directory Server (ns-slapd) instead of slapd; tokens.env
# also says ACI_ATTR=scimgateAci, where scimgate's ACIs live there.
run-389: deps build
	bin/scimgate demo -directory 389

# Two slapd providers replicating both ways (ports 3389 and 3390) and two gateways
# (8080 and 8081), each with both servers; tokens.env adds SCIM_URL_2 and LDAP_URL_2.
run-ha: deps-run build
	bin/scimgate demo -ha
