# SPDX-License-Identifier: MIT
use_config pins.uci
rc start
