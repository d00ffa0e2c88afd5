# SPDX-License-Identifier: MIT
use_config disabled.uci
dhcp_init server=8.8.8.8
rc start
dhcp_show
