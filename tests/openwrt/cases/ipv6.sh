# SPDX-License-Identifier: MIT
use_config ipv6.uci
rc start
