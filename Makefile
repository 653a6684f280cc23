# Makefile for jobtree. A fresh machine needs only Go (and, for the race
# detector that `make test` uses, cgo with a C compiler such as gcc): every
# tool below is fetched through the Go module proxy by `go run pkg@version`.
#
#   make test    gofmt check, go vet, staticcheck, go test -race
#   make demo    the guided tour of package core (examples/tour)
#   make bench   cross-library benchmarks (bench/ is its own module)
#   make cover   coverage profile in coverage.out, with a per-function summary
#   make stress  core's stress suite at full size, a process per scenario
#   make fuzz    explore core's FuzzModel for FUZZTIME (60s)
#   make lint    the static part of `make test` only

# Fail a recipe on the first failing command, on unset variables and inside
# pipelines, as `set -euo pipefail` does in a script.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

GO ?= go

# staticcheck 2026.2.2. Its module needs Go >= 1.26.0 to build; an older go
# command switches toolchains on its own (GOTOOLCHAIN=auto, the default).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
# The default checks, minus SA1012 ("do not pass a nil Context"): in jobtree
# a nil ctx is documented input meaning "no parent" (core.NewJob(nil)), and
# the tests exercise it on purpose.
STATICCHECK_CHECKS := inherit,-SA1012

# The race detector needs cgo; say so at once instead of letting go pick
# CGO_ENABLED=0 when no C compiler is found.
RACE_ENV := CGO_ENABLED=1

COVERPROFILE := coverage.out

.PHONY: all test lint fmt-check vet staticcheck test-race demo bench cover stress fuzz clean

all: test

## test: everything CI checks (.ci/run calls exactly this).
test: lint test-race

## lint: formatting, go vet and staticcheck, without running tests.
lint: fmt-check vet staticcheck

## fmt-check: fail if gofmt would change any Go file (bench/ included).
fmt-check:
	@echo '>> gofmt -l .'
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo 'gofmt: these files are not formatted (run gofmt -w on them):' >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi

vet:
	@echo '>> go vet ./...'
	$(GO) vet ./...

staticcheck:
	@echo '>> staticcheck $(STATICCHECK_VERSION) ./...'
	$(STATICCHECK) -checks=$(STATICCHECK_CHECKS) ./...

test-race:
	@echo '>> go test -race -count=1 ./...'
	$(RACE_ENV) $(GO) test -race -count=1 ./...

## demo: run the tour of package core; its output is deterministic.
demo:
	$(GO) run ./examples/tour

## bench: cross-library comparisons; bench/run.sh drives the bench module.
bench:
	bash bench/run.sh

## cover: coverage of every package into coverage.out, then a per-function
## summary (the last line is the total).
cover:
	$(GO) test -count=1 -covermode=atomic -coverpkg=./... -coverprofile=$(COVERPROFILE) ./...
	$(GO) tool cover -func=$(COVERPROFILE)

## stress: core's stress suite at full size (JOBTREE_STRESS=1): each scenario
## of core/stress_test.go's stressScenarios in a process of its own, with its
## rounds, seeds, time and peak memory. Without the race detector: a million
## live goroutines under -race would take tens of gigabytes (make test runs
## the short pass of the same tests under -race).
stress:
	@echo '>> JOBTREE_STRESS=1 go test -run ^TestStressSuite$$ ./core/'
	JOBTREE_STRESS=1 $(GO) test -count=1 -timeout 60m -v -run '^TestStressSuite$$' ./core/

## fuzz: explore core's FuzzModel (random job trees from fuzzer bytes) for
## FUZZTIME; a failing input is saved in core/testdata/fuzz/FuzzModel/, which
## make test replays. Interesting inputs are minimised for at most 200 runs.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzModel$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./core/

clean:
	rm -f $(COVERPROFILE)
