/* SPDX-License-Identifier: MIT */
/* Unit tests for the upstream decisions, with a fake clock: a connection's
 * next deadline in each state (connect, handshake, probe, dead path, idle,
 * close), the poll interest each state asks for, the back-off schedule,
 * when a lost connection rests its nameserver, the choice of connection
 * (fill the first below CONN_SPREAD_AT, then the least loaded) and when a
 * pool grows (one handshake at a time); and one connection's state machine
 * over a loopback socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bounds.h"
#include "conn.h"
#include "log.h"
#include "nameserver.h"
#include "pending.h"
#include "query.h"
#include "stats.h"
#include "unit.h"

#define TIMEOUT_MS 3000
#define THIRD_US (TIMEOUT_MS * 1000 / 3)

static void
set_load(struct upstream_conn *c, unsigned queued, unsigned sent)
{
	c->sendq.count = queued;
	c->sent.count = sent;
}

/* --- Deadlines: set-up states give up at c->deadline; a READY one with
 * queries out probes after a third of the query timeout of silence, judges
 * the path after another third (from the probe, or from the last answer
 * if later), and a probe that could not be written counts from the
 * silence; an idle one closes after its idle time, at once when its IDs
 * are used up; one with queries queued but none written has no timer. */
static void
test_conn_deadline(void)
{
	struct upstream_conn c;

	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 0); /* IDLE */
	c.deadline = 777;
	c.state = CONN_CONNECTING;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 777);
	c.state = CONN_HANDSHAKING;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 777);
	c.state = CONN_CLOSING;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 777);

	c.state = CONN_READY;
	c.last_rx = 5000000;
	c.idle_since = 4000000;
	c.idle_us = 10000000;
	set_load(&c, 0, 3);
	c.probe = PROBE_NONE;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 5000000 + THIRD_US);
	c.probe = PROBE_DUE;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 5000000 + 2 * THIRD_US);
	c.probe = PROBE_OUT;
	c.probe_sent = 6000000;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 6000000 + THIRD_US);
	c.last_rx = 6500000; /* an answer after the probe went out */
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 6500000 + THIRD_US);

	c.probe = PROBE_NONE;
	set_load(&c, 2, 0);
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 0);
	set_load(&c, 0, 0);
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 4000000 + 10000000);
	c.burnt = ID_BURNT_MAX;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 4000000);
}

/* --- A transfer's connection: READY, its deadline is xfr_deadline's
 * (--transfer-timeout while reading, the client's idle time while paused),
 * whatever it carries; none once the transfer is over. */
static void
test_conn_deadline_transfer(void)
{
	struct upstream_conn c;
	struct xfr_relay r;
	struct pending_query q;

	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	c.xfr = &r;
	c.state = CONN_CONNECTING;
	c.deadline = 777;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 777);
	c.state = CONN_READY;
	set_load(&c, 0, 1);
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 0); /* no transfer on it */
	r.q = &q;
	r.last_upstream = 5000000;
	r.last_client = 4000000;
	r.idle_ms = 30000;
	r.client_idle_ms = 10000;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 5000000 + 30000000);
	r.paused = 1;
	CHECK_EQ_INT(conn_deadline(&c, TIMEOUT_MS), 4000000 + 10000000);
}

/* --- Poll interest from the state alone. */
static void
test_conn_poll_events(void)
{
	CHECK_EQ_INT(conn_poll_events(CONN_IDLE, BR_SSL_SENDREC | BR_SSL_RECVREC, 1), 0);
	CHECK_EQ_INT(conn_poll_events(CONN_CONNECTING, BR_SSL_RECVREC, 0), POLLOUT);
	CHECK_EQ_INT(conn_poll_events(CONN_HANDSHAKING, BR_SSL_SENDREC, 0), POLLOUT);
	CHECK_EQ_INT(conn_poll_events(CONN_HANDSHAKING, BR_SSL_RECVREC, 0), POLLIN);
	CHECK_EQ_INT(conn_poll_events(CONN_READY, BR_SSL_RECVREC | BR_SSL_SENDAPP, 0), POLLIN);
	/* Records staged in our own buffer are written even when the engine
	 * has nothing more to send. */
	CHECK_EQ_INT(conn_poll_events(CONN_READY, BR_SSL_RECVREC, 1), POLLIN | POLLOUT);
	CHECK_EQ_INT(conn_poll_events(CONN_CLOSING, BR_SSL_SENDREC | BR_SSL_RECVREC, 0),
	    POLLIN | POLLOUT);
	CHECK_EQ_INT(conn_poll_events(CONN_READY, BR_SSL_CLOSED, 0), 0);
}

/* --- Back-off: doubles from BACKOFF_BASE_MS, capped at BACKOFF_CAP_MS,
 * and a huge count neither overflows nor wraps. */
