# Tailor — the two commands a newcomer needs:
#   make demo   builds everything and serves the demo on http://127.0.0.1:8080
#   make test   builds everything and runs every test (unit tests, then nginx tests)
# Other targets: build, setup, unit, nginx-tests, test-nginx-versions, fuzz, soak,
# test-sanitize, bench, clean.

SHELL      := /bin/bash
BUILD      ?= build
NGINX_SRC  ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 20
MODULE     := $(BUILD)/ngx_http_tailor_module.so

TEST_REPEAT ?= 1

.PHONY: all setup build core module demo test unit nginx-tests test-nginx-versions fuzz bench \
        test-sanitize soak clean

all: build

setup:
	@./scripts/setup.sh

build: setup core module

core:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The dynamic module, built by nginx's own build system from Debian's nginx sources with the
# flags Debian's nginx was configured with, so /usr/sbin/nginx accepts it.
module: core
	@./scripts/build-module.sh "$(NGINX_SRC)" "$(abspath $(BUILD))"

demo: build
	@./examples/run-demo.sh "$(abspath $(BUILD))"

unit: core
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# TEST_REPEAT=N sends every block's requests N times to the same worker (t/lib/Tailor/Test.pm).
nginx-tests: module
	TAILOR_TEST_REPEAT=$(TEST_REPEAT) TAILOR_MODULE=$(abspath $(MODULE)) \
	  TAILOR_BUILD=$(abspath $(BUILD)) prove -r -I t/lib t/

# The whole t/ suite against nginx 1.26.3, 1.30.4 and 1.31.4 built from ../shared/nginx-src/
# with the module (Debian's 1.22 is nginx-tests).
test-nginx-versions: core
	@BUILD=$(abspath $(BUILD)) ./scripts/test-nginx-versions.sh

# Everything, in about 40 minutes on 2 cores: unit tests, the nginx tests in repeat mode (every
# block 3 times against the same worker), the nginx tests on the other nginx versions, every
# fuzzer (the rules fuzzer for 60 s, the others for TEST_FUZZ_SECONDS), the soak, then the
# whole suite again under ASan + UBSan.
test: build
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nginx-tests TEST_REPEAT=3
	$(MAKE) --no-print-directory test-nginx-versions
	@if command -v clang >/dev/null; then ./scripts/run-fuzzers.sh $(TEST_FUZZ_SECONDS) rules=60; \
	 else echo "clang not found: fuzzers skipped"; fi
	$(MAKE) --no-print-directory soak
	$(MAKE) --no-print-directory test-sanitize

fuzz: setup
	@./scripts/run-fuzzers.sh "$(FUZZ_SECONDS)"

bench: core
	$(BUILD)/tailor-bench

# Core, tailorc, unit tests and the module with ASan + UBSan (build-sanitize/), then ctest
# and the whole t/ suite with nginx loading the sanitized module.
test-sanitize: setup
	@./scripts/test-sanitize.sh

# 2 minutes of realistic load with a reload every 2 s and a geo database swap every 10 s.
soak: build
	@BUILD=$(abspath $(BUILD)) ./scripts/soak.sh

clean:
	rm -rf $(BUILD) build-*
