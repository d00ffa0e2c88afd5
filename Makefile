# SPDX-License-Identifier: MIT
# dns-tls-proxy: one binary, linked against libc and (statically) BearSSL.
#   make            build ./dns-tls-proxy
#   make test       unit tests and integration tests (needs unbound, dig, kdig, dnsperf)
#   make asan       the same tests against an AddressSanitizer+UBSan build
#   make dist       build/dns-tls-proxy-VERSION.tar.gz (+ .sha256) of HEAD
#   make container-test   the Dockerfile built (podman) and its image run, as root
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

VERSION  := $(shell sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' src/version.h)
CC       ?= cc
# ca_gen runs on the build machine: the host's compiler and BearSSL, whatever CC is.
HOSTCC   ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
BIN      ?= dns-tls-proxy
RUNNER   ?= tests/run
# The port back end: linux, or posix for any other Unix.
PORT     ?= $(if $(filter Linux,$(shell uname -s)),linux,posix)
# More port files: the static musl build adds port/alloc.c (port/router.mk).
PORT_EXTRA ?=

# Warnings are errors only when asked (CI: make WERROR=1): a distribution's or
# an OpenWrt SDK's newer compiler must not fail the build on a new warning.
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 $(if $(filter 1,$(WERROR)),-Werror)
CFLAGS   ?= -O2 -g
# Hardening for the dynamic build: stack protector, fortified libc calls,
# position-independent executable, full RELRO. `make HARDEN=` turns it off.
HARDEN   ?= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
HARDEN_LD ?= -pie -Wl,-z,relro,-z,now
# Certificates are never checked against a time before the build (routers boot
# at 1970): BUILD_EPOCH. Reproducible, never the time of the build: the
# SOURCE_DATE_EPOCH given; else, in a git checkout (.git here, not in a tree
# around us), the last commit's time; else (a release tarball, a container
# build context) the newest modification time of the sources, which is the
# last commit's time in a `make dist` tarball.
EPOCH_FILES := Makefile $(wildcard src/*.[ch] port/*.[ch] certs/*.pem)
ifeq ($(SOURCE_DATE_EPOCH),)
override SOURCE_DATE_EPOCH := $(shell { [ -e .git ] && git log -1 --format=%ct 2>/dev/null; } || \
	{ stat -c %Y $(EPOCH_FILES) 2>/dev/null || stat -f %m $(EPOCH_FILES); } | sort -n | tail -n 1)
endif
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -iquote src -iquote port -DBUILD_EPOCH=$(SOURCE_DATE_EPOCH)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(HARDEN)
ALL_LDFLAGS = $(LDFLAGS) $(HARDEN_LD)
# BearSSL goes in statically so the binary needs nothing but libc at run time.
BEARSSL_LIBS ?= -Wl,-Bstatic -lbearssl -Wl,-Bdynamic
HOST_BEARSSL_LIBS ?= -Wl,-Bstatic -lbearssl -Wl,-Bdynamic
LDLIBS   += $(BEARSSL_LIBS)

SRC      := src/acl.c src/ca.c src/cache.c src/client.c src/clock.c src/conf.c src/conn.c src/dns.c src/frame.c src/log.c src/loop.c \
            src/metrics.c src/nameserver.c src/qlog.c src/select.c src/preset.c src/x509.c \
            src/pending.c src/query.c src/source.c src/stats.c src/tls.c src/xfr.c port/common.c port/$(PORT).c \
            $(PORT_EXTRA)
OBJ      := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/ca_bundle.o
CERTS    := $(sort $(wildcard certs/*.pem))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))

.PHONY: all test check unit docs-check integration openwrt-test release-test asan install uninstall clean lint \
        fuzz soak dist container-test container-clean
all: $(BIN)

$(BIN): $(OBJ) $(BUILD)/src/main.o
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(wildcard src/*.h port/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The CA bundle: certs/*.pem turned into C by our own generator (Debian
# ships no brssl). ca_gen runs on the build machine, hence HOSTCC.
$(BUILD)/ca_gen: src/ca_gen.c src/ca.c src/ca.h src/x509.c src/x509.h
	@mkdir -p $(BUILD)
	$(HOSTCC) $(CPPFLAGS) -std=c11 $(WARN) -O2 -o $@ src/ca_gen.c src/ca.c src/x509.c $(HOST_BEARSSL_LIBS)

$(BUILD)/ca_bundle.c: $(BUILD)/ca_gen $(CERTS)
	$(BUILD)/ca_gen $@ ca_bundle $(CERTS)

$(BUILD)/ca_bundle.o: $(BUILD)/ca_bundle.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Unit tests: one runner with a table of named tests (tests/run NAME...).
$(RUNNER): $(OBJ) $(UNIT_SRC) $(wildcard tests/unit/*.h)
	$(CC) $(CPPFLAGS) -iquote tests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(UNIT_SRC) $(OBJ) $(LDLIBS)

# Fuzz targets: replayed over the committed corpus (no libFuzzer needed) as
# part of the unit tests; `make fuzz` builds the libFuzzer binaries.
FUZZ_TARGETS := query answer conf http xfr cache cert fmt
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay-%)

$(BUILD)/fuzz-replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(OBJ)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(OBJ) $(LDLIBS)

unit: $(RUNNER) $(FUZZ_REPLAY)
	./$(RUNNER)
	set -e; for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz-replay-$$t tests/fuzz/corpus/$$t; done
	@if [ -n "$$SANITIZER_LOG_DIR" ] && ls $$SANITIZER_LOG_DIR/* >/dev/null 2>&1; then \
	    cat $$SANITIZER_LOG_DIR/*; echo "unit: sanitizer reports above"; exit 1; fi

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang HARDEN= CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	    LDFLAGS="-fsanitize=address,undefined" build-fuzz/ca_bundle.o $(SRC:%.c=build-fuzz/%.o)
	set -e; for t in $(FUZZ_TARGETS); do \
	    clang $(CPPFLAGS) -std=c11 $(WARN) $(FUZZ_CFLAGS) -o build-fuzz/fuzz-$$t tests/fuzz/fuzz_$$t.c \
	        $(SRC:%.c=build-fuzz/%.o) build-fuzz/ca_bundle.o $(LDLIBS); done
	@echo "run: build-fuzz/fuzz-query tests/fuzz/corpus/query (likewise answer, conf, http, xfr, cache, cert, fmt)"

integration: $(BIN)
	PROXY=$(abspath $(BIN)) ./tests/integration/run.sh

# The OpenWrt package's scripts: shell checks and the UCI-to-command-line
# cases, each command line checked by the proxy's own --check.
openwrt-test: $(BIN)
	PROXY=$(abspath $(BIN)) tests/openwrt/run.sh

# Every option described alike in --help, --check, README.md and the man page;
# every printf conversion in the sources one the static build prints.
docs-check: $(BIN)
	python3 tests/docs/options.py ./$(BIN) README.md port/dist/dns-tls-proxy.8
	python3 tests/docs/formats.py

# Release metadata and deployment files: SPDX lines, the version everywhere,
# systemd-analyze verify, mandoc -T lint, the Kubernetes manifest's schema,
# make dist and a build from its tarball (tests/release/run.sh).
release-test: $(BIN)
	PROXY=$(abspath $(BIN)) tests/release/run.sh

test check: unit tiny-unit docs-check openwrt-test release-test integration

# Sanitizers: a separate build tree, the same tests (but release-test, which
# checks files, not the code: make test runs it).
# Sanitizer reports go to files that the test runners check: a report from
# a proxy that was killed at the end of a scenario still fails the suite.
SANLOG = $(abspath build-asan/sanitizer-logs)
asan:
	rm -rf $(SANLOG) && mkdir -p $(SANLOG)
	ASAN_OPTIONS=log_path=$(SANLOG)/asan UBSAN_OPTIONS=log_path=$(SANLOG)/ubsan:print_stacktrace=1 \
	SANITIZER_LOG_DIR=$(SANLOG) $(MAKE) BUILD=build-asan BIN=build-asan/dns-tls-proxy RUNNER=build-asan/run CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    HARDEN= HARDEN_LD= LDFLAGS="-fsanitize=address,undefined" unit docs-check openwrt-test integration

# make install [PREFIX=/usr/local] [DESTDIR=]: copies files, enables nothing.
# The unit goes where systemd looks for units that are not the administrator's
# own: $(PREFIX)/lib/systemd/system for PREFIX=/usr and /usr/local, else
# /etc/systemd/system (other prefixes are not on systemd's search path).
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/dns-tls-proxy
SYSTEMDUNITDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system)

install: $(BIN)
	@mkdir -p $(BUILD)/dist
	sed 's|@SBINDIR@|$(SBINDIR)|g' port/dist/dns-tls-proxy.service >$(BUILD)/dist/dns-tls-proxy.service
	sed 's/^\.Os .*/.Os dns-tls-proxy $(VERSION)/' port/dist/dns-tls-proxy.8 >$(BUILD)/dist/dns-tls-proxy.8
	install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/dns-tls-proxy
	install -D -m 0644 $(BUILD)/dist/dns-tls-proxy.8 $(DESTDIR)$(MANDIR)/man8/dns-tls-proxy.8
	install -D -m 0644 $(BUILD)/dist/dns-tls-proxy.service $(DESTDIR)$(SYSTEMDUNITDIR)/dns-tls-proxy.service
	install -D -m 0644 port/dist/dns-tls-proxy.default $(DESTDIR)$(DOCDIR)/dns-tls-proxy.default

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dns-tls-proxy $(DESTDIR)$(MANDIR)/man8/dns-tls-proxy.8 \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/dns-tls-proxy.service $(DESTDIR)$(DOCDIR)/dns-tls-proxy.default
	-rmdir $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan build-fuzz dns-tls-proxy tests/run

# The release tarball: exactly the files of the last commit (HEAD), in git's
# order, owned by root, each with the commit's time as its mtime, gzip without
# a name or time: the same bytes from any clone. Built from it (no .git), the
# certificate-time floor is those mtimes: the commit's time (see
# SOURCE_DATE_EPOCH above).
DIST_DIR ?= build
dist:
	@[ -e .git ] || { echo "make dist: needs the git checkout" >&2; exit 1; }
	@git diff --quiet HEAD -- || echo "make dist: note: uncommitted changes are not in the tarball (it is HEAD)" >&2
	@mkdir -p $(DIST_DIR)
	@v=$$(git show HEAD:src/version.h | sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p'); \
	n=dns-tls-proxy-$$v; \
	git -c tar.umask=0022 archive --format=tar --prefix=$$n/ HEAD | gzip -n -9 >$(DIST_DIR)/$$n.tar.gz.tmp && \
	mv $(DIST_DIR)/$$n.tar.gz.tmp $(DIST_DIR)/$$n.tar.gz && \
	(cd $(DIST_DIR) && sha256sum $$n.tar.gz >$$n.tar.gz.sha256 && cat $$n.tar.gz.sha256)

# The container image (Dockerfile) built with podman and run as deployed
# (tests/release/container.sh); root. The podman store it keeps (the
# debootstrapped base, the build stage's packages) is CONTAINER_CACHE.
CONTAINER_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/dns-tls-proxy/container
container-test:
	CONTAINER_CACHE=$(CONTAINER_CACHE) tests/release/container.sh

container-clean:
	-for d in overlay vfs; do [ ! -d $(CONTAINER_CACHE)/storage-$$d ] || podman --root $(CONTAINER_CACHE)/storage-$$d \
	    --runroot $(CONTAINER_CACHE)/run-$$d --storage-driver $$d system reset --force; done
	rm -rf $(CONTAINER_CACHE)

# Static analysis, warning-free: cppcheck and clang-tidy (checks in .clang-tidy).
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	    --std=c11 -D_POSIX_C_SOURCE=200809L -I src -I port src/*.c port/*.c
	@# One file per run: clang-tidy 14 reports false valist errors across files.
	set -e; for f in $(wildcard src/*.c port/*.c); do \
	    clang-tidy --quiet $$f -- -std=c11 -D_POSIX_C_SOURCE=200809L -iquote src -iquote port; done

# Soak: 10 minutes of mixed load with upstream faults (SOAK_SECONDS to change).
soak: $(BIN)
	PROXY=$(abspath $(BIN)) tests/soak/soak.sh

# Router builds (static musl binary, cross builds, footprint budget) and the
# benchmark live in their own fragments.
include port/router.mk
include tests/bench/bench.mk
