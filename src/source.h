/* SPDX-License-Identifier: MIT */
/* Per-client counters: for each client (an IPv4 address, or an IPv6 /64,
 * which one host or one LAN holds whole), the TCP connections it holds and
 * its queries in flight, so that no one client can take every TCP slot or
 * every pending slot. A fixed table reserved at start-up, sized for every
 * connection and query at once; nothing allocates after source_init. */
#ifndef SOURCE_H
#define SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What one client holds now. */
struct source_count {
	unsigned tcp;      /* TCP connections */
	unsigned inflight; /* queries in flight */
};

/* Reserve room for max clients at once (each holds a connection or a
 * query, so max_tcp_clients + max_inflight is enough), replacing any table
 * made before. Start-up only; -1 on no memory. */
int source_init(unsigned max);
size_t source_memory(unsigned max);

/* The client sa belongs to, found or added with both counts 0: an index
 * that stays valid until source_put lets the entry go. -1 when sa is not
 * an IP address, or the table is full (sized so that it cannot be). */
int source_get(const struct sockaddr *sa);
struct source_count *source_count(int id);
/* Let the entry go if both its counts are 0. */
void source_put(int id);
/* Test hook: clients in the table. */
unsigned source_used(void);

#endif
