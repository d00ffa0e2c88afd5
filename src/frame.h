/* SPDX-License-Identifier: MIT */
/* Length-prefixed DNS message streams (RFC 1035 §4.2.2, RFC 7858 §3.3):
 * cut a byte stream that arrives in arbitrary pieces into whole messages.
 * A message wholly inside one piece is passed in place; one that spans
 * pieces is assembled in a buffer the caller owns (2 + 65535 bytes). */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_BUF_SIZE (2 + 65535)

struct frame_reader {
	uint8_t *buf;   /* FRAME_BUF_SIZE bytes, owned by the caller */
	size_t have;    /* bytes of the current message in buf, prefix included */
};

/* Called for each whole message (len may be 0: the caller decides what a
 * zero-length message means). Return 0 to go on, -1 to stop feeding. The
 * message may be modified in place but not kept after the call. */
typedef int (*frame_fn)(void *arg, uint8_t *msg, size_t len);

/* Feed len bytes. Returns how many were consumed: all of them, or fewer
 * when fn returned -1 (the rest belongs to the caller to deal with). */
size_t frame_feed(struct frame_reader *fr, uint8_t *data, size_t len, frame_fn fn, void *arg);

#endif
