#!/bin/sh
# SPDX-License-Identifier: MIT
# openwrt/Makefile against the top-level Makefile, without an OpenWrt SDK: its
# own recipes run with GNU make against the stand-ins in tests/openwrt/sim/.
#   1. version: PKG_VERSION is src/version.h's; BEARSSL_VERSION is the one
#      the static and cross builds use (port/bearssl-src.sh), UTHASH_VERSION
#      the uthash.h the other builds use (when /usr/include/uthash.h is there);
#   2. sources: Build/Prepare (run for real, with empty stand-ins for the two
#      downloads) copies every tracked file outside openwrt/, the licence
#      files PKG_LICENSE_FILES names, and in the copy the targets Build/Compile
#      asks for build exactly what they build in the repository (`make -n -B`);
#   3. install paths: Package/install (run for real on the proxy as built)
#      installs the binary where `make install PREFIX=/usr` does, every file
#      of openwrt/files, and every path the scripts run or source.
# Called by tests/openwrt/run.sh; about a second. PROXY=path (the binary put
# where Build/Compile leaves it), else ./dns-tls-proxy.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$ROOT/tests/openwrt/sim
MK=$ROOT/openwrt/Makefile
BIN=${PROXY:-$ROOT/dns-tls-proxy}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
notok() { failed=$((failed + 1)); echo "FAIL  $*"; }
check() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds
	what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}
# make as a user would run it: not with the variables of a make or test
# runner around us (make asan passes BUILD=, BIN=, CC=, ... in MAKEFLAGS).
cleanmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BIN -u BUILD -u RUNNER -u CC -u CFLAGS \
		-u CPPFLAGS -u LDFLAGS -u PORT -u PREFIX -u SOURCE_DATE_EPOCH make "$@"
}
simmake() {
	cleanmake --no-print-directory -C "$ROOT/openwrt" TOPDIR="$SIM" SIM_OUT="$OUT" "$@"
}
mkvar() { sed -n "s/^$1:=//p" "$MK"; }
has_word() { case " $2 " in *" $1 "*) ;; *) false ;; esac; }
is_exec() { [ -n "$1" ] && [ -x "$2" ]; }

