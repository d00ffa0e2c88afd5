# SPDX-License-Identifier: MIT
# Router builds: a static musl binary, cross builds for routers' CPUs, and the
# footprint budget. Each has a tree of its own under build/ (so `make clean`
# takes it) with its own BearSSL, compiled from Debian's source package by
# that build's compiler: the host's libbearssl.a is for glibc on x86_64 only.
# The default build is untouched.
#
#   make static [TINY=1]      build/static[-tiny]/dns-tls-proxy: x86_64, musl,
#                             static, stripped (the unstripped one: .full)
#   make footprint [TINY=1]   that binary against the budget: size (CA bundle
#                             included) and peak RSS under load; without
#                             TINY, the CORE=1 build's size as well
#   make static CORE=1        build/static-core: the default build without
#                             the five optional features (issue 12's set)
#   make cross ARCH=A         build/cross/A/dns-tls-proxy and the unit-test
#                             runner, static glibc, for A = mips (big-endian),
#                             mipsel, armhf or arm64
#   make cross-test ARCH=A    the same, then under qemu-user: the unit tests,
#                             the fuzz corpus and a real query through the
#                             proxy to a local DoT server
#   make cross-test-all       cross-test for every ARCH
#   make tiny-unit            the unit tests with TINY=1's feature switches
#   make bearssl-src          only fetch and unpack the BearSSL source
#   make static-bearssl       only build the static build's BearSSL
#
# TINY=1 adds -DDTP_TINY (the reduced build for small routers) and builds in
# its own tree. It also leaves out the optional features in TINY_WITHOUT
# (src/feature.h: the metrics endpoint, the zone-transfer relay, the answer
# cache, the query log and the resolver choice). Any
# router build leaves out more with WITHOUT (make static
# WITHOUT=-DDTP_NO_METRICS: how docs/router.md measures a feature's cost).
# Debian packages, beside those of the default build (ca_gen
# still uses the host's libbearssl-dev): xz-utils; musl-tools for static;
# gcc-<triplet> and libc6-dev-<arch>-cross for cross; qemu-user for
# cross-test; footprint and cross-test also use the integration tests'
# unbound, dig, openssl, python3 and iproute2, footprint dnsperf too.

.PHONY: static static-bearssl footprint cross cross-test cross-test-all bearssl-src tiny-unit

ROUTER_ARCHS := mips mipsel armhf arm64
ROUTER_TRIPLET_mips := mips-linux-gnu
ROUTER_TRIPLET_mipsel := mipsel-linux-gnu
ROUTER_TRIPLET_armhf := arm-linux-gnueabihf
ROUTER_TRIPLET_arm64 := aarch64-linux-gnu
ROUTER_QEMU_mips := qemu-mips
ROUTER_QEMU_mipsel := qemu-mipsel
ROUTER_QEMU_armhf := qemu-arm
ROUTER_QEMU_arm64 := qemu-aarch64

# The source package is fetched once (Debian archive only) and kept here.
BSSL_CACHE := build/bearssl-src
BSSL_TREE := $(BSSL_CACHE)/bearssl-0.6
UTHASH_H ?= /usr/include/uthash.h
# The host's tools, for ca_gen: it runs on the build machine whatever CC is.
ROUTER_HOSTCC := $(HOSTCC)

# Size: -Os, one section per function so the linker drops what nothing
# calls, no unwind tables (C, no exceptions: 17 KiB). Static, not PIE: a
# static PIE carries the dynamic linker's relocation code. No RELRO: only a
# dynamic linker applies it; in a static binary it is page padding. Without
# separate-code, text is not page-aligned apart from the headers (8 KiB);
# with a 64-byte common page size, data starts in the file right after text
# instead of at the next 4 KiB (the last page of text is mapped a second
# time as the first of data, the classic layout).
# 64-bit file offsets for 32-bit glibc (musl always has them): a log file may
# pass 2 GiB, and readdir fails with EOVERFLOW on 64-bit directory cookies
# (qemu-user on an x86_64 kernel).
# Link-time optimisation across our code and BearSSL (4.5 KiB; gcc-ar keeps
# the archive's LTO symbols visible), in one partition (a little smaller).
# Position-dependent code (-fno-pie; Debian's gcc makes PIE code by default,
# which a static non-PIE link does not need): 1.2 KiB on x86_64, more where
# PIC goes through a GOT (MIPS). TINY=1 compiles the proxy's own code and
# links with -Oz (GCC 12: size before speed; 2 KiB; a small router's load
# does not notice), BearSSL's objects are still compiled with -Os.
ROUTER_OPT_PROXY := $(if $(TINY),-Oz)
TINY_WITHOUT ?= -DDTP_NO_METRICS -DDTP_NO_XFR -DDTP_NO_CACHE -DDTP_NO_QLOG -DDTP_NO_SELECT
ROUTER_OPT := -Os -fno-pie -flto -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
              -fno-unwind-tables -D_FILE_OFFSET_BITS=64
