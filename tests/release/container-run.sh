#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The image's contents run as `docker run --read-only --cap-drop ALL
# --security-opt no-new-privileges -e ...` runs them (README.md, "Docker").
# Called by tests/release/container.sh inside `unshare --net --mount` (a
# network namespace of its own, as the container's; a mount namespace for
# the read-only root):
#   container-run.sh ROOTFS DIR
# ROOTFS: the image's exported file system; DIR: the image's user (DIR/user),
# entrypoint and command (DIR/argv, one word a line), environment (DIR/env)
# and the README's -e settings (DIR/readme-env).
set -euo pipefail
R=${1:?ROOTFS}
D=${2:?DIR}
# The image's binary (static: it runs here too) for lib.sh, which makes the
# test certificates around its clock floor.
export PROXY=$R/dns-tls-proxy
. "$(dirname "$0")/../integration/lib.sh"
t_init container-run
ip link set lo up

user=$(cat "$D/user")
mapfile -t argv <"$D/argv"
mapfile -t image_env <"$D/env"
mapfile -t readme_env <"$D/readme-env"

# As the runtime does: the entrypoint chrooted into the image's file system,
# its working directory /, its user and group (numeric, no supplementary
# groups), no capabilities left (the bounding set keeps only what chroot(1)
# needs to get there; none survive the change of user), no-new-privileges,
# and only the given environment. Arguments: NAME=VALUE... (environment
# added to the image's), then -- and arguments after the image's command.
# It execs: call it in a subshell ($(...), t_spawn).
as_image() {
	local -a add_env=()
	while (($#)) && [[ $1 != -- ]]; do
		add_env+=("$1")
		shift
	done
	(($#)) && shift
	exec env -i "${image_env[@]}" "${add_env[@]}" "$(command -v setpriv)" --no-new-privs --inh-caps=-all \
		--bounding-set=-all,+sys_chroot,+setuid,+setgid -- \
		"$(command -v chroot)" --userspec="$user" --groups= "$R" "${argv[@]}" "$@"
}

# The README's settings, as the image's user in the image's file system.
out=$(as_image "${readme_env[@]}" -- --check 2>&1) || t_fail "the README's docker run settings (${readme_env[*]}) are refused: $out"
t_assert_match "$out" '# configuration OK$' "the README's docker run settings (${readme_env[*]}) pass --check"

# A local DoT upstream; its CA given to the proxy as a volume would be
# (-v ca.pem:/ca.pem:ro -e CA_FILE=/ca.pem), then the root made read-only.
t_make_pki "$T/pki" dns.test
up=$(t_free_port)
t_start_unbound "$T/pki" "$up"
cp "$T/pki/ca.pem" "$R/ca.pem"
mount --bind "$R" "$R"
mount -o remount,bind,ro "$R"
touch "$R/x" 2>/dev/null && t_fail "the image's root is writable"
t_pass "the image's root is read-only (--read-only)"

t_spawn proxy as_image NAMESERVERS="127.0.0.1:$up:dns.test" CA_FILE=/ca.pem
pid=$T_PID
# The image's own settings: LISTEN=0.0.0.0 from its environment, the
# default port 15353 it exposes.
t_wait_listen 15353 udp || t_fail "nothing listens on port 15353/udp"
t_wait_listen 15353 tcp || t_fail "nothing listens on port 15353/tcp"
t_assert_match "$(ss -Hlun 'sport = :15353')" '0\.0\.0\.0:15353' "listens on 0.0.0.0:15353 (the image's LISTEN)"
st=/proc/$pid/status
t_assert_eq "$(readlink "/proc/$pid/root")" "$R" "confined to the image's file system"
t_assert_eq "$(awk '/^Uid:/ { print $2 ":" $3 ":" $4 }' "$st"):$(awk '/^Gid:/ { print $2 }' "$st")" \
	"${user%%:*}:${user%%:*}:${user%%:*}:${user##*:}" "runs as the image's user $user"
t_assert_eq "$(awk '/^Groups:/ { print NF - 1 }' "$st")" 0 "no supplementary groups"
t_assert_eq "$(awk '/^Cap(Prm|Eff|Inh|Amb):/ { print $2 }' "$st" | sort -u)" 0000000000000000 "no capabilities (--cap-drop ALL)"
t_assert_eq "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" 1 "no-new-privileges"

t_wait_dns 127.0.0.1 15353 udp || t_fail "no answer over UDP"
t_assert_eq "$(t_dig @127.0.0.1 -p 15353 a.test +short)" 192.0.2.1 "answers over UDP through the DoT upstream"
t_assert_eq "$(t_dig @127.0.0.1 -p 15353 a.test +short +tcp)" 192.0.2.1 "answers over TCP through the DoT upstream"
t_assert_match "$(t_dig @127.0.0.1 -p 15353 nx.test)" 'status: NXDOMAIN' "NXDOMAIN passed through"
t_assert_match "$(t_unbound_tls_queries)" '^[1-9]' "the queries reached the upstream over TLS"

# docker stop: SIGTERM, then SIGKILL after 10 s.
kill -TERM "$pid"
t_wait_exit "$pid" 10 || t_fail "still running 10 s after SIGTERM (docker stop would kill it)"
t_assert_eq "$T_EXIT_STATUS" 0 "stops cleanly on SIGTERM (docker stop)"
