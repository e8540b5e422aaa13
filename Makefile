# tofu: make run | make test (each installs missing system packages first).
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
BUILD_FLAGS ?=
BIN_DIR = $(shell $(SWIFT) build $(BUILD_FLAGS) --show-bin-path)


.PHONY: help deps build run test demo release install uninstall bench torture fuzz sanitize-address sanitize-thread clean

help:
	@echo "make run    install what is missing, build, serve JSON-RPC on stdio (default store)"
	@echo "make test   install what is missing, build, run every test"
	@echo "make demo   the outage and both ways out, against a fake DNA Center on 127.0.0.1"
	@echo "make release  optimised, statically linked tofu and tofu-rpc in .build-release/release"
	@echo "make install [PREFIX=/usr/local] [DESTDIR=]  the release binaries, man pages tofu(1) and tofu-rpc(1), bash/zsh/fish completions"
	@echo "make uninstall [PREFIX=/usr/local] [DESTDIR=]  removes exactly what make install installed"
	@echo "make bench  release build measured against ssh-keygen, openssl and same-work C ceilings (docs/PERFORMANCE.md; BENCH_QUICK=1 for a short check)"
	@echo "make torture / make fuzz [FUZZ_SECONDS=600] / make sanitize-address / make sanitize-thread"

# Installs only what is missing: pkg-config for the C libraries, command -v for tools.
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config libjansson-dev libssl-dev libsqlite3-dev libpq-dev"; \
	if command -v pkg-config >/dev/null 2>&1; then \
	  pkg-config --exists jansson || missing="$$missing libjansson-dev"; \
	  pkg-config --exists openssl || missing="$$missing libssl-dev"; \
	  pkg-config --exists sqlite3 || missing="$$missing libsqlite3-dev"; \
	  pkg-config --exists libpq || missing="$$missing libpq-dev"; \
	fi; \
	command -v jq >/dev/null 2>&1 || missing="$$missing jq"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	command -v sqlite3 >/dev/null 2>&1 || missing="$$missing sqlite3"; \
	command -v man >/dev/null 2>&1 || missing="$$missing man-db"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing" >&2; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "run as root, or install:$$missing" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

# stdout is the protocol's alone: the build reports on stderr.
run: deps
	@$(SWIFT) build $(BUILD_FLAGS) >&2
	@exec "$(BIN_DIR)/tofu-rpc"

# The real-client tests (Tests/Clients) speak to tofu-rpc through the official MCP Python SDK and
# pygls, at the versions they were tested with, installed when missing in a virtualenv of their own.
TEST_PYTHON = .build/test-python
# Suites that start many processes at once (both clients over tables of cases, Neovim, the
# Python clients, four to ten tofu-rpc on PostgreSQL, large imports): they run after the rest,
# so that the tests that bound a deadline do not share two cores with them. Both runs must pass.
HEAVY_SUITES = ClientParityTests|HelpTextTests|StoreMoveTests|StoreTransferTests|PostgreSQL|NeovimPlugin|RealClientTests|InstallTests|PromptedFailureTests|ReadmeExampleTests|BackupTests|PythonLSPJSONRPCTests|DemoTests|HistoryCLITests|ExpiryTests|LongRunningWriterTests|WriteLaneTests
TEST_PYTHON_PACKAGES = mcp==2.3.0 pygls==2.1.1