# The proxy's own switches: BearSSL does not read them, so a build with
# other ones (WITHOUT=..., to measure a feature) keeps its BearSSL.
ROUTER_DEFS := $(if $(TINY),-DDTP_TINY $(TINY_WITHOUT),$(if $(CORE),$(TINY_WITHOUT))) $(WITHOUT)
ROUTER_LD := -static -no-pie -flto -flto-partition=one $(if $(TINY),-Oz,-Os) -Wl,--gc-sections -Wl,--build-id=none -Wl,-z,norelro \
             -Wl,-z,noseparate-code -Wl,-z,common-page-size=64
ROUTER_SUFFIX := $(if $(TINY),-tiny,$(if $(CORE),-core))

# $(call router_build,DIR,CC,AR,HARDEN,TARGETS[,PORT_EXTRA]): BearSSL for CC, then the
# top Makefile in DIR with CC. ca_gen is built first with the host's
# compiler and libbearssl, so the cross make finds it up to date. Objects
# are thrown away when the flags change (the top Makefile does not track
# flags; DIR/.flags does). Binaries are always relinked (they do not depend
# on the library file), each with a link map beside it (BINARY.map) for the
# footprint report.
define router_bearssl
	CC='$(2)' AR='$(3)' BEARSSL_CFLAGS='$(ROUTER_OPT)' \
	    port/bearssl-src.sh lib $(BSSL_TREE) $(1)/bearssl/libbearssl.a
endef
define router_build
	$(call router_bearssl,$(1),$(2),$(3))
	@mkdir -p $(1)/include
	@f='$(2) $(ROUTER_OPT) $(ROUTER_OPT_PROXY) $(ROUTER_DEFS) $(4) $(ROUTER_LD)'; [ "$$(cat $(1)/.flags 2>/dev/null)" = "$$f" ] || \
	    { echo "$(1): new flags, rebuilding"; rm -rf $(1)/src $(1)/port $(1)/ca_bundle.o; echo "$$f" >$(1)/.flags; }
	cmp -s $(UTHASH_H) $(1)/include/uthash.h || cp $(UTHASH_H) $(1)/include/uthash.h
	$(MAKE) --no-print-directory BUILD=$(1) CC='$(ROUTER_HOSTCC)' $(1)/ca_gen
	rm -f $(1)/dns-tls-proxy.full $(1)/run $(1)/fuzz-replay-*
	$(MAKE) --no-print-directory BUILD=$(1) BIN=$(1)/dns-tls-proxy.full RUNNER=$(1)/run \
	    CC='$(2)' HOSTCC='$(ROUTER_HOSTCC)' \
	    CFLAGS='$(ROUTER_OPT) $(ROUTER_OPT_PROXY) $(ROUTER_DEFS) -isystem $(BSSL_TREE)/inc -isystem $(1)/include' \
	    HARDEN='$(4)' HARDEN_LD='$(ROUTER_LD) -Wl,-Map=$$@.map' \
	    BEARSSL_LIBS='$(1)/bearssl/libbearssl.a' PORT_EXTRA='$(6)' $(5)
endef

bearssl-src: $(BSSL_TREE)/.complete
$(BSSL_TREE)/.complete:
	port/bearssl-src.sh fetch $(BSSL_CACHE)

# x86_64 with musl. musl has no _FORTIFY_SOURCE (its headers ignore it), so
# only the stack protector is asked for; musl's libc provides its canary.
# port/alloc.c replaces musl's malloc (12 KiB of code; the proxy allocates
# only at start-up): 12 KiB smaller, and calloc'd tables not touched until
# used. port/fmt.c replaces musl's printf family and the stdio the proxy
# uses (stdout, stderr; 10.5 KiB of code). A FILE of musl's must never meet
# one of port/fmt.c's, so the build fails when any of musl's stdio or
# printf is linked (a stdio call port/fmt.c lacks).
STATIC_DIR := build/static$(ROUTER_SUFFIX)
MUSL_STDIO := printf_core fmt_fp __stdio_write __stdout_write __towrite __overflow __fwritex \
              __lockfile __stdout_FILE __stderr_FILE __stdin_FILE
