# make bench: dnsperf through the proxy beside stubby, unbound and dnsdist.
