# SPDX-License-Identifier: MIT
use_config custom.uci
rc start
use_config retry-on.uci
rc start