static void
test_ns_backoff(void)
{
	static const uint64_t want[] = { 500, 1000, 2000, 4000, 8000, 16000, 16000, 16000 };
	unsigned i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(ns_backoff_ms(i) == want[i], "backoff after %u failures: %llu ms, want %llu",
		    i, (unsigned long long)ns_backoff_ms(i), (unsigned long long)want[i]);
	CHECK_EQ_INT(ns_backoff_ms(4000000000u), BACKOFF_CAP_MS);
	CHECK_EQ_INT(ns_backoff_ms(0), BACKOFF_BASE_MS);
}

/* --- A lost READY connection rests its nameserver only when the server is
 * at fault: silent even to a probe; or closed before any answer twice in a
 * row, the second time not over a query already blamed once. */
static void
test_ns_loss_rests(void)
{
	int lu = 0;

	/* Answers came, or nothing was in flight: never. */
	CHECK_EQ_INT(ns_loss_rests(1, 5, LOSS_SILENT, 0, &lu), 0);
	CHECK_EQ_INT(ns_loss_rests(0, 0, LOSS_NET, 0, &lu), 0);
	CHECK_EQ_INT(lu, 0);
	/* Silent: at once. */
	CHECK_EQ_INT(ns_loss_rests(0, 1, LOSS_SILENT, 0, &lu), 1);
	CHECK_EQ_INT(lu, 0);
	/* Closed before an answer: the first time the query is blamed... */
	CHECK_EQ_INT(ns_loss_rests(0, 1, LOSS_NET, 0, &lu), 0);
	CHECK_EQ_INT(lu, 1);
	/* ...a second time over the query blamed before: still the query. */
	CHECK_EQ_INT(ns_loss_rests(0, 1, LOSS_CLOSED, 1, &lu), 0);
	CHECK_EQ_INT(lu, 1);
	/* ...a second time over a fresh query: the server. */
	CHECK_EQ_INT(ns_loss_rests(0, 1, LOSS_CLOSED, 0, &lu), 1);
	/* The first query not yet written (-1) counts as fresh. */
	lu = 1;
	CHECK_EQ_INT(ns_loss_rests(0, 2, LOSS_NET, -1, &lu), 1);
}

/* --- Choice of connection and pool growth. */
static void
test_ns_choose_conn(void)
{
	struct upstream_conn pool[4];
	unsigned i;

	memset(pool, 0, sizeof(pool));
	CHECK_EQ_INT(ns_choose_conn(pool, 4), -1);
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 1); /* none ready: open one */
	pool[1].state = CONN_HANDSHAKING;
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 0); /* one handshake at a time */

	pool[1].state = CONN_READY;
	set_load(&pool[1], 0, 0);
	CHECK_EQ_INT(ns_choose_conn(pool, 4), 1);
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 0);
	/* Fill the first below CONN_SPREAD_AT, not the least loaded. */
	pool[2].state = CONN_READY;
	set_load(&pool[1], 10, CONN_SPREAD_AT - 11);
	CHECK_EQ_INT(ns_choose_conn(pool, 4), 1);
	set_load(&pool[1], 0, CONN_SPREAD_AT);
	CHECK_EQ_INT(ns_choose_conn(pool, 4), 2);
	/* Every ready one at CONN_SPREAD_AT or more: the least loaded, and the
	 * pool grows, unless a connection is being set up. */
	set_load(&pool[2], 5, CONN_SPREAD_AT + 5);
	CHECK_EQ_INT(ns_choose_conn(pool, 4), 1);
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 1);
	pool[3].state = CONN_CONNECTING;
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 0);
	pool[3].state = CONN_IDLE;
	/* Full ones and ones whose IDs are used up take nothing. */
	set_load(&pool[1], 0, CONN_INFLIGHT_MAX);
	CHECK_EQ_INT(ns_choose_conn(pool, 4), 2);
	pool[2].burnt = ID_BURNT_MAX;
	CHECK_EQ_INT(ns_choose_conn(pool, 4), -1);
	CHECK_EQ_INT(ns_wants_conn(pool, 4), 1);
	/* Not READY: never chosen, whatever its load. */
	for (i = 0; i < 4; i++) {
		pool[i].state = CONN_CLOSING;
		pool[i].burnt = 0;
		set_load(&pool[i], 0, 0);
	}
	CHECK_EQ_INT(ns_choose_conn(pool, 4), -1);
}


/* --- One connection's state machine over a real loopback socket, the
 * other end played by the test: connect and a refused connect, EOF and
 * garbage during the handshake, the handshake timer; queries it held go
 * back to the waiting queue. Then a READY connection (its state set by
 * hand: no server engine here) lost under queries: the oldest written is
 * blamed and goes back last, the others in the order written and then the
 * unwritten; one blamed before ends QUERY_LOST. */

