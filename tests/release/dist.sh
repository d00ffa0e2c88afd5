#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make dist, checked (tests/release/run.sh dist, part of make test):
#   1. two runs under a different umask, time zone and output directory give
#      the same bytes, and the .sha256 beside the tarball verifies it;
#   2. the tarball holds exactly the files of HEAD under dns-tls-proxy-VERSION/,
#      their modes as git records them, owned by root (0/0), every mtime the
#      commit's time; the gzip header carries no name and no time;
#   3. unpacked where there is no git history (and with a `git` on PATH that
#      fails and tells), `make unit` builds and passes, and the certificate-
#      time floor it compiled in is the commit's time, not the time of the
#      build.
# Needs the git checkout; about a minute (the unit build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/dtp-dist.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() {
	echo "dist: FAIL: $*"
	exit 1
}
cleanmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SOURCE_DATE_EPOCH make "$@"; }
cd "$ROOT"
[[ -e .git ]] || fail "not a git checkout"
ct=$(git log -1 --format=%ct HEAD)
v=$(git show HEAD:src/version.h | sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p')
n=dns-tls-proxy-$v

# 1. reproducible
(umask 022 && TZ=UTC cleanmake -s dist DIST_DIR="$W/a" >/dev/null 2>&1) || fail "make dist"
(umask 077 && TZ=Asia/Kolkata cleanmake -s dist DIST_DIR="$W/b" >/dev/null 2>&1) || fail "make dist (second run)"
[[ -f $W/a/$n.tar.gz && -f $W/a/$n.tar.gz.sha256 ]] || fail "make dist did not write $n.tar.gz and $n.tar.gz.sha256"
(cd "$W/a" && sha256sum --quiet -c "$n.tar.gz.sha256") || fail "$n.tar.gz.sha256 does not verify the tarball"
sum=$(cut -d' ' -f1 "$W/a/$n.tar.gz.sha256")
if [[ $sum != "$(cut -d' ' -f1 "$W/b/$n.tar.gz.sha256")" ]] || ! cmp -s "$W/a/$n.tar.gz" "$W/b/$n.tar.gz"; then
	fail "two runs of make dist differ"
fi
echo "dist: two runs, same SHA-256 $sum"

# 2. contents
git ls-tree -r HEAD | awk '{ print $1, $4 }' >"$W/tree"
python3 - "$W/a/$n.tar.gz" "$n" "$ct" "$W/tree" <<'PY' || fail "the tarball's contents (above)"
import sys, tarfile
path, prefix, ct, treefile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
bad = []
raw = open(path, "rb").read(10)
if raw[3] & 0x08 or int.from_bytes(raw[4:8], "little") != 0:
    bad.append("gzip header carries a file name or a time")
want = {}
for line in open(treefile):
    mode, name = line.rstrip("\n").split(" ", 1)
    want[name] = 0o755 if mode == "100755" else 0o644
got = {}
with tarfile.open(path) as t:
    for m in t.getmembers():
        if m.type == tarfile.XGLTYPE or m.name == "pax_global_header":
            continue
        if not (m.name == prefix or m.name.startswith(prefix + "/")):
            bad.append("%s: outside %s/" % (m.name, prefix))
        if m.mtime != ct:
            bad.append("%s: mtime %d, not the commit's %d" % (m.name, m.mtime, ct))
        if (m.uid, m.gid) != (0, 0) or m.uname not in ("root", "") or m.gname not in ("root", ""):
            bad.append("%s: owner %s:%s (%d:%d)" % (m.name, m.uname, m.gname, m.uid, m.gid))
        if m.isfile():
            got[m.name[len(prefix) + 1:]] = m.mode
for name in sorted(set(want) | set(got)):
    if name not in got:
        bad.append("%s: tracked, not in the tarball" % name)
    elif name not in want:
        bad.append("%s: in the tarball, not tracked" % name)
    elif got[name] != want[name]:
        bad.append("%s: mode %o, git says %o" % (name, got[name], want[name]))
for b in bad[:20]:
    print("dist: " + b)
print("dist: %d files, as in HEAD, owned by root, mtime %d" % (len(got), ct))
sys.exit(1 if bad else 0)
PY

# 3. a build from the unpacked tarball, without git
mkdir -p "$W/x" "$W/bin"
tar -C "$W/x" -xzf "$W/a/$n.tar.gz"
[[ ! -e $W/x/$n/.git ]] || fail "the tarball has a .git"
if git -C "$W/x/$n" rev-parse --git-dir >/dev/null 2>&1; then
	fail "$W is inside a git work tree: set TMPDIR elsewhere"
fi
printf '#!/bin/sh\necho "git $*" >>"%s/git-called"\nexit 1\n' "$W" >"$W/bin/git"
chmod +x "$W/bin/git"
t0=$SECONDS
if ! PATH="$W/bin:$PATH" cleanmake -C "$W/x/$n" -j2 unit >"$W/unit.log" 2>&1; then
	tail -n 30 "$W/unit.log"
	fail "make unit in the unpacked tarball"
fi
[[ ! -e $W/git-called ]] || fail "the build ran git: $(cat "$W/git-called")"
epochs=$(grep -o -- '-DBUILD_EPOCH=[0-9]*' "$W/unit.log" | sort -u | sed 's/.*=//' | tr '\n' ' ')
[[ $epochs == "$ct " ]] || fail "BUILD_EPOCH in the tarball's build: '$epochs', not the commit's time $ct"
echo "dist: $n.tar.gz ($(stat -c %s "$W/a/$n.tar.gz") bytes) reproducible; make unit passes in it without git, BUILD_EPOCH=$ct (the commit's time), $((SECONDS - t0)) s"
