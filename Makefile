# Tailor — the two commands a newcomer needs:
#   make demo   builds everything and serves the demo on http://127.0.0.1:8080
#   make test   builds everything and runs every test (unit tests, then nginx tests)
# Other targets: build, setup, unit, nginx-tests, fuzz, soak, test-sanitize, bench, clean.

SHELL      := /bin/bash
BUILD      ?= build
NGINX_SRC  ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 20
MODULE     := $(BUILD)/ngx_http_tailor_module.so

.PHONY: all setup build core module demo test unit nginx-tests fuzz bench test-sanitize soak clean

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

nginx-tests: module
	TAILOR_MODULE=$(abspath $(MODULE)) TAILOR_BUILD=$(abspath $(BUILD)) prove -r -I t/lib t/

# Everything, in about half an hour on 2 cores: unit and nginx tests, every fuzzer (the rules
# fuzzer for 60 s, the others for TEST_FUZZ_SECONDS), the soak, then the whole suite again
# under ASan + UBSan.
test: build
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nginx-tests
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
