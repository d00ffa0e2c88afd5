#!/bin/sh
# SPDX-License-Identifier: MIT
# BearSSL from Debian's own source package, for builds that cannot use the
# host's libbearssl.a (musl, cross compilers). No root and no deb-src line in
# /etc/apt are needed: apt runs on a private configuration whose index and
# cache live under the cache directory. The download happens once; the
# upstream tarball is checked against the hash below before it is unpacked.
#
#   bearssl-src.sh fetch DIR       unpack the source tree into DIR/bearssl-0.6
#   bearssl-src.sh lib SRC OUT.a   build OUT.a from the tree SRC with $CC,
#                                  $AR and $BEARSSL_CFLAGS (default -Os)
#
# The library is every src/*/*.c compiled with the given compiler; BearSSL's
# own build system (conf/*.mk) would do the same with more set-up. Unused
# modules cost nothing: the linker takes only the objects the proxy calls.
set -eu
export LC_ALL=C # file order, hence the archive, independent of the locale

VERSION=0.6
ORIG=bearssl_0.6+dfsg.1.orig.tar.xz
ORIG_SHA256=102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004
SUITE=${BEARSSL_SUITE:-bookworm}
MIRROR=${BEARSSL_MIRROR:-http://deb.debian.org/debian}

die() {
	printf 'bearssl-src.sh: %s\n' "$*" >&2
	exit 1
}

sha256_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# fetch DIR: DIR/$ORIG (downloaded once), then DIR/bearssl-$VERSION.
fetch() {
	dir=$1
	tree=$dir/bearssl-$VERSION
	[ -f "$tree/.complete" ] && return 0
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	tree=$dir/bearssl-$VERSION
	if [ ! -f "$dir/$ORIG" ]; then
		apt_dir=$dir/apt
		mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/dl"
		cat >"$apt_dir/src.sources" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
		# Dir::State::status: an empty dpkg status, so nothing of the host's
		# apt state is read or written.
		: >"$apt_dir/status"
		set -- -q -o "Dir::Etc::SourceList=$apt_dir/src.sources" \
			-o Dir::Etc::SourceParts=/dev/null \
			-o "Dir::State::Lists=$apt_dir/lists" \
			-o "Dir::State::status=$apt_dir/status" \
			-o "Dir::Cache=$apt_dir/cache" \
			-o "APT::Sandbox::User=$(id -un)"
		printf 'bearssl-src.sh: fetching the bearssl source package from %s %s\n' \
			"$MIRROR" "$SUITE" >&2
		apt-get "$@" update >"$apt_dir/update.log" 2>&1 ||
			{ cat "$apt_dir/update.log" >&2; die "apt-get update (deb-src $SUITE) failed"; }
		(cd "$apt_dir/dl" && apt-get "$@" source --download-only bearssl) \
			>"$apt_dir/source.log" 2>&1 ||
			{ cat "$apt_dir/source.log" >&2; die "apt-get source bearssl failed"; }
		[ -f "$apt_dir/dl/$ORIG" ] ||
			die "the source package has no $ORIG (a new upstream version? update VERSION and ORIG_SHA256)"
		mv "$apt_dir/dl/$ORIG" "$dir/$ORIG"
		# The index is 20 MB and no longer needed.
		rm -rf "$apt_dir"
	fi
	got=$(sha256_of "$dir/$ORIG")
	[ "$got" = "$ORIG_SHA256" ] ||
		die "$dir/$ORIG: sha256 $got, expected $ORIG_SHA256"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xJf "$dir/$ORIG" -C "$tree.tmp" --strip-components=1
	: >"$tree.tmp/.complete"
	mv "$tree.tmp" "$tree"
}

# lib SRC OUT.a: compile every module with $CC into OUT.a's directory.
# Nothing is done when OUT.a exists and was built from the same tree with
# the same compiler and flags (OUT.a.flags says with what).
lib() {
	src=$1 out=$2
	[ -f "$src/inc/bearssl.h" ] || die "$src is not a BearSSL source tree"
	cc=${CC:-cc} ar=${AR:-ar}
	cflags=${BEARSSL_CFLAGS:--Os}
	mkdir -p "$(dirname "$out")"
	out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
	stamp="$ORIG_SHA256 $cc $ar $cflags"
	if [ -f "$out" ] && [ "$(cat "$out.flags" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	printf 'bearssl-src.sh: building %s with %s %s\n' "$out" "$cc" "$cflags" >&2
	objdir=${out%.a}.obj
	rm -rf "$objdir" "$out" "$out.flags"
	mkdir -p "$objdir"
	# One object per source file, named after its path (names are unique).
	# shellcheck disable=SC2016  # the inner script expands its own variables
	(cd "$src/src" && find . -name '*.c' | sort) |
		sed 's|^\./||' |
		CC=$cc CFLAGS=$cflags SRC=$src OBJDIR=$objdir \
			xargs -P "$(nproc 2>/dev/null || echo 2)" -n 8 sh -c '
			for f; do
				o=$OBJDIR/$(printf %s "$f" | tr / _ | sed "s/\.c\$/.o/")
				# shellcheck disable=SC2086
				$CC $CFLAGS -I"$SRC/inc" -I"$SRC/src" -c -o "$o" "$SRC/src/$f" || exit 255
			done' sh ||
		die "compiling BearSSL with $cc failed"
	(cd "$objdir" && $ar rcs "$out.tmp" ./*.o) || die "$ar failed"
	rm -rf "$objdir"
	mv "$out.tmp" "$out"
	printf '%s\n' "$stamp" >"$out.flags"
}

case ${1:-} in
fetch) [ $# -eq 2 ] || die "usage: bearssl-src.sh fetch DIR"; fetch "$2" ;;
lib) [ $# -eq 3 ] || die "usage: bearssl-src.sh lib SRC OUT.a"; lib "$2" "$3" ;;
*) die "usage: bearssl-src.sh fetch DIR | lib SRC OUT.a" ;;
esac