# 1. versions
meta=$(simmake metadata) || { echo "FAIL  make metadata"; exit 1; }
field() { printf '%s\n' "$meta" | sed -n "s/^$1=//p"; }
ver=$(sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' "$ROOT/src/version.h")
check "PKG_VERSION $(field PKG_VERSION) = src/version.h $ver" [ "$(field PKG_VERSION)" = "$ver" ]
bssl=$(sed -n 's/^VERSION=//p' "$ROOT/port/bearssl-src.sh")
check "BEARSSL_VERSION $(mkvar BEARSSL_VERSION) = port/bearssl-src.sh's $bssl" [ "$(mkvar BEARSSL_VERSION)" = "$bssl" ]
if [ -f /usr/include/uthash.h ]; then
	ut=$(sed -n 's/^#define UTHASH_VERSION *//p' /usr/include/uthash.h)
	check "UTHASH_VERSION $(mkvar UTHASH_VERSION) = /usr/include/uthash.h's $ut" [ "$(mkvar UTHASH_VERSION)" = "$ut" ]
fi

# 2. Build/Prepare, with empty trees for the downloads
mkdir -p "$OUT/dl" "$OUT/stub/bearssl-$(mkvar BEARSSL_VERSION)" "$OUT/stub/uthash-$(mkvar UTHASH_VERSION)"
tar -C "$OUT/stub" -czf "$OUT/dl/$(mkvar BEARSSL_VERSION | sed 's/^/bearssl-/').tar.gz" "bearssl-$(mkvar BEARSSL_VERSION)"
tar -C "$OUT/stub" -czf "$OUT/dl/$(mkvar UTHASH_VERSION | sed 's/^/uthash-/').tar.gz" "uthash-$(mkvar UTHASH_VERSION)"
B=$(field PKG_BUILD_DIR)
if ! simmake prepare >"$OUT/prepare.log" 2>&1; then
	cat "$OUT/prepare.log"
	echo "FAIL  Build/Prepare"
	exit 1
fi
if [ -e "$ROOT/.git" ] && git -C "$ROOT" ls-files >"$OUT/tracked" 2>/dev/null; then
	missing=$(grep -v '^openwrt/' "$OUT/tracked" | while IFS= read -r f; do [ -e "$B/$f" ] || printf '%s ' "$f"; done)
	check "Build/Prepare copies every tracked file outside openwrt/${missing:+ (missing: $missing)}" [ -z "$missing" ]
fi
for f in $(field PKG_LICENSE_FILES); do
	check "PKG_LICENSE_FILES: $f is in the build directory" [ -f "$B/$f" ]
done
check "PKG_LICENSE names MIT (LICENSE)" has_word MIT "$(field PKG_LICENSE)"
targets=$(sed -n '/^define Build\/Compile/,/^endef/p' "$MK" | awk '/DTP_MAKE\)/ { getline; print $NF }' | tr '\n' ' ')
targets=${targets% }
check "Build/Compile builds the CA generator, then the proxy ($targets)" [ "$targets" = "build/ca_gen dns-tls-proxy" ]
: >"$OUT/top.n"
: >"$OUT/copy.n"
# shellcheck disable=SC2086
{
	cleanmake -n -B -C "$ROOT" SOURCE_DATE_EPOCH=1 $targets >"$OUT/top.n" 2>&1 &&
		cleanmake -n -B -C "$B" SOURCE_DATE_EPOCH=1 $targets >"$OUT/copy.n" 2>&1
} || cat "$OUT/top.n" "$OUT/copy.n"
sed -i '/^make\(\[[0-9]*\]\)\?: \(Entering\|Leaving\)/d' "$OUT/top.n" "$OUT/copy.n"
if grep -q -- '-o dns-tls-proxy ' "$OUT/copy.n" && diff -u "$OUT/top.n" "$OUT/copy.n" >"$OUT/n.diff"; then
	ok "in the copy, make $targets runs what it runs in the repository ($(grep -c '^' "$OUT/top.n") commands)"
else
	notok "in the copy, make $targets differs from the repository's:"
	cat "$OUT/n.diff"
fi

# 3. Package/install on the binary as built
cp "$BIN" "$B/dns-tls-proxy"
if ! simmake install >"$OUT/install.log" 2>&1; then
	cat "$OUT/install.log"
	echo "FAIL  Package/dns-tls-proxy/install"
	exit 1
fi
I=$OUT/ipkg
topbin=$(cleanmake -n -C "$ROOT" install PREFIX=/usr DESTDIR=/D 2>/dev/null |
	sed -n 's|^install -D -m 0755 [^ ]* /D\(/.*\)$|\1|p')
check "the binary at $topbin, as make install PREFIX=/usr puts it" is_exec "$topbin" "$I$topbin"
prog=$(sed -n 's/^DTP_PROG=//p' "$ROOT/openwrt/files/dns-tls-proxy.sh")
check "the scripts run $prog, the installed binary" [ "$prog" = "$topbin" ]
for f in "$ROOT"/openwrt/files/*; do
	found=$(find "$I" -type f -exec cmp -s "$f" {} \; -print | sed "s|^$I||")
	check "openwrt/files/${f##*/} installed${found:+ as $found}" [ -n "$found" ]
done
# Paths the scripts source (`. /path` or `. "${IPKG_INSTROOT}/path"`);
# /lib/functions.sh is OpenWrt's own.
# shellcheck disable=SC2016
sed -n 's|^[[:space:]]*\. "\{0,1\}\(${IPKG_INSTROOT}\)\{0,1\}\(/[^" ]*\)"\{0,1\}$|\2|p' "$ROOT"/openwrt/files/* |
	sort -u | grep -vx /lib/functions.sh >"$OUT/sourced"
check "the scripts source $(tr '\n' ' ' <"$OUT/sourced")" [ -s "$OUT/sourced" ]
while IFS= read -r p; do
	check "$p, which a script sources, is installed" [ -f "$I$p" ]
done <"$OUT/sourced"
name=$(mkvar PKG_NAME)
check "/etc/init.d/$name (the library calls /etc/init.d/\$DTP_NAME) is installed" [ -x "$I/etc/init.d/$name" ]
check "/etc/config/$name, the config, is installed" [ -f "$I/etc/config/$name" ]
check "/etc/config/$name is the conffile" [ "$(field conffiles)" = "/etc/config/$name" ]

echo "package-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
