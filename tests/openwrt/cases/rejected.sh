# SPDX-License-Identifier: MIT
# Settings the proxy refuses (its --check) or that have no flag: not started.
dhcp_init server=8.8.8.8
use_config bad-port.uci
rc start
use_config bad-proto.uci
rc start
use_config bad-strategy.uci
rc start
use_config bad-retry.uci
rc start
use_config bad-cache.uci
rc start
dhcp_show
