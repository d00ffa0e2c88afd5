#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install puts the binary, the man page, the systemd unit (its
# ExecStart pointing at the installed binary) and the example environment
# file under PREFIX inside DESTDIR; make uninstall takes them away again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init install
top=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$top" install DESTDIR="$T/root" PREFIX=/usr >/dev/null
for f in usr/sbin/dns-tls-proxy usr/share/man/man8/dns-tls-proxy.8 \
    usr/lib/systemd/system/dns-tls-proxy.service usr/share/doc/dns-tls-proxy/dns-tls-proxy.default; do
    [[ -f $T/root/$f ]] || t_fail "make install did not install /$f"
    t_pass "installed /$f"
done
t_assert_match "$(cat "$T/root/usr/lib/systemd/system/dns-tls-proxy.service")" \
    'ExecStart=/usr/sbin/dns-tls-proxy' "the unit runs the installed binary"
t_assert_match "$("$T/root/usr/sbin/dns-tls-proxy" --version)" '^dns-tls-proxy ' "the installed binary runs"
make -s -C "$top" uninstall DESTDIR="$T/root" PREFIX=/usr >/dev/null
t_assert_eq "$(find "$T/root" -type f | wc -l)" 0 "make uninstall removed every file"
