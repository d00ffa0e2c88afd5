#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Authentication: the upstream's certificate must chain to a trusted root and
# carry the configured name. A wrong name or an untrusted CA gets SERVFAIL and
# no query is ever sent on that connection (unbound counts none). There is no
# fallback to clear text. An RSA server certificate works as well as ECDSA.
# The failure lines say what to do: the issuer of an untrusted chain, TLS 1.2
# for a server that speaks only TLS 1.3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy.sh"
t_init auth
t_make_pki "$T" dot.test
U_PORT=$(t_free_port)
t_start_unbound "$T/good" "$U_PORT" "$T/server.pem" "$T/server.key"

# Wrong name: the certificate is for dot.test, the proxy expects wrong.test.
P_PORT=$(t_free_port)
p_start wrong-name -p "$P_PORT" -n "127.0.0.1:$U_PORT:wrong.test" --ca-file "$T/ca.pem"
t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "wrong name: SERVFAIL"
t_assert_eq "$(p_status "$(p_dig a.test +tcp)")" SERVFAIL "wrong name: SERVFAIL over TCP"
t_assert_eq "$(t_unbound_queries "$T/good")" 0 "wrong name: no query reached the upstream"
t_assert_match "$(grep 'AUTHENTICATION FAILED' "$P_LOG" | head -n 1)" 'does not match the name' "wrong name: logged as an authentication failure"
t_assert_le 1 "$(p_stat nameserver auth_failures)" "wrong name: counted as an authentication failure"
t_kill "$P_PID"

# Untrusted CA: a server certificate for the right name from another CA.
U2_PORT=$(t_free_port)
t_start_unbound "$T/other" "$U2_PORT" "$T/other-server.pem" "$T/other-server.key"
P_PORT=$(t_free_port)
p_start untrusted -p "$P_PORT" -n "127.0.0.1:$U2_PORT:dot.test" --ca-file "$T/ca.pem"
t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "untrusted CA: SERVFAIL"
t_assert_eq "$(t_unbound_queries "$T/other")" 0 "untrusted CA: no query reached the upstream"
t_assert_match "$(grep 'AUTHENTICATION FAILED' "$P_LOG" | head -n 1)" 'not trusted' "untrusted CA: logged as an authentication failure"
t_assert_match "$(grep -m 1 'AUTHENTICATION FAILED' "$P_LOG")" \
    "issued by 'CN=dns-tls-proxy test other-ca', not a trusted root; add it with --ca-file .*/etc/ssl/certs/ca-certificates\.crt" \
    "untrusted CA: the line names the issuer of the last certificate and suggests --ca-file"
t_kill "$P_PID"

# The compiled-in bundle does not trust the test CA either.
P_PORT=$(t_free_port)
p_start bundle -p "$P_PORT" -n "127.0.0.1:$U_PORT:dot.test"
t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "compiled-in roots do not trust the test CA"
t_assert_eq "$(t_unbound_queries "$T/good")" 0 "compiled-in roots: no query reached the upstream"
t_kill "$P_PID"

# The same name and CA with an RSA certificate: accepted.
U3_PORT=$(t_free_port)
t_start_unbound "$T/rsa" "$U3_PORT" "$T/rsa-server.pem" "$T/rsa-server.key"
P_PORT=$(t_free_port)
p_start rsa -p "$P_PORT" -n "127.0.0.1:$U3_PORT:dot.test" --ca-file "$T/ca.pem"
t_assert_eq "$(p_dig a.test +short)" 192.0.2.1 "RSA server certificate: answered"
t_assert_eq "$(t_unbound_queries "$T/rsa")" 1 "RSA server certificate: the query went over TLS"
t_assert_match "$(grep -m 1 'upstream: connected' "$P_LOG")" 'version=TLS1\.2 suite=TLS_ECDHE_RSA_WITH_[A-Z0-9_]+( |$)' \
    "the negotiated version and suite are logged by name"
t_kill "$P_PID"

# A server that speaks TLS 1.3 only refuses BearSSL's TLS 1.2 with alert 70
# (protocol_version): the line says what is wrong.
S_PORT=$(t_free_port)
t_spawn tls13 openssl s_server -tls1_3 -www -accept "127.0.0.1:$S_PORT" \
    -cert "$T/server.pem" -key "$T/server.key"
t_wait_listen "$S_PORT" || t_fail "openssl s_server did not start"
P_PORT=$(t_free_port)
p_start tls13-only -p "$P_PORT" -n "127.0.0.1:$S_PORT:dot.test" --ca-file "$T/ca.pem"
t_assert_eq "$(p_status "$(p_dig a.test)")" SERVFAIL "TLS 1.3-only server: SERVFAIL"
t_assert_match "$(grep -m 1 'cannot reach' "$P_LOG")" \
    'server refused TLS 1\.2 \(alert 70, protocol_version\): this proxy speaks TLS 1\.2 only' \
    "TLS 1.3-only server: the line says this proxy speaks TLS 1.2 only"