# The fleet tests run against a throwaway PostgreSQL cluster on 127.0.0.1 (scripts/pg-cluster.sh),
# stopped and removed however the tests end. No cluster, no test run: TOFU_REQUIRE_PG=1 makes
# every PostgreSQL case fail rather than skip; TOFU_REQUIRE_CLIENTS=1 does the same for the real clients.
test: build
	@set -eu; \
	if ! $(TEST_PYTHON)/bin/python -c 'import mcp, pygls, jsonschema' >/dev/null 2>&1; then \
	  echo "installing: $(TEST_PYTHON_PACKAGES) (for the real-client tests)" >&2; \
	  python3 -m venv $(TEST_PYTHON) && $(TEST_PYTHON)/bin/python -m pip install -q $(TEST_PYTHON_PACKAGES); \
	fi; \
	export TOFU_TEST_PYTHON="$(CURDIR)/$(TEST_PYTHON)/bin/python" TOFU_REQUIRE_CLIENTS=1; \
	apt_install() { \
	  echo "installing: $$1 ($$2)" >&2; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "run as root, or install: $$1" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$$1"; \
	}; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql "for the fleet tests"; \
	command -v strace >/dev/null 2>&1 || apt_install strace "the tests that count tofu-rpc's system calls"; \
	command -v cc >/dev/null 2>&1 || apt_install gcc "the test that preloads a stand-in for OpenSSL's exit cleanup"; \
	command -v nvim >/dev/null 2>&1 || apt_install neovim "for the editor plugin's tests"; \
	if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("python-lsp-jsonrpc") != "1.1.2")' 2>/dev/null; then \
	  echo "installing: python-lsp-jsonrpc 1.1.2 (pip; for the editor-client tests)" >&2; \
	  python3 -m pip --version >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip; \
	  python3 -m pip install -q 'python-lsp-jsonrpc==1.1.2' 2>/dev/null || python3 -m pip install -q --break-system-packages 'python-lsp-jsonrpc==1.1.2'; \
	fi; \
	pgdir=$$(mktemp -d "$${TMPDIR:-/tmp}/tofu-pg.XXXXXX"); \
	trap 'bash scripts/pg-cluster.sh stop "$$pgdir"' EXIT; \
	if ! pgenv=$$(bash scripts/pg-cluster.sh start "$$pgdir"); then \
	  echo "make test: the PostgreSQL test cluster did not start (see above); the fleet tests cannot run without it" >&2; exit 1; \
	fi; \
	while IFS= read -r line; do export "$$line"; done <<< "$$pgenv"; \
	export TOFU_REQUIRE_PG=1; \
	$(SWIFT) test $(BUILD_FLAGS) --skip '$(HEAVY_SUITES)' && \
	$(SWIFT) test $(BUILD_FLAGS) --filter '$(HEAVY_SUITES)'

demo: build
	@bash scripts/demo.sh "$(BIN_DIR)"

# The build to install: release, with the Swift runtime and Foundation linked in (no shared
# libraries to load and relocate at each start: a cold `tofu` command costs ~10 ms less).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release

# make install builds the release first; INSTALL_FROM=DIR installs the binaries already built
# in DIR instead (the install test uses the debug build). scripts/install.sh lists every file.
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_FROM ?=

install: $(if $(INSTALL_FROM),,release)
	@bash scripts/install.sh install "$(DESTDIR)$(PREFIX)" "$(or $(INSTALL_FROM),$(CURDIR)/.build-release/release)"

uninstall:
	@bash scripts/install.sh uninstall "$(DESTDIR)$(PREFIX)"

# BENCH_QUICK=1 make bench: smaller counts, to check every row runs (not a measurement).
# The fleet rows start a throwaway PostgreSQL cluster on 127.0.0.1 (scripts/pg-cluster.sh).
BENCH_CC = cc -O2 -Wall -Wextra
bench: release
	@command -v hyperfine >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine; }
	@command -v ssh-keygen >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-client; }
	@test -x /usr/bin/time || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time; }
	@command -v valgrind >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }
	@mkdir -p .build/bench
	$(BENCH_CC) -o .build/bench/loadgen bench/c/loadgen.c -lpthread
	$(BENCH_CC) -o .build/bench/echo bench/c/echo.c
	$(BENCH_CC) -o .build/bench/jansson_echo bench/c/jansson_echo.c $$(pkg-config --cflags --libs jansson)
	$(BENCH_CC) -o .build/bench/jansson_answer bench/c/jansson_answer.c $$(pkg-config --cflags --libs jansson)
	$(BENCH_CC) -o .build/bench/pin_server bench/c/pin_server.c $$(pkg-config --cflags --libs jansson sqlite3 openssl)
	$(BENCH_CC) -DWITH_PG -o .build/bench/pin_server_pg bench/c/pin_server.c $$(pkg-config --cflags --libs jansson libpq openssl)
	$(BENCH_CC) -o .build/bench/delete_txn bench/c/delete_txn.c $$(pkg-config --cflags --libs jansson sqlite3 openssl)
	$(BENCH_CC) -o .build/bench/verify_ceiling bench/c/verify_ceiling.c $$(pkg-config --cflags --libs openssl)
	$(BENCH_CC) -o .build/bench/tls_peers bench/c/tls_peers.c $$(pkg-config --cflags --libs openssl)
	$(BENCH_CC) -o .build/bench/cold_lookup bench/c/cold_lookup.c $$(pkg-config --cflags --libs jansson)
	python3 bench/bench.py "$$($(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --show-bin-path)" .build/bench

# The long forms of the hardening tests (not part of make test).
torture: build
	TOFU_TORTURE=1 $(SWIFT) test $(BUILD_FLAGS) --filter 'HardeningTests|CorpusTests|StoreFileTests'

FUZZ_SECONDS ?= 600
fuzz: deps
	bash fuzz/run.sh $(FUZZ_SECONDS)

# Leak reports come from the test runner and Foundation's process machinery, not from tofu:
# leak detection is left to valgrind; ASan still stops on every memory error. handle_segv=0
# lets a SIGSEGV the core-dump tests send kill the process as it would without ASan.
sanitize-address: deps
	export TOFU_TEST_TIME_SCALE=5 ASAN_OPTIONS=detect_leaks=0:handle_segv=0:suppressions=$(CURDIR)/Tests/asan.supp; \
	$(SWIFT) test --sanitize=address --scratch-path .build-asan --skip '$(HEAVY_SUITES)' && \
	$(SWIFT) test --sanitize=address --scratch-path .build-asan --filter '$(HEAVY_SUITES)'

sanitize-thread: deps
	export TOFU_TEST_TIME_SCALE=5 TSAN_OPTIONS=handle_segv=0; \
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --skip '$(HEAVY_SUITES)' && \
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter '$(HEAVY_SUITES)'

clean:
	rm -rf .build .build-release
