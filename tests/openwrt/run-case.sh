#!/bin/sh
# SPDX-License-Identifier: MIT
# run-case.sh CASE TRANSCRIPT: one case of tests/openwrt/cases/ under the
# shell that runs this script (run.sh runs it under dash and busybox ash).
# shellcheck disable=SC2034 # ROOT, TESTDIR, BIN, T are read by harness.sh
T="$2"
TESTDIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$TESTDIR/../.." && pwd)
BIN="${BIN:-$ROOT/dns-tls-proxy}"
: >"$T"
# shellcheck source=harness.sh
. "$TESTDIR/harness.sh"
load_init
# shellcheck source=/dev/null
. "$1"
