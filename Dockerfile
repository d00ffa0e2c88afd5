# SPDX-License-Identifier: MIT
# dns-tls-proxy on an empty image: one static (musl) binary, nothing else.
# Build from the repository root (or an unpacked release tarball):
#
#   docker build -t dns-tls-proxy .
#
# The certificate-time floor compiled into the binary (certificates are never
# checked against an earlier time) is the newest modification time of the
# sources in the build context: the last commit's time for a release tarball
# (`make dist`), the time of the checkout or of the last edit for a clone.
# For a clone, pin it to the last commit (reproducible):
#
#   docker build --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" -t dns-tls-proxy .
#
# Run, publishing the port on the host's loopback only:
#
#   docker run -d --name dns-tls-proxy --restart unless-stopped \
#       --read-only --cap-drop ALL --security-opt no-new-privileges \
#       -p 127.0.0.1:15353:15353/udp -p 127.0.0.1:15353:15353/tcp dns-tls-proxy
#   dig @127.0.0.1 -p 15353 example.com
#
# Settings come from the environment (-e NAMESERVERS=..., -e ENABLE_STATS=yes,
# see dns-tls-proxy(8)) or as arguments after the image name, which replace
# the (empty) CMD: docker run ... dns-tls-proxy -v -s --pool-size 4
#
# `make container-test` builds this file with podman and runs the image's
# contents as the image's user with its environment (tests/release/container.sh).

FROM debian:12 AS build
# What `make static` needs (port/router.mk): build-essential and musl-tools
# for the musl build; xz-utils to unpack Debian's BearSSL source, which
# port/bearssl-src.sh fetches with apt-get from the Debian archive and builds
# with musl-gcc; uthash-dev for uthash.h; libbearssl-dev for ca_gen, the
# build-time CA-bundle generator that runs on the build machine.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential musl-tools xz-utils uthash-dev libbearssl-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# BearSSL for musl first, in a layer of its own: it needs only these files, so
# a change to the sources does not rebuild it.
COPY Makefile ./
COPY port/router.mk port/bearssl-src.sh port/
COPY tests/bench/bench.mk tests/bench/
RUN make static-bearssl
COPY . .
# Unset or empty: the Makefile takes the sources' newest modification time
# (the context has no .git).
ARG SOURCE_DATE_EPOCH
# The binary must be static: the final image has no libc to load. Beside it,
# the licences of what it is made of (README.md, "Licence"): the proxy's and
# BearSSL's (both MIT, whose notice goes with every copy).
RUN make static \
    && ! readelf -l build/static/dns-tls-proxy | grep -q INTERP \
    && build/static/dns-tls-proxy --version \
    && mkdir -p /image/licenses \
    && cp build/static/dns-tls-proxy /image/ \
    && cp LICENSE /image/licenses/dns-tls-proxy \
    && cp build/bearssl-src/bearssl-0.6/LICENSE.txt /image/licenses/BearSSL

FROM scratch
COPY --from=build /image/ /
# Keep the version in step with src/version.h (tests/release/version.sh).
LABEL org.opencontainers.image.title="dns-tls-proxy" \
      org.opencontainers.image.description="DNS to DNS-over-TLS forwarder" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT AND BSD-1-Clause AND MPL-2.0"
# Non-root, numeric (scratch has no /etc/passwd). The port is above 1024, so
# no capability is needed; the proxy writes nothing, so --read-only works.
# Do not pass --user/--chroot: there is nothing to drop.
USER 65534:65534
# Listen on every address of the container's own network namespace, or
# nothing outside it could reach the proxy. The client ACL keeps its default
# (loopback, RFC 1918, RFC 6598, link-local, ULA): container networks and
# LAN clients are allowed, Internet clients are refused. Override with
# -e ALLOW=... only for networks you own. Environment, so that -e LISTEN=...
# still works (a command-line -a would silently win over it).
ENV LISTEN=0.0.0.0
EXPOSE 15353/udp 15353/tcp
ENTRYPOINT ["/dns-tls-proxy"]
