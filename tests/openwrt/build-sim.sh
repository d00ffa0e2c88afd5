#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs openwrt/Makefile's own recipes (Build/Prepare, Build/Compile,
# Package/dns-tls-proxy/install) with GNU make against a stand-in for
# OpenWrt's rules.mk and package.mk (tests/openwrt/sim/), with musl-gcc as
# the target compiler when it is installed (apt-get install musl-tools).
# It then checks the installed tree: file paths and modes, a binary that
# needs nothing but libc, that answers --version and --check, and that the
# package fields are as OpenWrt expects.
#
# The two extra sources come from Debian here, repacked as the file names
# the Makefile downloads: BearSSL 0.6 from `apt-get source bearssl` (the
# same code, less a prebuilt T0Comp.exe), uthash.h from uthash-dev. So the
# HASH fields are checked for form only, not against these files.
# Exit 77 (skip) when BearSSL's source cannot be had.
#
#   tests/openwrt/build-sim.sh        (from the repository root; ~1 minute)
# shellcheck disable=SC3043
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$ROOT/tests/openwrt/sim
OUT=${SIM_OUT:-$ROOT/build/openwrt-sim}
DL=$OUT/dl
mkdir -p "$DL"
fail() { echo "build-sim: FAIL: $*"; exit 1; }

# --- the extra sources -------------------------------------------------------
if [ ! -f "$DL/bearssl-0.6.tar.gz" ]; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp/parts" "$tmp/lists/partial"
	printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
		'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
		>"$tmp/parts/src.sources"
	apt_o="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$tmp/parts -o Dir::State::Lists=$tmp/lists"
	# shellcheck disable=SC2086
	if (cd "$tmp" && apt-get $apt_o update >/dev/null 2>&1 &&
		apt-get $apt_o source --download-only bearssl >/dev/null 2>&1); then
		for orig in "$tmp"/bearssl_*.orig.tar.*; do :; done
		if ! { mkdir -p "$tmp/x" && tar -C "$tmp/x" -xf "$orig" &&
			tar -C "$tmp/x" -czf "$DL/bearssl-0.6.tar.gz" bearssl-0.6; }; then
			fail "could not repack $orig"
		fi
	else
		rm -rf "$tmp"
		echo "build-sim: SKIP: no BearSSL source (apt-get source bearssl failed)"
		exit 77
	fi
	rm -rf "$tmp"
fi
if [ ! -f "$DL/uthash-2.3.0.tar.gz" ]; then
	[ -f /usr/include/uthash.h ] || { echo "build-sim: SKIP: no /usr/include/uthash.h (uthash-dev)"; exit 77; }
	tmp=$(mktemp -d)
	if ! { mkdir -p "$tmp/uthash-2.3.0/src" && cp /usr/include/ut*.h "$tmp/uthash-2.3.0/src/" &&
		tar -C "$tmp" -czf "$DL/uthash-2.3.0.tar.gz" uthash-2.3.0; }; then
		fail "could not pack uthash"
	fi
	rm -rf "$tmp"
fi

# --- the package's recipes ---------------------------------------------------
simmake() {
	make --no-print-directory -C "$ROOT/openwrt" TOPDIR="$SIM" SIM_OUT="$OUT" "$@"
}
log=$OUT/build.log
echo "build-sim: compiling (log: $log)"
if ! simmake compile >"$log" 2>&1; then
	tail -n 30 "$log"
	fail "make compile"
fi
simmake install >>"$log" 2>&1 || { tail -n 20 "$log"; fail "make install"; }

# --- what got installed ------------------------------------------------------
I=$OUT/ipkg
checks=0
check() { # DESCRIPTION COMMAND...
	local what="$1"
	shift
	checks=$((checks + 1))
	"$@" || fail "$what"
}
mode() { stat -c %a "$I/$1"; }
check "binary installed 0755" [ "$(mode usr/sbin/dns-tls-proxy)" = 755 ]
check "init script installed 0755" [ "$(mode etc/init.d/dns-tls-proxy)" = 755 ]
check "config installed 0600" [ "$(mode etc/config/dns-tls-proxy)" = 600 ]
check "hotplug script installed" [ "$(mode etc/hotplug.d/iface/90-dns-tls-proxy)" = 644 ]
check "library installed" [ "$(mode lib/functions/dns-tls-proxy.sh)" = 644 ]
check "sysupgrade keeps the time file" grep -qx /etc/dns-tls-proxy.time "$I/lib/upgrade/keep.d/dns-tls-proxy"
check "init script is the package's" cmp -s "$I/etc/init.d/dns-tls-proxy" "$ROOT/openwrt/files/dns-tls-proxy.init"
check "config is the package's" cmp -s "$I/etc/config/dns-tls-proxy" "$ROOT/openwrt/files/dns-tls-proxy.config"

bin=$I/usr/sbin/dns-tls-proxy
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "build-sim: $(file -b "$bin" | cut -d, -f1-2); NEEDED: ${needed:-none}"
check "nothing but libc needed (NEEDED: $needed)" sh -c "echo '$needed' | grep -Eqv 'ssl|bearssl|crypto'"
for lib in $needed; do
	check "only libc needed, not $lib" sh -c "case '$lib' in libc.so*|libc.musl*) ;; *) false ;; esac"
done
check "BearSSL linked in statically" sh -c "nm '$bin' | grep -q ' T br_ssl_engine_'"
ver=$(sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' "$ROOT/src/version.h")
check "--version says $ver" sh -c "env -i '$bin' --version 2>&1 | grep -q '$ver'"
check "--check of the defaults" sh -c "env -i '$bin' --check | grep -q '^# configuration OK'"
check "12 compiled-in roots" sh -c "env -i '$bin' --check | grep -q 'trust anchors: 12 from the compiled-in bundle'"

meta=$(simmake metadata)
for want in SECTION=net CATEGORY=Network DEPENDS= "PKG_VERSION=$ver" conffiles=/etc/config/dns-tls-proxy; do
	check "package field $want" sh -c "printf '%s\n' \"\$1\" | grep -qx '$want'" sh "$meta"
done
cc=$(sed -n 's/.*BUILD=build-target CC="\([^"]*\)".*/\1/p' "$log" | head -n 1)
echo "build-sim: $checks checks passed (target compiler: $cc)"
echo "$checks passed, 0 failed"