static: $(BSSL_TREE)/.complete
	$(call router_build,$(STATIC_DIR),musl-gcc,gcc-ar,-fstack-protector-strong,$(STATIC_DIR)/dns-tls-proxy.full,port/alloc.c port/fmt.c)
	@if nm $(STATIC_DIR)/dns-tls-proxy.full | awk '{ print $$NF }' | grep -Fx $(MUSL_STDIO:%=-e %); then \
	    echo "$(STATIC_DIR): musl's stdio is linked beside port/fmt.c (the symbols above): see the link map" >&2; \
	    rm -f $(STATIC_DIR)/dns-tls-proxy.full; exit 1; fi
	strip -R .comment -o $(STATIC_DIR)/dns-tls-proxy $(STATIC_DIR)/dns-tls-proxy.full
	@echo "$(STATIC_DIR)/dns-tls-proxy: $$(stat -c %s $(STATIC_DIR)/dns-tls-proxy) bytes, stripped"

# Only the static build's BearSSL: it needs nothing but this file, the top
# Makefile and port/bearssl-src.sh, so the Dockerfile builds it in a layer of
# its own that a change to the sources leaves alone.
static-bearssl: $(BSSL_TREE)/.complete
	$(call router_bearssl,$(STATIC_DIR),musl-gcc,gcc-ar)

# Size budgets (stripped, CA bundle included): TINY=1 150 KiB; the default
# build's code of issue 12 (the clock, X.509 and preset code beside the
# proxy: CORE=1, which leaves out the five optional features of issues
# 15-17) 160 KiB; the default build with every feature 192 KiB (their cost
# each: docs/router.md). FOOTPRINT_KIB overrides the budget of the build
# footprint.sh measures, FOOTPRINT_CORE_KIB the CORE=1 one.
footprint: static
	$(if $(TINY),,$(MAKE) --no-print-directory static CORE=1 && \
	    s=$$(stat -c %s build/static-core/dns-tls-proxy) b=$$(($${FOOTPRINT_CORE_KIB:-160} * 1024)) && \
	    if [ "$$s" -le "$$b" ]; then echo "ok - CORE=1 (no optional feature): $$s <= $$b bytes"; \
	    else echo "OVER: CORE=1 (no optional feature): $$s > $$b bytes" >&2; exit 1; fi)
	FOOTPRINT_KIB=$${FOOTPRINT_KIB:-$(if $(TINY),150,192)} tests/cross/footprint.sh $(STATIC_DIR)

# The unit tests built with TINY=1's switches (the host's compiler and
# libbearssl, in a tree of its own): each test passes, or is skipped with a
# line saying which left-out feature it needs.
TINY_UNIT_DIR := build/tiny-unit
TINY_UNIT_FLAGS := -O1 -g -DDTP_TINY $(TINY_WITHOUT) $(WITHOUT)
tiny-unit:
	@[ "$$(cat $(TINY_UNIT_DIR)/.flags 2>/dev/null)" = '$(TINY_UNIT_FLAGS)' ] || \
	    { rm -rf $(TINY_UNIT_DIR); mkdir -p $(TINY_UNIT_DIR); echo '$(TINY_UNIT_FLAGS)' >$(TINY_UNIT_DIR)/.flags; }
	$(MAKE) --no-print-directory BUILD=$(TINY_UNIT_DIR) BIN=$(TINY_UNIT_DIR)/dns-tls-proxy \
	    RUNNER=$(TINY_UNIT_DIR)/run CFLAGS='$(TINY_UNIT_FLAGS)' $(TINY_UNIT_DIR)/run
	$(TINY_UNIT_DIR)/run

# Cross builds: Debian's cross compilers with their static glibc (qemu-user
# runs them without a target root file system).
ARCH ?=
CROSS_DIR = build/cross/$(ARCH)$(ROUTER_SUFFIX)
CROSS_TRIPLET = $(ROUTER_TRIPLET_$(ARCH))
cross: $(BSSL_TREE)/.complete
	@test -n "$(CROSS_TRIPLET)" || { echo "ARCH must be one of: $(ROUTER_ARCHS)" >&2; exit 2; }
	$(call router_build,$(CROSS_DIR),$(CROSS_TRIPLET)-gcc,$(CROSS_TRIPLET)-gcc-ar,-fstack-protector-strong -D_FORTIFY_SOURCE=2,$(CROSS_DIR)/dns-tls-proxy.full $(CROSS_DIR)/run $(FUZZ_TARGETS:%=$(CROSS_DIR)/fuzz-replay-%))
	$(CROSS_TRIPLET)-strip -R .comment -o $(CROSS_DIR)/dns-tls-proxy $(CROSS_DIR)/dns-tls-proxy.full

cross-test: cross
	tests/cross/cross-test.sh $(ARCH) $(CROSS_DIR) $(ROUTER_QEMU_$(ARCH))

cross-test-all:
	set -e; for a in $(ROUTER_ARCHS); do $(MAKE) --no-print-directory cross-test ARCH=$$a; done
