use_config missing-name.uci
rc start
