/* SPDX-License-Identifier: MIT */
/* Unit tests for query.c, a query's life, with a fake clock: admission,
 * the waiting FIFO and requeue at its front, assignment to a connection,
 * one end per query through its completion (the upstream's hook first when
 * a connection holds it), deadlines and expiry in order, serve-stale's
 * early reply, and the end of everything at exit. */
#include <stdint.h>
#include <string.h>

#include "query.h"
#include "stats.h"
#include "unit.h"

#define MAX_EVENTS 32

/* What the completion and the upstream hook saw, in order. */
static struct event {
	char kind;                 /* 'd': completion, 'f': upstream hook */
	struct pending_query *q;
	enum query_end how;
	size_t len;
	uint64_t now;
	int conn;                  /* q->conn when called */
	int listed;                /* q->list != NULL when called */
} events[MAX_EVENTS];
static unsigned nevents;

static void
record(char kind, struct pending_query *q, enum query_end how, size_t len, uint64_t now)
{
	if (nevents == MAX_EVENTS)
		return;
	events[nevents].kind = kind;
	events[nevents].q = q;
	events[nevents].how = how;
	events[nevents].len = len;
	events[nevents].now = now;
	events[nevents].conn = q->conn;
	events[nevents].listed = q->list != NULL;
	nevents++;
}

static void
done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len, uint16_t qend,
    uint64_t now)
{
	(void)msg;
	(void)qend;
	record('d', q, how, len, now);
}

/* As nameserver.c's ns_forget: off the connection's lists. */
static void
forget(struct pending_query *q, enum query_end how, uint64_t now)
{
	record('f', q, how, 0, now);
	pq_list_remove(q);
	q->conn = -1;
}

static int
setup(void)
{
	static struct conf conf;

	conf.timeout_ms = 2000;
	query_init(&conf, forget);
	nevents = 0;
	return unit_pq_setup();
}

/* --- Admission: a slot with its deadline; started, it waits in FIFO order;
 * requeued, it goes to the front; dropped, no completion runs. */
static void
test_query_admit_wait(void)
{
	struct pending_query *a, *b, *c;

	if (setup() != 0)
		return;
	a = query_new(PQ_UDP, done, 1000);
	b = query_new(PQ_TCP, done, 2000);
	c = query_new(PQ_UDP, done, 3000);
	if (a == NULL || b == NULL || c == NULL) {
		CHECK(0, "query_new failed");
		return;
	}
	CHECK_EQ_INT(a->state, QUERY_ADMITTED);
	CHECK_EQ_INT(a->deadline_us, 1000 + 2000 * 1000);
	CHECK_EQ_INT(b->transport, PQ_TCP);
	CHECK(query_waiting() == NULL, "an admitted query is waiting before query_start");
	query_start(a, 1000);
	query_start(b, 2000);
	CHECK_EQ_INT(a->state, QUERY_WAITING);
	CHECK(query_waiting() == a, "the first started is not first to go");
	query_drop(c);
	CHECK_EQ_INT(nevents, 0);
	CHECK_EQ_INT(pq_in_use(), 2);
	/* a goes to a connection; it is lost and comes back before b. */
	{
		struct pq_list sendq = { NULL, NULL, 0 };

		query_assign(a, &sendq, 3);
		CHECK_EQ_INT(a->state, QUERY_SENT);
		CHECK_EQ_INT(a->conn, 3);
		CHECK(sendq.head == a && query_waiting() == b, "assign did not move a");
		a->conn = -1; /* as pq_hash_del does on a lost connection */
		query_requeue(a);
		CHECK(sendq.count == 0, "requeue left a on the send queue");
	}
	CHECK_EQ_INT(a->state, QUERY_WAITING);
	CHECK(query_waiting() == a, "a requeued query is not at the front");
	query_end_all(5000);
	CHECK_EQ_INT(nevents, 2);
	CHECK(events[0].q == a && events[0].how == QUERY_SHUTDOWN, "end_all: a first, SHUTDOWN");
	CHECK(events[1].q == b && events[1].how == QUERY_SHUTDOWN, "end_all: then b");
	CHECK(query_waiting() == NULL, "end_all left a query waiting");
	CHECK_EQ_INT(pq_in_use(), 0);
}

/* --- Expiry: due queries end EXPIRED in deadline order, counted; one held
 * by a connection goes through the upstream hook first, off its list when
 * the completion runs; one not yet due stays. */
static void
test_query_expire(void)
{
	struct pending_query *a, *b, *c;
	struct pq_list sendq = { NULL, NULL, 0 };
	uint64_t timeouts = stats.timeouts;

	if (setup() != 0)
		return;
	a = query_new(PQ_UDP, done, 0);
	b = query_new(PQ_UDP, done, 500000);
	c = query_new(PQ_UDP, done, 900000);
	if (a == NULL || b == NULL || c == NULL) {
		CHECK(0, "query_new failed");
		return;
	}
	query_start(a, 0);
	query_start(b, 500000);
	query_start(c, 900000);
	query_assign(b, &sendq, 7);
	query_expire(1999999); /* nothing due yet: a's deadline is 2000000 */
	CHECK_EQ_INT(nevents, 0);
	query_expire(2500000); /* a and b due, c at 2900000 */
	CHECK_EQ_INT(nevents, 3);
	CHECK(events[0].kind == 'd' && events[0].q == a && events[0].how == QUERY_EXPIRED,
	    "a did not expire first");
	CHECK(events[1].kind == 'f' && events[1].q == b && events[1].conn == 7,
	    "b's connection was not told before its completion");
	CHECK(events[2].kind == 'd' && events[2].q == b && events[2].conn == -1 &&
	    !events[2].listed, "b's completion ran while still on a connection");
	CHECK_EQ_INT(stats.timeouts - timeouts, 2);
	CHECK(query_waiting() == c, "c, not yet due, is gone");
	CHECK_EQ_INT(pq_in_use(), 1);
	query_expire(2900000);
	CHECK_EQ_INT(nevents, 4);
	CHECK(events[3].q == c, "c did not expire at its deadline");
	CHECK_EQ_INT(pq_in_use(), 0);
}

