/* SPDX-License-Identifier: MIT */
/* Unit tests for the TCP client I/O over a socketpair: pipelined queries
 * in one write and a query split across writes (its length prefix too)
 * are all answered in order; a client that stops reading gets every
 * answer, whole and in order, once it reads again, through the partial
 * writes, the remainder kept in its own buffer and the back-pressure in
 * between; and one whose answers make no progress for the idle timeout
 * is closed and counted even with queries read and not yet answered. The
 * answers are NOTIMP replies the proxy makes itself (opcode STATUS), so
 * no upstream is involved. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bounds.h"
#include "client.h"
#include "conf.h"
#include "loop.h"
#include "port.h"
#include "stats.h"
#include "unit.h"

#define IDLE_MS 60000
#define NAME_LABELS 4 /* a 4 x 60-byte name: answers of about 270 bytes */

static struct conf cf;

int
unit_loop_setup(void)
{
	static int done, ok;

	if (!done) {
		done = 1;
		ok = loop_init(64) == 0;
		CHECK(ok, "loop_init(64) failed");
	}
	return ok ? 0 : -1;
}

/* client_init once per process (its tables are static): TCP only, no
 * listener. */
static int
setup(void)
{
	static int done, ok;
	char err[256] = "";

	if (!done) {
		done = 1;
		conf_defaults(&cf);
		cf.udp = 0;
		cf.tcp = 1;
		cf.listen_count = 0;
		cf.max_tcp_clients = 4;
		cf.tcp_idle_ms = IDLE_MS;
		ok = unit_loop_setup() == 0 && client_init(&cf, err, sizeof(err)) == 0;
		CHECK(ok, "client_init: %s", err);
	}
	return ok ? 0 : -1;
}

/* A connected socketpair, both ends non-blocking, one adopted as a TCP
 * client, its send buffer then made sndbuf bytes when not 0: the least
 * Linux takes splits a turn's answers into several messages, so the
 * proxy's writes are taken in part. Returns the peer's end, or -1. */
static int
client_pair(int sndbuf)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		CHECK(0, "socketpair: %s", strerror(errno));
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (client_tcp_adopt(sv[0], port_now_us()) != 0) {
		CHECK(0, "no free TCP client slot");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (sndbuf > 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return sv[1];
}

/* One turn of the loop at time now, not waiting for anything. */
static void
turn(uint64_t now)
{
	loop_begin(now);
	client_prepare(now);
	loop_deadline(now);
	loop_poll();
}

/* A framed query with opcode STATUS (answered NOTIMP) for a long name, ID
 * id, into buf; returns its size. */
static size_t
framed_query(uint8_t *buf, uint16_t id)
{
	size_t n = 2;
	int i;

	buf[n++] = (uint8_t)(id >> 8);
	buf[n++] = (uint8_t)id;
	buf[n++] = 0x10; /* opcode 2 */
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 1; /* QDCOUNT */
	memset(buf + n, 0, 6);
	n += 6;
	for (i = 0; i < NAME_LABELS; i++) {
		buf[n++] = 60;
		memset(buf + n, 'a' + i, 60);
		n += 60;
	}
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 1; /* A */
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	buf[0] = (uint8_t)((n - 2) >> 8);
	buf[1] = (uint8_t)(n - 2);
	return n;
}

/* Write all of buf to fd (the peer's end), running turns while the proxy
 * reads; 0, or -1 when it would not take it all. */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int idle = 0;

	while (off < len && idle < 1000) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			idle = 0;
		} else {
			idle++;
		}
		turn(port_now_us());
	}
	return off == len ? 0 : -1;
}

/* Framed answers read from fd into their IDs (ids[*count...]) and rcodes
 * (all NOTIMP and whole, or a check fails). pend/pend_len carry a partial
 * answer across calls. Returns the bytes read. */
struct answers {
	uint8_t pend[2 + 65535];
	size_t pend_len;
	unsigned count;
	uint16_t ids[4096];
	unsigned bad;
};

static size_t
read_answers(int fd, struct answers *a)
{
	size_t total = 0;

	for (;;) {
		ssize_t n = read(fd, a->pend + a->pend_len, sizeof(a->pend) - a->pend_len);
		size_t off = 0;

		if (n <= 0)
			return total;
		total += (size_t)n;
		a->pend_len += (size_t)n;
		while (a->pend_len - off >= 2) {
			size_t mlen = (size_t)a->pend[off] << 8 | a->pend[off + 1];
			const uint8_t *m = a->pend + off + 2;

			if (a->pend_len - off < 2 + mlen)
				break;
			if (mlen < 12 || (m[2] & 0x80) == 0 || (m[3] & 0x0f) != 4)
				a->bad++;
			if (a->count < sizeof(a->ids) / sizeof(a->ids[0]))
				a->ids[a->count] = (uint16_t)(m[0] << 8 | m[1]);
			a->count++;
			off += 2 + mlen;
		}
		memmove(a->pend, a->pend + off, a->pend_len - off);
		a->pend_len -= off;
	}
}

static int
in_order(const struct answers *a, unsigned first, unsigned n)
{
	unsigned i;

	if (a->count != n)
		return 0;
	for (i = 0; i < n; i++)
		if (a->ids[i] != first + i)
			return 0;
	return 1;
}

