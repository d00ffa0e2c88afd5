#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the integration scenarios (tests/integration/[0-9]*.sh), each in its own
# process, and summarise. Usage: run.sh [NAME-SUBSTRING...]
# PROXY names the binary under test (default: ./dns-tls-proxy).
set -uo pipefail
cd "$(dirname "$0")/../.."
export PROXY=${PROXY:-$PWD/dns-tls-proxy}
[[ -x $PROXY ]] || { echo "run.sh: $PROXY is not built (make)" >&2; exit 2; }

pass=() fail=() skip=()
for t in tests/integration/[0-9]*.sh; do
    name=$(basename "$t" .sh)
    if (($# > 0)); then
        want=0
        for w in "$@"; do [[ $name == *"$w"* ]] && want=1; done
        ((want)) || continue
    fi
    start=$SECONDS
    rc=0
    bash "$t" || rc=$?
    if ((rc == 0)); then
        pass+=("$name ($((SECONDS - start))s)")
    elif ((rc == 77)); then
        skip+=("$name") # the scenario said why
    else
        fail+=("$name")
    fi
done
# Under make asan, sanitizer reports land in files: any at all is a failure,
# even from a proxy a scenario killed at its end.
if [[ -n ${SANITIZER_LOG_DIR:-} ]] && compgen -G "$SANITIZER_LOG_DIR/*" >/dev/null; then
    cat "$SANITIZER_LOG_DIR"/*
    fail+=("sanitizer reports (above)")
fi
echo
echo "integration: ${#pass[@]} passed, ${#fail[@]} failed, ${#skip[@]} skipped"
for f in "${skip[@]}"; do echo "  SKIPPED: $f"; done
for f in "${fail[@]}"; do echo "  FAILED: $f"; done
((${#fail[@]} == 0 && ${#pass[@]} > 0))
