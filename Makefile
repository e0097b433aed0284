# realtime-go: the two commands a newcomer needs are `make demo` and
# `make test`; both install what they need first (make setup).

SHELL      := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO         ?= go
MODULES    := protocol signalling testserver peer media agent examples interop cmd/metered
FUZZTIME   ?= 60s
# name:package pairs of every fuzz target
FUZZ_TARGETS := \
	FuzzParseServer:./protocol \
	FuzzDecodeObject:./protocol \
	FuzzParseClient:./protocol \
	FuzzExtractICEServers:./protocol \
	FuzzScrub:./protocol \
	FuzzMatchChannel:./testserver \
	FuzzClassifyDirect:./peer \
	FuzzRemoteSections:./peer \
	FuzzArrivals:./peer/internal/probe \
	FuzzOpenAIStream:./agent
NPM_STAMP  := interop/js/node_modules/.package-lock.json
# lint's tools, built from the Go module proxy into bin/ (git-ignored); the
# vulnerability database is built from golang.org/x/vulndb, also served by
# the proxy (interop/cmd/vulncheck)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB      := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
INDEXDB     := golang.org/x/vulndb/cmd/indexdb@v0.0.0-20261105234957-e22db6528018
# one folder per set of versions: raising a pin builds the tools again
# instead of finding the old binaries in place
TOOLS       := $(CURDIR)/bin/lint-$(shell printf '%s ' $(STATICCHECK) $(GOVULNCHECK) $(INDEXDB) | sha256sum | cut -c1-12)
# the impairment runs (media/network_test.go): timing is what they measure,
# so they run without the race detector, whose 5-10x slow-down is not a
# network's
NETWORK_TESTS := TestCappedLinkAdapts|TestStartupRamp|TestLossyLinkHolds|TestNetworkChangeRecovers|TestRecorderAsksForKeyframesAfterLoss
# Debian packages the media module builds and tests with: FFmpeg 5.1's
# libraries (go-astiav v0.16.0 needs exactly that series), libvpx's headers
# (a VP8 encoder's rate is changed through them), the ffmpeg CLI
# for generated test media and baselines, Xvfb for screen capture, gcc for
# cgo, GStreamer's WHIP client (simple-whip-client) that publishes
# into the WHIP bridge in interop/whip_test.go, and pocketsphinx's US
# English model, which FFmpeg's asr filter reads (the agent's offline STT).
APT_PACKAGES := pkg-config libavcodec-dev libavformat-dev libavutil-dev libavdevice-dev \
	libavfilter-dev libswresample-dev libswscale-dev libvpx-dev ffmpeg xvfb gcc simple-whip-client \
	pocketsphinx-en-us

.PHONY: setup test test-go test-ffmpeg7 fuzz lint bench demo soak clean release release-check

# The release version lives in VERSION; every module requires its siblings
# at it (see docs/releasing.md).
RELEASE_VERSION := $(shell cat VERSION)

## setup: install everything the tests and the demo need (idempotent)
setup: .setup-apt $(NPM_STAMP)
	@cd protocol && $(GO) mod download
	@for m in $(MODULES); do (cd $$m && $(GO) mod download) || exit 1; done

# Debian packages: only what is missing is installed.
.setup-apt:
	@need=""; \
	command -v node >/dev/null || need="$$need nodejs"; \
	command -v npm  >/dev/null || need="$$need npm"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then \
		echo "setup: apt-get install$$need"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
	fi

# Node packages from the committed lockfile; re-run only when it changes.
$(NPM_STAMP): interop/js/package-lock.json
	cd interop/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## test: every module with -race, the JS interop suite, media on FFmpeg 7 too,
## and every fuzz target for 30,000 executions (a few seconds each). A count,
## not a duration: Go 1.26's fuzz coordinator can fail a run whose -fuzztime
## deadline lands mid-execution (golang/go#75804, fixed in Go 1.27).
test: setup test-go test-ffmpeg7
	@$(MAKE) --no-print-directory fuzz FUZZTIME=30000x

## test-ffmpeg7: media's tests and the examples with -tags ffmpeg7 on Debian 13's
## FFmpeg 7.1, in a debootstrapped root (interop/ffmpeg7/lane.sh; needs root)
test-ffmpeg7:
	@bash interop/ffmpeg7/lane.sh

