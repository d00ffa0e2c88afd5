use_config pins.uci
rc start
