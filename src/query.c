/* SPDX-License-Identifier: MIT */
/* A query's life: admitted, waiting for a connection, sent, and its one
 * end (answered, failed, expired), each through query_done. The slots and
 * their lists are pending.c's; the waiting queue and the deadlines are
 * run from here. */
#include "loop.h"
#include "query.h"
#include "stats.h"

static unsigned timeout_ms;
static query_forget_fn *upstream_forget;
static struct pq_list waiting;   /* queries with no connection yet, FIFO */

void
query_init(const struct conf *conf, query_forget_fn *forget)
{
	timeout_ms = conf->timeout_ms;
	upstream_forget = forget;
	waiting.head = waiting.tail = NULL;
	waiting.count = 0;
}

struct pending_query *
query_new(uint8_t origin, query_done_fn *done, uint64_t now)
{
	struct pending_query *q = pq_alloc(now, timeout_ms);

	if (q == NULL)
		return NULL;
	q->transport = origin;
	q->done = done;
	q->state = QUERY_ADMITTED;
	return q;
}

void
query_drop(struct pending_query *q)
{
	pq_free(q);
}

void
query_start(struct pending_query *q, uint64_t now)
{
	(void)now;
	q->state = QUERY_WAITING;
	pq_list_push(&waiting, q);
}

struct pending_query *
query_waiting(void)
{
	return waiting.head;
}

void
query_assign(struct pending_query *q, struct pq_list *sendq, int conn)
{
	pq_list_remove(q);
	q->conn = conn;
	q->state = QUERY_SENT;
	pq_list_push(sendq, q);
}

void
query_requeue(struct pending_query *q)
{
	pq_list_remove(q);
	q->state = QUERY_WAITING;
	pq_list_push_front(&waiting, q);
}

void
query_reply(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	if (q->state == QUERY_REPLIED)
		return;
	q->done(q, how, msg, len, qend, now);
	q->transport = PQ_NONE;
	q->state = QUERY_REPLIED;
}

void
query_done(struct pending_query *q, enum query_end how, uint8_t *msg, size_t len,
    uint16_t qend, uint64_t now)
{
	/* Still held by a connection (expired, or the process leaving): the
	 * upstream accounts for it and takes it off its lists first. */
	if (q->conn >= 0 && upstream_forget != NULL)
		upstream_forget(q, how, now);
	pq_list_remove(q); /* the waiting queue */
	switch (how) {
	case QUERY_EXPIRED:
		stats.timeouts++;
		break;
	case QUERY_UNREACHABLE:
		stats.fast_fail++;
		break;
	case QUERY_LOST:
		stats.lost_twice++;
		break;
	case QUERY_ANSWERED:
	case QUERY_FAILED:
	case QUERY_SHUTDOWN:
		break;
	}
	if (q->state != QUERY_REPLIED)
		q->done(q, how, msg, len, qend, now);
	pq_free(q);
}

/* RFC 8906: silence is not an answer. */
void
query_expire(uint64_t now)
{
	struct pending_query *q;

	while ((q = pq_oldest()) != NULL && q->deadline_us <= now)
		query_done(q, QUERY_EXPIRED, NULL, 0, 0, now);
	if (q != NULL)
		loop_deadline(q->deadline_us);
}

void
query_end_all(uint64_t now)
{
	struct pending_query *q;

	while ((q = pq_oldest()) != NULL)
		query_done(q, QUERY_SHUTDOWN, NULL, 0, 0, now);
}
