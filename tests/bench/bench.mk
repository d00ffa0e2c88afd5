# SPDX-License-Identifier: MIT
# make bench: dnsperf through the proxy beside stubby, unbound and dnsdist.
# Not part of make test. Knobs (BENCH_SECONDS, BENCH_PROXIES, ...) are
# described at the top of tests/bench/bench.sh; `tests/bench/bench.sh
# callgrind` runs only the instructions-per-query part.
.PHONY: bench
bench: $(BIN)
	PROXY=$(abspath $(BIN)) tests/bench/bench.sh
