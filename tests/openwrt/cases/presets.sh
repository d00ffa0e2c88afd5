# SPDX-License-Identifier: MIT
use_config presets.uci
rc start
rc check
