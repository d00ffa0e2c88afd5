# SPDX-License-Identifier: MIT
use_config missing-name.uci
rc start