static unsigned io_done_count;
static enum query_end io_done_how;

static void
io_done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len, uint16_t qend,
    uint64_t now)
{
	(void)q;
	(void)msg;
	(void)len;
	(void)qend;
	(void)now;
	io_done_count++;
	io_done_how = how;
}

/* A listening loopback socket; its port in *port. */
static int
io_listener(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Open c and take it to HANDSHAKING, the server end accepted into *srv
 * and the ClientHello read from it. 0, or -1 (checked failed). */
static int
io_open(struct upstream_conn *c, int lfd, int *srv, uint64_t now)
{
	uint8_t hello[4096];
	struct pollfd pfd;
	ssize_t n;

	conn_open(c, now);
	CHECK(c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKING,
	    "after conn_open: state %s", conn_state_name(c->state));
	*srv = accept(lfd, NULL, NULL);
	CHECK(*srv != -1, "accept failed");
	if (*srv == -1)
		return -1;
	if (c->state == CONN_CONNECTING) {
		CHECK_EQ_INT(conn_poll_events(c->state, 0, 0), POLLOUT);
		conn_event(c, c->gen, POLLOUT, now);
	}
	CHECK(c->state == CONN_HANDSHAKING, "connected: state %s, want handshaking",
	    conn_state_name(c->state));
	/* The ClientHello: a TLS handshake record. A bounded wait: it was
	 * written before conn_event returned. */
	pfd.fd = *srv;
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 5000) == 1, "no ClientHello within 5 s");
	n = recv(*srv, hello, sizeof(hello), 0);
	CHECK(n >= 5 && hello[0] == 0x16 && hello[1] == 3, "no TLS handshake record (%zd bytes)", n);
	return c->state == CONN_HANDSHAKING && n >= 5 ? 0 : -1;
}

