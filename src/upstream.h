/* SPDX-License-Identifier: MIT */
/* Upstream side: the nameservers, their pools of DNS-over-TLS connections
 * (one BearSSL client engine each, run as an explicit state machine from
 * poll readiness), choosing where each query goes, and matching answers. */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "conf.h"
#include "query.h"

/* Reserve every connection and buffer. Start-up only; -1 on no memory. */
int up_init(const struct conf *conf, const br_x509_trust_anchor *tas, size_t ntas);
/* Bytes up_init reserves for this configuration (the debug memory plan). */
size_t up_memory(const struct conf *conf);

/* query.c's hook (query_forget_fn): pq ends (expired, or the process
 * leaving) while a connection holds it: account for it, take it off. */
void up_forget(struct pending_query *pq, enum query_end how, uint64_t now);

/* Once a turn before polling: place waiting queries (query_waiting), write queued queries,
 * run timers, and register poll interest and deadlines. */
void up_prepare(uint64_t now);

/* Close every connection (at exit). */
void up_shutdown(void);

/* Log one stats line per nameserver. */
void up_log_stats(void);

#endif
