# SPDX-License-Identifier: MIT
use_config custom.uci
rc start
