/* SPDX-License-Identifier: MIT */
/* The release version, printed by --version and in the start-up log line. */
#ifndef VERSION_H
#define VERSION_H
#define DNS_TLS_PROXY_VERSION "0.1.0"
#endif
