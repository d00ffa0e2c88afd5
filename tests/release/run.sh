#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Release metadata and deployment files, checked (make release-test, part of
# make test):
#   spdx      every file the project wrote starts with an
#             SPDX-License-Identifier line (after a shebang): all tracked
#             files but the fuzz corpus, certs/*.pem, *.md, LICENSE and the
#             OpenWrt transcripts (tests/openwrt/expected/*.out);
#   version   src/version.h's version is the one --version prints, the
#             installed man page's, openwrt/Makefile's PKG_VERSION, the
#             container label, the Kubernetes manifest's image tag and
#             NEWS.md's first entry;
#   systemd   the unit as installed passes `systemd-analyze verify` with no
#             message (its ExecStart and man page installed where it says);
#   man       the man page as installed: `mandoc -T lint -W warning` and
#             `groff -mdoc -ww -z` print nothing;
#   k8s       port/dist/k8s-daemonset.yaml against the API's schema and the
#             proxy (tests/release/k8s-schema.py);
#   dist      `make dist`: reproducible, exactly the tracked files, and its
#             unpacked tree builds and passes the unit tests without git
#             (tests/release/dist.sh; needs the git checkout).
#
#   tests/release/run.sh [CHECK...]    PROXY=binary (default ./dns-tls-proxy)
# Needs: systemd (systemd-analyze), man-db, mandoc, groff-base, python3-yaml,
# and for dist git and what `make unit` needs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROXY=${PROXY:-$ROOT/dns-tls-proxy}
W=$(mktemp -d "${TMPDIR:-/tmp}/dtp-release.XXXXXX")
trap 'rm -rf "$W"' EXIT
passed=0 failed=0 skipped=0
skip() {
	skipped=$((skipped + 1))
	echo "skip  $*"
}
ok() {
	passed=$((passed + 1))
	echo "ok    $*"
}
notok() {
	failed=$((failed + 1))
	echo "FAIL  $*"
}
# make as a user runs it, not with the variables of the make around us.
cleanmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }
need() { # TOOL PACKAGE: fail the check when TOOL is missing
	command -v "$1" >/dev/null 2>&1 && return 0
	notok "$1 is not installed (apt-get install $2)"
	return 1
}
ver=$(sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' "$ROOT/src/version.h")
cd "$ROOT" || exit 1

# The project's own files: the tracked ones (every file, in a tree without
# git, e.g. an unpacked release tarball).
own_files() {
	if [[ -e .git ]] && git ls-files >"$W/files" 2>/dev/null; then
		:
	else
		find . -type f ! -path './build*' ! -path './.git/*' ! -name dns-tls-proxy \
			! -path './tests/run' ! -name '*.o' | sed 's|^\./||' | sort >"$W/files"
	fi
	grep -v -e '^tests/fuzz/corpus/' -e '^certs/.*\.pem$' -e '\.md$' -e '^LICENSE$' \
		-e '^tests/openwrt/expected/.*\.out$' "$W/files"
}

check_spdx() {
	local f line missing=() n=0
	while IFS= read -r f; do
		n=$((n + 1))
		line=$(head -n 1 -- "$f")
		[[ $line == '#!'* ]] && line=$(sed -n 2p -- "$f")
		[[ $line == *'SPDX-License-Identifier: MIT'* ]] || missing+=("$f")
	done < <(own_files)
	if ((${#missing[@]} == 0 && n > 0)); then
		ok "spdx: all $n files start with SPDX-License-Identifier: MIT"
	else
		notok "spdx: no SPDX-License-Identifier: MIT line at the top (after a shebang) of: ${missing[*]}"
	fi
}

same() { # WHAT HAVE WANT
	if [[ $2 == "$3" ]]; then ok "version: $1 $2"; else notok "version: $1 '$2', not $3 (src/version.h)"; fi
}

check_version() {
	[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || notok "version: src/version.h's '$ver' is not MAJOR.MINOR.PATCH"
	same "--version's first line" "$("$PROXY" --version 2>&1 | head -n 1)" "dns-tls-proxy $ver"
	cleanmake -s install DESTDIR="$W/v" PREFIX=/usr >"$W/install.log" 2>&1 || cat "$W/install.log"
	same "the installed man page's .Os" "$(sed -n 's/^\.Os //p' "$W/v/usr/share/man/man8/dns-tls-proxy.8" 2>/dev/null)" \
		"dns-tls-proxy $ver"
	same "openwrt/Makefile PKG_VERSION" "$(sed -n 's/^PKG_VERSION:=//p' openwrt/Makefile)" "$ver"
	same "the Dockerfile's label org.opencontainers.image.version" \
		"$(sed -n 's/.*org\.opencontainers\.image\.version="\([^"]*\)".*/\1/p' Dockerfile)" "$ver"
	same "the Kubernetes manifest's image tag" \
		"$(sed -n 's/^ *image: *dns-tls-proxy:\([^ ]*\).*/\1/p' port/dist/k8s-daemonset.yaml)" "$ver"
	same "NEWS.md's first entry" "$(sed -n 's/^## \([^ ]*\).*/\1/p' NEWS.md 2>/dev/null | head -n 1)" "$ver"
}

# Installed under a scratch PREFIX (not DESTDIR), so that the unit's
# ExecStart= names a binary that is there and man finds the page.
install_scratch() {
	[[ -d $W/p ]] && return 0
	cleanmake -s install PREFIX="$W/p/usr" SYSTEMDUNITDIR="$W/p/units" >"$W/install2.log" 2>&1 ||
		{ cat "$W/install2.log"; return 1; }
}

check_systemd() {
	need systemd-analyze systemd || return
	need man man-db || return
	install_scratch || { notok "systemd: make install failed"; return; }
	local out
	out=$(MANPATH="$W/p/usr/share/man" SYSTEMD_LOG_LEVEL=notice systemd-analyze verify \
		"$W/p/units/dns-tls-proxy.service" 2>&1)
	local rc=$?
	if ((rc == 0)) && [[ -z $out ]]; then
		ok "systemd: systemd-analyze verify dns-tls-proxy.service: no message"
	else
		notok "systemd: systemd-analyze verify (exit $rc): $out"
	fi
}

check_man() {
	need mandoc mandoc || return
	need groff groff-base || return
	install_scratch || { notok "man: make install failed"; return; }
	local page=$W/p/usr/share/man/man8/dns-tls-proxy.8 out
	for f in port/dist/dns-tls-proxy.8 "$page"; do
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		if [[ $? == 0 && -z $out ]]; then
			ok "man: mandoc -T lint -W warning ${f#"$W"/p/}: clean"
		else
			notok "man: mandoc -T lint -W warning $f: $out"
		fi
	done
	out=$(groff -mdoc -ww -z "$page" 2>&1)
	if [[ $? == 0 && -z $out ]]; then ok "man: groff -mdoc -ww -z: clean"; else notok "man: groff -mdoc -ww -z: $out"; fi
}

check_k8s() {
	need python3 python3 || return
	python3 -c 'import yaml' 2>/dev/null || { notok "k8s: python3 has no yaml module (apt-get install python3-yaml)"; return; }
	local out
	if out=$(python3 tests/release/k8s-schema.py port/dist/k8s-daemonset.yaml "$PROXY" 2>&1); then
		ok "k8s: $out"
	else
		notok "k8s: $out"
	fi
}

check_dist() {
	if [[ ! -e .git ]]; then
		skip "dist: not a git checkout (make dist needs one)"
		return
	fi
	local out
	if out=$(bash tests/release/dist.sh 2>&1); then
		ok "$(tail -n 1 <<<"$out")"
	else
		notok "dist:"
		printf '%s\n' "$out" | sed 's/^/  | /'
	fi
}

checks=("$@")
((${#checks[@]})) || checks=(spdx version systemd man k8s dist)
[[ -x $PROXY ]] || { echo "release: $PROXY is not built (make)"; exit 2; }
for c in "${checks[@]}"; do
	"check_$c"
done
echo "release: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