static struct answers ans;

/* Three queries in one write, then a fourth in three pieces: the first
 * byte of its length prefix, the rest of the prefix and half the message,
 * then the rest. Each is answered once whole, in order. */
static void
test_client_tcp_pipelined_and_split(void)
{
	uint8_t buf[4 * 300];
	size_t len = 0, q;
	int fd, i;

	if (setup() != 0 || (fd = client_pair(0)) == -1)
		return;
	memset(&ans, 0, sizeof(ans));
	for (i = 0; i < 3; i++)
		len += framed_query(buf + len, (uint16_t)(100 + i));
	CHECK(write_all(fd, buf, len) == 0, "three queries not taken");
	for (i = 0; i < 5; i++)
		turn(port_now_us());
	read_answers(fd, &ans);
	CHECK(in_order(&ans, 100, 3) && ans.bad == 0, "pipelined: %u answers, first id %u, %u bad",
	    ans.count, ans.ids[0], ans.bad);

	q = framed_query(buf, 103);
	CHECK(write_all(fd, buf, 1) == 0, "first piece not taken");
	turn(port_now_us());
	CHECK(write_all(fd, buf + 1, q / 2) == 0, "second piece not taken");
	for (i = 0; i < 3; i++)
		turn(port_now_us());
	read_answers(fd, &ans);
	CHECK_EQ_INT(ans.count, 3); /* nothing for the incomplete query */
	CHECK(write_all(fd, buf + 1 + q / 2, q - 1 - q / 2) == 0, "last piece not taken");
	for (i = 0; i < 3; i++)
		turn(port_now_us());
	read_answers(fd, &ans);
	CHECK(in_order(&ans, 100, 4) && ans.bad == 0, "split: %u answers, %u bad", ans.count, ans.bad);
	close(fd);
	turn(port_now_us()); /* the proxy sees the close and frees the slot */
	turn(port_now_us());
}

/* A client that sends 2000 queries without reading: the socket fills
 * (a small one, so writes are taken in part), answers wait in its own
 * buffer, the proxy stops reading (back-pressure). Once it reads, every
 * answer comes, whole and in order, and it is never closed. */
static void
test_client_tcp_slow_reader(void)
{
	static uint8_t buf[2000 * 300];
	size_t len = 0, got;
	uint64_t slow = stats.tcp_slow;
	int fd, i, rounds;

	if (setup() != 0 || (fd = client_pair(1)) == -1)
		return;
	memset(&ans, 0, sizeof(ans));
	for (i = 0; i < 2000; i++)
		len += framed_query(buf + len, (uint16_t)i);
	/* The peer's socket takes the queries as far as the proxy reads them;
	 * the proxy stops once its answers back up. */
	{
		size_t off = 0;

		for (rounds = 0; rounds < 200 && off < len; rounds++) {
			ssize_t n = write(fd, buf + off, len - off);

			if (n > 0)
				off += (size_t)n;
			turn(port_now_us());
		}
		/* Then read while writing the rest. */
		for (rounds = 0; rounds < 20000 && (off < len || ans.count < 2000); rounds++) {
			ssize_t n = off < len ? write(fd, buf + off, len - off) : 0;

			if (n > 0)
				off += (size_t)n;
			turn(port_now_us());
			got = read_answers(fd, &ans);
			(void)got;
		}
	}
	CHECK(in_order(&ans, 0, 2000) && ans.bad == 0, "slow reader: %u answers, %u bad, in order %d",
	    ans.count, ans.bad, in_order(&ans, 0, ans.count));
	CHECK_EQ_INT(stats.tcp_slow, slow);
	close(fd);
	turn(port_now_us());
	turn(port_now_us());
}

/* A client that never reads: once its answers make no progress for the
 * idle timeout it is closed and counted, with queries still unread. */
static void
test_client_tcp_stalled_closed(void)
{
	static uint8_t buf[2000 * 300];
	size_t len = 0, off = 0;
	uint64_t slow = stats.tcp_slow, now;
	int fd, i, rounds;
	char c;

	if (setup() != 0 || (fd = client_pair(0)) == -1)
		return;
	for (i = 0; i < 2000; i++)
		len += framed_query(buf + len, (uint16_t)i);
	for (rounds = 0; rounds < 200 && off < len; rounds++) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0)
			off += (size_t)n;
		turn(port_now_us());
	}
	CHECK(off < len, "2000 queries taken without a read: no back-pressure");
	now = port_now_us();
	turn(now + (uint64_t)IDLE_MS * 1000 / 2);
	CHECK_EQ_INT(stats.tcp_slow, slow); /* not yet */
	turn(now + (uint64_t)IDLE_MS * 1000 + 1000000);
	CHECK_EQ_INT(stats.tcp_slow, slow + 1);
	/* Closed: what was written comes, then the end. */
	for (rounds = 0; rounds < 100000; rounds++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
	CHECK(read(fd, &c, 1) == 0, "the proxy's end is still open");
	close(fd);
}

const struct unit_test client_tests[] = {
	{ "client_tcp_pipelined_and_split", test_client_tcp_pipelined_and_split },
	{ "client_tcp_slow_reader", test_client_tcp_slow_reader },
	{ "client_tcp_stalled_closed", test_client_tcp_stalled_closed },
	{ NULL, NULL },
};