/* --- Every end runs the completion once and frees the slot; the ends
 * that say why are counted; serve stale's early reply runs it once, and
 * the final end does not answer again. */
static void
test_query_done(void)
{
	static const enum query_end hows[] = {
		QUERY_ANSWERED, QUERY_UNREACHABLE, QUERY_LOST, QUERY_FAILED,
	};
	uint64_t fast = stats.fast_fail, lost = stats.lost_twice;
	struct pending_query *q;
	uint8_t answer[12] = { 0 };
	unsigned i;

	if (setup() != 0)
		return;
	for (i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		q = query_new(PQ_UDP, done, 10);
		if (q == NULL) {
			CHECK(0, "query_new failed");
			return;
		}
		query_start(q, 10);
		query_done(q, hows[i], hows[i] == QUERY_ANSWERED ? answer : NULL,
		    hows[i] == QUERY_ANSWERED ? sizeof(answer) : 0, 0, 20);
		CHECK(nevents == i + 1 && events[i].how == hows[i] && events[i].kind == 'd',
		    "end %d: no completion", (int)hows[i]);
		CHECK(!events[i].listed, "end %d: completion ran with the query on a list",
		    (int)hows[i]);
	}
	CHECK_EQ_INT(events[0].len, sizeof(answer));
	CHECK_EQ_INT(stats.fast_fail - fast, 1);
	CHECK_EQ_INT(stats.lost_twice - lost, 1);
	CHECK(query_waiting() == NULL && pq_in_use() == 0, "a slot is left");

	nevents = 0;
	q = query_new(PQ_TCP, done, 10);
	if (q == NULL) {
		CHECK(0, "query_new failed");
		return;
	}
	query_start(q, 10);
	query_reply(q, QUERY_ANSWERED, answer, sizeof(answer), 0, 30);
	CHECK_EQ_INT(nevents, 1);
	CHECK_EQ_INT(q->state, QUERY_REPLIED);
	CHECK_EQ_INT(q->transport, PQ_NONE);
	query_reply(q, QUERY_ANSWERED, answer, sizeof(answer), 0, 31);
	CHECK_EQ_INT(nevents, 1);
	query_done(q, QUERY_ANSWERED, answer, sizeof(answer), 0, 40);
	CHECK_EQ_INT(nevents, 1);
	CHECK_EQ_INT(pq_in_use(), 0);
}

/* A stream's origin: room as set here; -1 once gone. */
static size_t room_queued = 100, room_cap = 1000;
static int room_gone;

static int
room(const struct pending_query *q, size_t *queued, size_t *cap)
{
	(void)q;
	if (room_gone)
		return -1;
	*queued = room_queued;
	*cap = room_cap;
	return 0;
}

/* --- A stream (zone transfer): its messages go to the completion as
 * QUERY_PART, the slot living on; its room is the origin's; once its
 * connection has it, --timeout no longer ends it, and its one end is
 * query_done like any query's. */
static void
test_query_stream(void)
{
	struct pending_query *a, *b;
	uint8_t msg[20] = { 0 };
	size_t queued = 0, cap = 0;

	if (setup() != 0)
		return;
	a = query_new(PQ_TCP, done, 1000);
	b = query_new(PQ_TCP, done, 1500);
	if (a == NULL || b == NULL) {
		CHECK(0, "no slot");
		return;
	}
	CHECK_EQ_INT(query_room(a, &queued, &cap), -1); /* not a stream */
	query_stream(a, room);
	CHECK_EQ_INT(query_room(a, &queued, &cap), 0);
	CHECK_EQ_INT(queued, 100);
	CHECK_EQ_INT(cap, 1000);
	room_gone = 1;
	CHECK_EQ_INT(query_room(a, &queued, &cap), -1);
	room_gone = 0;
	query_start(a, 1000);
	query_start(b, 1500);
	query_streaming(a);
	query_part(a, msg, sizeof(msg), 1100);
	query_part(a, msg, 7, 1200);
	CHECK_EQ_INT(nevents, 2);
	CHECK(events[0].how == QUERY_PART && events[0].len == sizeof(msg) && events[1].len == 7,
	    "two parts, in order");
	/* Long past --timeout (2 s): b expires, a goes on. */
	query_expire(10000000);
	CHECK_EQ_INT(nevents, 3);
	CHECK(events[2].q == b && events[2].how == QUERY_EXPIRED, "b expired");
	CHECK_EQ_INT(pq_in_use(), 1);
	query_done(a, QUERY_ANSWERED, msg, 12, 0, 10000001);
	CHECK_EQ_INT(nevents, 4);
	CHECK(events[3].q == a && events[3].how == QUERY_ANSWERED, "a's one end");
	CHECK_EQ_INT(pq_in_use(), 0);
}

const struct unit_test query_tests[] = {
	{ "query_stream", test_query_stream },
	{ "query_admit_wait", test_query_admit_wait },
	{ "query_expire", test_query_expire },
	{ "query_done", test_query_done },
	{ NULL, NULL },
};
