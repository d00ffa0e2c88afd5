/* SPDX-License-Identifier: MIT */
/* Client side: the UDP and TCP listeners, TCP client connections, turning
 * each well-formed query into a query (query_new, query_start), and, as
 * the completion of each, sending replies back (with the client's own ID,
 * truncated for UDP when too big). */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "pending.h"

/* Bind every listener and reserve TCP client buffers. Start-up only:
 * returns -1 with a one-line reason in err. */
int client_init(const struct conf *conf, char *err, size_t errlen);
size_t client_memory(const struct conf *conf);
/* Descriptors the listeners and clients can hold at once. */
unsigned client_max_fds(const struct conf *conf);

/* Once a turn before polling: flush answers to TCP clients, parse queries
 * already buffered, close idle clients, register poll interest. */
void client_prepare(uint64_t now);

/* Take the connected stream socket fd as a TCP client, counted in no
 * client's share: the unit tests drive a socketpair through it. Returns
 * -1 when every slot is taken. */
int client_tcp_adopt(int fd, uint64_t now);

/* Stop taking new queries (shutdown): close the listeners. */
void client_stop_listening(void);
/* Write what TCP clients have queued, as far as their sockets take it. */
void client_flush_all(uint64_t now);
/* True when no TCP client has answers still to write. */
int client_flushed(void);

#endif
