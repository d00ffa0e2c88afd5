#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make container-test: the Dockerfile built for real and its image run as
# deployed, on a machine without a registry or a container runtime that may
# start containers (README.md, "Docker"):
#   1. a debian:12 base image from debootstrap (--variant=minbase bookworm,
#      from the Debian mirror apt uses here), imported into a private podman
#      store and cached there, so later runs skip it;
#   2. the README's command, `docker build -t dns-tls-proxy .` at the top of
#      the tree, as `podman build --isolation=chroot --network=host`;
#   3. the image: FROM scratch (the binary and its licences, nothing else),
#      static, numeric non-root user, the version label of src/version.h,
#      its size; the clock floor compiled in is the sources' newest mtime;
#   4. its contents (podman create + podman export) run as the README's
#      `docker run` would run them: its entrypoint and environment, as its
#      user, chrooted into its file system mounted read-only, no
#      capabilities, no-new-privileges, in a network namespace of its own:
#      it answers over UDP and TCP through a local DoT upstream (unbound),
#      accepts the README's -e settings, and stops cleanly on SIGTERM
#      (tests/release/container-run.sh).
# Skips (exit 0, one line saying why) only where podman cannot run at all:
# not installed, not root, or `podman info` failing.
#
#   tests/release/container.sh        as root; ~3 minutes the first time
#                                     (debootstrap, apt-get in the build
#                                     stage), ~1 minute after
# CONTAINER_CACHE=DIR: the podman store (default ~/.cache/dns-tls-proxy/
# container; `make container-clean` removes it). DEBOOTSTRAP_MIRROR=URL:
# instead of the one apt uses. Needs podman, debootstrap, python3, unbound,
# dig, openssl, iproute2, util-linux (unshare, setpriv, flock), binutils.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dns-tls-proxy/container}
TAG=localhost/dns-tls-proxy:container-test
skip() {
	echo "container-test: SKIPPED: $*"
	exit 0
}
fail() {
	echo "container-test: FAIL: $*" >&2
	exit 1
}
ok() { echo "ok    $*"; }