test-go:
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -race -count=1 -timeout 10m ./...); done
	@echo "== go test media (leak loops, without the race detector's memory)"
	@cd media && $(GO) test -count=1 -run 'Leak' .
	@echo "== go test media (networks: pion vnet impairment runs, at full speed; figures in the log)"
	@set -o pipefail; cd media && $(GO) test -count=1 -timeout 10m -run '$(NETWORK_TESTS)' -v . | grep -E '^\s+network_test.go:[0-9]+: (capped|lossy|network|recorder|startup)|^(ok|FAIL|---)|Error|Messages|leak|left open|goroutine'
	@set -o pipefail; cd interop && $(GO) test -count=1 -timeout 5m -run 'TestChromiumOnCappedRelay' -v . | grep -E 'relay_test.go:[0-9]+: Chromium|^(ok|FAIL|---)|Error|Messages'


## fuzz: run every fuzz target for FUZZTIME (60s; make test: 30000x)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "== fuzz $$name ($(FUZZTIME))"; \
		(cd $$(dirname $$pkg/x) && $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) . ) || exit 1; \
	done

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install $(STATICCHECK)
$(TOOLS)/govulncheck:
	GOBIN=$(TOOLS) $(GO) install $(GOVULNCHECK)
$(TOOLS)/indexdb:
	GOBIN=$(TOOLS) $(GO) install $(INDEXDB)

## lint: go vet, staticcheck and govulncheck (offline vulnerability database) over every
## module; the signalling stack builds without cgo; gofmt; LICENSE copies
lint: setup $(TOOLS)/staticcheck $(TOOLS)/govulncheck $(TOOLS)/indexdb
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@set -e; for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && $(TOOLS)/staticcheck ./...); done
	@$(GO) run ./interop/cmd/vulncheck -tools $(TOOLS) -vulndb $(VULNDB) $(MODULES)
	@set -e; for m in protocol signalling testserver; do (cd $$m && CGO_ENABLED=0 $(GO) build ./...); done
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in protocol signalling testserver peer media agent cmd/metered; do cmp -s LICENSE $$m/LICENSE || { echo "$$m/LICENSE differs from LICENSE: a module's zip holds only its folder, so copy it"; exit 1; }; done

## release-check: the release rehearsal: module zips of the working tree at
## $(RELEASE_VERSION) in a file GOPROXY, fetched, built and run from fresh modules outside the checkout
release-check: setup
	$(GO) run ./interop/cmd/release check

## release: make release VERSION=v0.x.y: bump every module to it, rehearse,
## commit, and tag <dir>/v0.x.y locally (pushing is the maintainer's step)
release: setup
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=v0.x.y"; exit 2; }
	$(GO) run ./interop/cmd/release bump $(VERSION)
	$(GO) run ./interop/cmd/release check
	git commit -q -am "release $(VERSION)"
	$(GO) run ./interop/cmd/release tag

## bench: rebuild docs/benchmarks.md (Go vs the JS SDK and bare pion, through rms-local)
bench: setup
	$(GO) run ./interop/cmd/bench -out docs/benchmarks.md

## soak: the long runs: 100 faults on a live call (Go↔Go and Go↔JS), 1,000 join/close and add/remove-track cycles, 1,000 media open/close cycles, the hostile-client suite at 10× (200,000 messages past a slow reader), the network impairment runs at length (writing docs/reliability/: the capped run's SVG and figures)
soak: setup
	@set -o pipefail; cd testserver && HOSTILE_SCALE=10 $(GO) test -count=1 -timeout 30m -run 'Slow|Invalid|Nested|Idle|Token|Origins|REST|Conformance' -v . | grep -E 'messages of|^(ok|FAIL|---)'
	@set -o pipefail; cd peer && CHAOS_FAULTS=100 SOAK_CYCLES=1000 $(GO) test -count=1 -timeout 30m -run 'Chaos|Cycles' -v . | grep -E 'faults;|cycles|^(ok|FAIL|---)'
	@set -o pipefail; cd interop && CHAOS_FAULTS=100 $(GO) test -count=1 -timeout 30m -run 'Chaos' -v . | grep -E 'faults with|^(ok|FAIL|---)'
	@set -o pipefail; cd media && $(GO) test -count=1 -run 'Leak' -v . | grep -E 'RSS|^(ok|FAIL|---)'
	@set -o pipefail; cd media && NETWORK_LONG=1 NETWORK_REPORT=$(CURDIR)/docs/reliability $(GO) test -count=1 -timeout 20m -run '$(NETWORK_TESTS)' -v . | grep -E '^\s+network_test.go:[0-9]+: (capped|lossy|network|recorder|startup)|^(ok|FAIL|---)|Error|Messages'

## demo: a Go peer plays a clip into a channel, another records it; the browser page watches
demo: setup
	$(GO) run ./examples/demo

clean:
	rm -rf interop/js/node_modules
