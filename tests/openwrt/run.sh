#!/bin/sh
# SPDX-License-Identifier: MIT
# The OpenWrt package's scripts, tested here without OpenWrt:
#   1. openwrt/Makefile agrees with the top-level Makefile
#      (package-check.sh: versions, the sources Build/Prepare copies and what
#      they build, the install paths);
#   2. `sh -n` (dash, busybox ash) and shellcheck on the init script, the
#      library and the hotplug script (and on these test scripts);
#   3. each case in cases/ under dash and busybox ash, with the stand-ins of
#      harness.sh: the transcript (procd command lines, uci calls on dhcp,
#      log lines, dnsmasq restarts) must equal expected/CASE.out exactly;
#   4. every command line a case produced, run through the real proxy's
#      --check (start_service already does so too).
#
#   tests/openwrt/run.sh [CASE...]    from anywhere; a few seconds
#   UPDATE=1 tests/openwrt/run.sh     rewrite expected/ from what runs (review the diff!)
# Needs: dash, shellcheck, busybox (each step without its tool is skipped, and
# counted as such), and the proxy (PROXY=path, else ./dns-tls-proxy, built
# with make when missing).
# shellcheck disable=SC3043
set -u
TESTDIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$TESTDIR/../.." && pwd)
FILES="$ROOT/openwrt/files"
SCRIPTS="$FILES/dns-tls-proxy.init $FILES/dns-tls-proxy.sh $FILES/dns-tls-proxy.hotplug"
TESTSCRIPTS="$TESTDIR/run.sh $TESTDIR/run-case.sh $TESTDIR/harness.sh $TESTDIR/build-sim.sh $TESTDIR/package-check.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
notok() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "skip  $*"; }

BIN="${PROXY:-$ROOT/dns-tls-proxy}"
if [ ! -x "$BIN" ]; then
	echo "building $BIN"
	make -s -C "$ROOT" >"$WORK/make.log" 2>&1 || { cat "$WORK/make.log"; echo "cannot build the proxy"; exit 1; }
fi
export BIN

# 1. the package's Makefile against the top-level one
if PROXY="$BIN" sh "$TESTDIR/package-check.sh" >"$WORK/pkg" 2>&1; then
	ok "openwrt/Makefile agrees with the top-level Makefile ($(tail -n 1 "$WORK/pkg"))"
else
	sed 's/^/  | /' "$WORK/pkg"
	notok "openwrt/Makefile disagrees with the top-level Makefile (package-check.sh, above)"
fi

# 2. syntax and lint
SHELLS=''
command -v dash >/dev/null 2>&1 && SHELLS="dash"
if command -v busybox >/dev/null 2>&1 && busybox ash -c 'f() { local x=1; }; f' 2>/dev/null; then
	SHELLS="$SHELLS busybox_ash"
fi
[ -n "$SHELLS" ] || SHELLS="sh"
run_shell() { # NAME ARGS...: run a shell by the names used above
	local sh="$1"
	shift
	case "$sh" in
		busybox_ash) busybox ash "$@" ;;
		*) "$sh" "$@" ;;
	esac
}
for sh in dash busybox_ash; do
	case " $SHELLS " in
		*" $sh "*) ;;
		*) skip "sh -n under $sh (not installed)"; continue ;;
	esac
	for f in $SCRIPTS $TESTSCRIPTS; do
		if run_shell "$sh" -n "$f" 2>"$WORK/err"; then ok "$sh -n ${f#"$ROOT"/}"; else notok "$sh -n ${f#"$ROOT"/}: $(cat "$WORK/err")"; fi
	done
done
if command -v shellcheck >/dev/null 2>&1; then
	# -s sh: POSIX; `local` (busybox ash has it) is allowed by a directive in
	# each file. -x follows the library from the init and hotplug scripts.
	for f in $SCRIPTS $TESTSCRIPTS; do
		if (cd "$(dirname "$f")" && shellcheck -s sh -x -P SCRIPTDIR "$(basename "$f")") >"$WORK/sc" 2>&1; then
			ok "shellcheck ${f#"$ROOT"/}"
		else
			notok "shellcheck ${f#"$ROOT"/}"
			cat "$WORK/sc"
		fi
	done
else
	skip "shellcheck (not installed: apt-get install shellcheck)"
fi

# 3. cases
CASES="$*"
if [ -z "$CASES" ]; then
	for c in "$TESTDIR"/cases/*.sh; do
		c="${c##*/}"
		CASES="$CASES ${c%.sh}"
	done
fi
first=''
for sh in $SHELLS; do
	for c in $CASES; do
		t="$WORK/$c.$sh"
		run_shell "$sh" "$TESTDIR/run-case.sh" "$TESTDIR/cases/$c.sh" "$t" >"$t.stdout" 2>&1
		# the proxy's path and the repository's, as they would read on a router
		sed -e "s|$BIN|/usr/sbin/dns-tls-proxy|g" -e "s|$ROOT|@ROOT@|g" "$t" >"$t.out"
		if [ -s "$t.stdout" ]; then
			echo "  (stray output from case $c under $sh:)"
			sed 's/^/  | /' "$t.stdout"
			echo "  (stray output ends)" >>"$t.out"
		fi
		exp="$TESTDIR/expected/$c.out"
		if [ "${UPDATE:-}" = 1 ] && [ -z "$first" ]; then
			cp "$t.out" "$exp"
		fi
		if [ ! -f "$exp" ]; then
			notok "case $c under $sh: no expected/$c.out (UPDATE=1 writes it)"
		elif diff -u "$exp" "$t.out" >"$t.diff"; then
			ok "case $c under $sh"
		else
			notok "case $c under $sh: transcript differs from expected/$c.out:"
			cat "$t.diff"
		fi
	done
	first=1
done

# 4. the command lines through the real proxy
# shellcheck disable=SC2086
set -- $SHELLS
sh1="$1"
for c in $CASES; do
	for argv in "$WORK/$c.$sh1".argv.*; do
		[ -f "$argv" ] || continue
		set --
		while IFS= read -r a; do set -- "$@" "$a"; done <"$argv"
		n=0
		for a in "$@"; do [ "$a" = -n ] && n=$((n + 1)); done
		if env -i "$BIN" "$@" --check >"$WORK/check" 2>&1 &&
			grep -q '^# configuration OK' "$WORK/check" &&
			[ "$(grep -c '^nameserver ' "$WORK/check")" -ge "$n" ]; then
			# (a preset's -n stands for several nameservers)
			ok "--check accepts case $c's command line (instance ${argv##*.}, $n -n options)"
		else
			notok "--check on case $c's command line (instance ${argv##*.}): $*"
			sed 's/^/  | /' "$WORK/check"
		fi
	done
done

echo "openwrt: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
