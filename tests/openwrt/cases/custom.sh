use_config custom.uci
rc start
