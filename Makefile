# dns-tls-proxy: one binary, linked against libc and (statically) BearSSL.
#   make            build ./dns-tls-proxy
#   make test       unit tests and integration tests (needs unbound, dig, kdig, dnsperf)
#   make asan       the same tests against an AddressSanitizer+UBSan build
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

VERSION  := $(shell sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' src/version.h)
CC       ?= cc
HOSTCC   ?= $(CC)
PREFIX   ?= /usr/local
BUILD    ?= build
BIN      ?= dns-tls-proxy
RUNNER   ?= tests/run
# The port back end: linux, or posix for any other Unix.
PORT     ?= $(if $(filter Linux,$(shell uname -s)),linux,posix)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -iquote src -iquote port
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS)
# BearSSL goes in statically so the binary needs nothing but libc at run time.
BEARSSL_LIBS ?= -Wl,-Bstatic -lbearssl -Wl,-Bdynamic
LDLIBS   += $(BEARSSL_LIBS)

SRC      := src/ca.c src/client.c src/conf.c src/dns.c src/frame.c src/log.c src/loop.c \
            src/pending.c src/stats.c src/upstream.c port/common.c port/$(PORT).c
OBJ      := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/ca_bundle.o
CERTS    := $(sort $(wildcard certs/*.pem))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))

.PHONY: all test check unit integration asan install clean lint
all: $(BIN)

$(BIN): $(OBJ) $(BUILD)/src/main.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(wildcard src/*.h port/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The CA bundle: certs/*.pem turned into C by our own generator (Debian
# ships no brssl). ca_gen runs on the build machine, hence HOSTCC.
$(BUILD)/ca_gen: src/ca_gen.c src/ca.c src/ca.h
	@mkdir -p $(BUILD)
	$(HOSTCC) $(CPPFLAGS) -std=c11 $(WARN) -O2 -o $@ src/ca_gen.c src/ca.c $(BEARSSL_LIBS)

$(BUILD)/ca_bundle.c: $(BUILD)/ca_gen $(CERTS)
	$(BUILD)/ca_gen $@ ca_bundle $(CERTS)

$(BUILD)/ca_bundle.o: $(BUILD)/ca_bundle.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Unit tests: one runner with a table of named tests (tests/run NAME...).
$(RUNNER): $(OBJ) $(UNIT_SRC) tests/unit/unit.h
	$(CC) $(CPPFLAGS) -iquote tests/unit $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(UNIT_SRC) $(OBJ) $(LDLIBS)

unit: $(RUNNER)
	./$(RUNNER)

integration: $(BIN)
	PROXY=$(abspath $(BIN)) ./tests/integration/run.sh

test check: unit integration

# Sanitizers: a separate build tree, the same tests.
asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/dns-tls-proxy RUNNER=build-asan/run CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test

install: dns-tls-proxy
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 dns-tls-proxy $(DESTDIR)$(PREFIX)/sbin/dns-tls-proxy

clean:
	rm -rf build build-asan dns-tls-proxy tests/run

# Static analysis, warning-free: cppcheck and clang-tidy (checks in .clang-tidy).
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	    --std=c11 -D_POSIX_C_SOURCE=200809L -I src -I port src/*.c port/*.c
	@# One file per run: clang-tidy 14 reports false valist errors across files.
	set -e; for f in $(wildcard src/*.c port/*.c); do \
	    clang-tidy --quiet $$f -- -std=c11 -D_POSIX_C_SOURCE=200809L -iquote src -iquote port; done