[[ $(id -u) == 0 ]] || skip "needs root (podman's chroot builds; the image run chrooted in namespaces of its own)"
command -v podman >/dev/null || skip "podman is not installed (apt-get install podman debootstrap)"
W=$(mktemp -d "${TMPDIR:-/tmp}/dtp-container.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$CACHE"
# One run at a time on a store (several checkouts may share the cache).
exec 9>"$CACHE/lock"
flock 9
# overlay, or vfs (full copies: slower, larger) where the kernel cannot
# overlay this file system (e.g. inside a container on overlayfs).
for driver in overlay vfs; do
	P=(podman --root "$CACHE/storage-$driver" --runroot "$CACHE/run-$driver" --storage-driver "$driver"
		--cgroup-manager cgroupfs --events-backend none)
	"${P[@]}" info >"$W/info" 2>&1 && break
	echo "podman with the $driver storage driver: $(tail -n 1 "$W/info")"
done
"${P[@]}" info >/dev/null 2>&1 || skip "podman cannot run here: $(tail -n 1 "$W/info")"
ver=$(sed -n 's/.*DNS_TLS_PROXY_VERSION "\(.*\)"/\1/p' "$ROOT/src/version.h")
start=$SECONDS

# 1. The base image.
# The mirror of the first deb source for bookworm (deb822 or one-line form).
apt_mirror() {
	python3 - <<'PY'
import glob, re
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n[ \t]*\n", open(f).read()):
        fields = dict((m.group(1).lower(), m.group(2).split()) for m in
                      re.finditer(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.M))
        if ("deb" in fields.get("types", []) and "bookworm" in fields.get("suites", [])
                and fields.get("uris") and fields.get("enabled", ["yes"]) != ["no"]):
            print(fields["uris"][0])
            raise SystemExit
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"^deb\s+(\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
        if m:
            print(m.group(2))
            raise SystemExit
PY
}
if "${P[@]}" image exists localhost/debian:12; then
	ok "base image debian:12 from the cache ($CACHE)"
else
	command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
	mirror=${DEBOOTSTRAP_MIRROR:-$(apt_mirror)}
	mirror=${mirror:-http://deb.debian.org/debian}
	t0=$SECONDS
	if ! debootstrap --variant=minbase bookworm "$W/base" "$mirror" >"$W/debootstrap.log" 2>&1; then
		tail -n 20 "$W/debootstrap.log"
		fail "debootstrap --variant=minbase bookworm from $mirror"
	fi
	tar -C "$W/base" -c . | "${P[@]}" import - localhost/debian:12 >/dev/null
	rm -rf "$W/base"
	ok "base image debian:12: debootstrap --variant=minbase bookworm from $mirror, imported ($((SECONDS - t0)) s; cached in $CACHE)"
fi

# 2. The build, as the README says.
readme_build=$(grep -c '^docker build -t dns-tls-proxy \.$' "$ROOT/README.md" || true)
[[ $readme_build == 1 ]] || fail "README.md does not give the build command 'docker build -t dns-tls-proxy .' (once)"
t0=$SECONDS
cd "$ROOT"
if ! "${P[@]}" build --isolation=chroot --network=host --pull=never -t "$TAG" . >"$W/build.log" 2>&1; then
	tail -n 40 "$W/build.log"
	fail "podman build -t $TAG . (the README's docker build)"
fi
ok "podman build --isolation=chroot --network=host -t $TAG . ($((SECONDS - t0)) s)"
# The build stage under a tag of its own (its layers are cached: no
# rebuild): the next run reuses its apt-get and BearSSL layers, and what older
# runs left untagged can go.
"${P[@]}" build --isolation=chroot --network=host --pull=never --target build \
	-t localhost/dns-tls-proxy:container-test-build . >"$W/build-stage.log" 2>&1 ||
	{ tail -n 20 "$W/build-stage.log"; fail "podman build --target build"; }
"${P[@]}" image prune -f >/dev/null 2>&1 || true

# 3. The image.
"${P[@]}" image inspect "$TAG" >"$W/inspect.json"
python3 - "$W" "$ver" <<'PY' || fail "the image's configuration (above)"
import json, sys
w, ver = sys.argv[1], sys.argv[2]
img = json.load(open(w + "/inspect.json"))[0]
c = img["Config"]
bad = []
user = c.get("User", "")
if not user or user.split(":")[0] in ("", "0", "root") or not all(p.isdigit() for p in user.split(":")):
    bad.append("User %r: must be numeric and not root" % user)
if c.get("Entrypoint") != ["/dns-tls-proxy"]:
    bad.append("Entrypoint %r" % c.get("Entrypoint"))
labels = c.get("Labels") or {}
if labels.get("org.opencontainers.image.version") != ver:
    bad.append("label org.opencontainers.image.version %r, src/version.h says %r"
               % (labels.get("org.opencontainers.image.version"), ver))
if "MIT" not in labels.get("org.opencontainers.image.licenses", ""):
    bad.append("label org.opencontainers.image.licenses %r" % labels.get("org.opencontainers.image.licenses"))
for p in ("15353/udp", "15353/tcp"):
    if p not in (c.get("ExposedPorts") or {}):
        bad.append("port %s not exposed" % p)
for b in bad:
    print("image: " + b)
with open(w + "/user", "w") as f:
    f.write(user + "\n")
with open(w + "/argv", "w") as f:
    for a in (c.get("Entrypoint") or []) + (c.get("Cmd") or []):
        f.write(a + "\n")
with open(w + "/env", "w") as f:
    for e in c.get("Env") or []:
        f.write(e + "\n")
with open(w + "/size", "w") as f:
    f.write("%d\n" % img["Size"])
sys.exit(1 if bad else 0)
PY
size=$(cat "$W/size")
ok "image $TAG: user $(cat "$W/user"), entrypoint $(tr '\n' ' ' <"$W/argv"), version label $ver, $size bytes"
# "A few hundred KiB": the whole image, binary and licences.
((size < 512 * 1024)) || fail "the image is $size bytes, over 512 KiB"

cid=$("${P[@]}" create "$TAG")
"${P[@]}" export -o "$W/rootfs.tar" "$cid"
"${P[@]}" rm "$cid" >/dev/null
files=$(tar -tf "$W/rootfs.tar" | sed 's|^\./||; /\/$/d; /^$/d' | sort | tr '\n' ' ')
[[ $files == "dns-tls-proxy licenses/BearSSL licenses/dns-tls-proxy " ]] ||
	fail "the image holds more or less than the binary and its licences: $files"
ok "FROM scratch: the image holds $files"
R=$W/rootfs
mkdir "$R"
tar -C "$R" --numeric-owner -xpf "$W/rootfs.tar"
readelf -l "$R/dns-tls-proxy" | grep -q INTERP && fail "the binary is dynamic (it has a PT_INTERP)"
[[ $(stat -c '%u %a' "$R/dns-tls-proxy") == "0 755" ]] || fail "the binary is not root-owned 0755"
ok "the binary is static and owned by root (its user cannot change it)"
# The clock floor (certificates are never checked against an earlier time):
# the sources' newest mtime, the context having no .git. The context goes
# over as a tar whose mtimes are rounded to the second: the newest may come
# out one second later.
floor=$("$R/dns-tls-proxy" --version | sed -n 's/^clock floor: \([0-9]*\) .*/\1/p')
want=$(cd "$ROOT" && stat -c %Y Makefile src/*.[ch] port/*.[ch] certs/*.pem | sort -n | tail -n 1)
if [[ -z $floor ]] || ((floor != want && floor != want + 1)); then
	fail "the image's clock floor is '$floor', not the sources' newest mtime $want"
fi
ok "its clock floor is the sources' newest mtime ($floor, $(date -u -d "@$floor" '+%F %T UTC'))"

# 4. The image's contents, run as the README's docker run runs them.
readme_run=$(sed -n '/^docker run /,/^```/{/^```/d;p;}' "$ROOT/README.md" | tr -d '\\\n' | tr -s ' ')
[[ $readme_run == *" --read-only "* && $readme_run == *" --cap-drop ALL "* &&
	$readme_run == *" --security-opt no-new-privileges "* ]] ||
	fail "README.md's docker run is not the one tested (--read-only --cap-drop ALL --security-opt no-new-privileges): $readme_run"
read -r -a words <<<"$readme_run"
: >"$W/readme-env"
for ((i = 0; i < ${#words[@]}; i++)); do
	[[ ${words[i]} == -e ]] && printf '%s\n' "${words[i + 1]}" >>"$W/readme-env"
done
unshare --net --mount -- bash "$ROOT/tests/release/container-run.sh" "$R" "$W" ||
	fail "the image's contents, run as deployed (above)"
echo "container-test: passed in $((SECONDS - start)) s; image $size bytes ($(date -u '+%F %H:%M UTC'))"