static void
test_conn_io(void)
{
	static struct conf cf;
	static struct nameserver ns;
	static struct upstream_conn c;
	static uint8_t id_map[ID_MAP_BYTES];
	struct pending_query *q[5];
	unsigned char *block;
	unsigned port, i, failures;
	uint64_t now = 1000000000, lost = stats.lost_twice;
	char spec[64], err[256];
	int lfd, srv, saved_level = log_level;

	if (unit_pq_setup() != 0)
		return;
	lfd = io_listener(&port);
	CHECK(lfd != -1, "no loopback listener");
	if (lfd == -1)
		return;
	conf_defaults(&cf);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u:dot.test", port);
	CHECK(conf_parse_nameserver(spec, &cf.ns[0], err, sizeof(err)) == 0, "%s", err);
	cf.ns_count = 1;
	cf.pool_size = 1;
	memset(&ns, 0, sizeof(ns));
	ns.cf = &cf.ns[0];
	block = malloc(conn_buf_bytes());
	if (block == NULL) {
		close(lfd);
		CHECK(0, "no memory");
		return;
	}
	log_level = -1; /* the failures below are expected: no log lines */
	conn_init(&cf, NULL, 0);
	query_init(&cf, NULL);
	memset(&c, 0, sizeof(c));
	conn_setup(&c, 0, &ns, block, id_map);
	CHECK_EQ_INT(c.state, CONN_IDLE);

	/* EOF during the handshake, with a query assigned: the nameserver
	 * fails and rests, the query waits again. */
	if (io_open(&c, lfd, &srv, now) == 0) {
		q[0] = query_new(PQ_UDP, io_done, now);
		if (q[0] != NULL) {
			q[0]->qlen = 12;
			query_start(q[0], now);
			CHECK(conn_assign(&c, q[0]) == 0, "conn_assign failed");
			CHECK_EQ_INT(conn_load(&c), 1);
		}
		(void)conn_take_requeued();
		close(srv);
		conn_event(&c, c.gen, POLLIN, now);
		CHECK(c.state == CONN_IDLE && c.fd == -1, "EOF: state %s", conn_state_name(c.state));
		CHECK_EQ_INT(ns.st.failures, 1);
		CHECK_EQ_INT(ns.fails, 1);
		CHECK_EQ_INT(ns.rest_until, now + BACKOFF_BASE_MS * 1000);
		CHECK_EQ_INT(conn_take_requeued(), 1);
		CHECK(q[0] != NULL && query_waiting() == q[0] && q[0]->conn == -1,
		    "the query is not waiting again");
		CHECK_EQ_INT(io_done_count, 0);
	}

	/* Garbage where a ServerHello should be. */
	if (io_open(&c, lfd, &srv, now) == 0) {
		static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

		CHECK(send(srv, junk, sizeof(junk) - 1, 0) == (ssize_t)sizeof(junk) - 1, "send");
		for (i = 0; i < 10 && c.state != CONN_IDLE; i++)
			conn_event(&c, c.gen, POLLIN, now);
		CHECK(c.state == CONN_IDLE, "garbage: state %s", conn_state_name(c.state));
		CHECK_EQ_INT(ns.st.failures, 2);
		CHECK_EQ_INT(ns.st.auth_failures, 0);
		close(srv);
	}

	/* Silence: the handshake timer. A stale event (old generation) is
	 * ignored. */
	if (io_open(&c, lfd, &srv, now) == 0) {
		CHECK_EQ_INT(conn_deadline(&c, cf.timeout_ms), now + (uint64_t)cf.connect_timeout_ms * 1000);
		conn_timers(&c, now + (uint64_t)cf.connect_timeout_ms * 1000 - 1);
		CHECK(c.state == CONN_HANDSHAKING, "timed out early");
		conn_timers(&c, now + (uint64_t)cf.connect_timeout_ms * 1000);
		CHECK(c.state == CONN_IDLE, "handshake timer: state %s", conn_state_name(c.state));
		CHECK_EQ_INT(ns.st.failures, 3);
		conn_event(&c, c.gen - 1, POLLIN, now);
		CHECK(c.state == CONN_IDLE, "a stale event changed the state");
		close(srv);
	}

	/* A READY connection lost under load: sent q0 (blamed before), q1,
	 * q2; queued q3, q4. */
	failures = (unsigned)ns.st.failures;
	if (io_open(&c, lfd, &srv, now) == 0) {
		q[0] = query_waiting();
		for (i = 1; i < 5; i++) {
			q[i] = query_new(PQ_UDP, io_done, now);
			if (q[i] == NULL)
				break;
			q[i]->qlen = 12;
			query_start(q[i], now);
		}
		CHECK(i == 5 && q[0] != NULL, "no slots");
		if (i == 5 && q[0] != NULL) {
			for (i = 0; i < 5; i++)
				CHECK(conn_assign(&c, q[i]) == 0, "conn_assign %u", i);
			for (i = 0; i < 3; i++) {
				pq_list_remove(q[i]);
				pq_list_push(&c.sent, q[i]);
			}
			q[0]->resends = 1;
			c.state = CONN_READY; /* by hand: see above */
			c.received = 0;
			c.first_suspect = 1;
			(void)conn_take_requeued();
			close(srv);
			conn_event(&c, c.gen, POLLIN, now);
			CHECK(c.state == CONN_IDLE, "lost: state %s", conn_state_name(c.state));
			CHECK_EQ_INT(io_done_count, 1);
			CHECK_EQ_INT(io_done_how, QUERY_LOST);
			CHECK_EQ_INT(stats.lost_twice - lost, 1);
			CHECK_EQ_INT(conn_take_requeued(), 4);
			CHECK_EQ_INT(ns.st.reconnects, 1);
			CHECK_EQ_INT(ns.st.failures, failures); /* a query blamed before: not the server */
			/* The waiting order: sent in order written, then unwritten. */
			for (i = 1; i < 5; i++) {
				struct pending_query *w = query_waiting();

				CHECK(w == q[i], "waiting[%u] is not q%u", i - 1, i);
				if (w != q[i])
					break;
				pq_list_remove(w);
				pq_list_push(&c.sendq, w); /* out of the way; ended below */
			}
			for (i = 1; i < 5; i++)
				CHECK_EQ_INT(q[i]->resends, 0);
		}
	}
	query_end_all(now);
	CHECK_EQ_INT(pq_in_use(), 0);
	c.sendq.head = c.sendq.tail = NULL;
	c.sendq.count = 0;
	/* Refused: nothing listens any more. */
	close(lfd);
	failures = (unsigned)ns.st.failures;
	conn_open(&c, now);
	for (i = 0; i < 10 && c.state == CONN_CONNECTING; i++) {
		struct pollfd pfd = { c.fd, POLLOUT, 0 };

		(void)poll(&pfd, 1, 1000);
		conn_event(&c, c.gen, POLLOUT, now);
	}
	CHECK(c.state == CONN_IDLE, "refused: state %s", conn_state_name(c.state));
	CHECK_EQ_INT(ns.st.failures, failures + 1);
	log_level = saved_level;
	free(block);
}

const struct unit_test conn_tests[] = {
	{ "conn_deadline", test_conn_deadline },
	{ "conn_deadline_transfer", test_conn_deadline_transfer },
	{ "conn_poll_events", test_conn_poll_events },
	{ "conn_io", test_conn_io },
	{ "ns_backoff", test_ns_backoff },
	{ "ns_loss_rests", test_ns_loss_rests },
	{ "ns_choose_conn", test_ns_choose_conn },
	{ NULL, NULL },
};
