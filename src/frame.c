/* SPDX-License-Identifier: MIT */
/* Stream deframing with a zero-copy fast path: most answers arrive whole
 * in one TLS record and are handled where they lie. */
#include <string.h>

#include "dns.h"
#include "frame.h"

size_t
frame_feed(struct frame_reader *fr, uint8_t *data, size_t len, frame_fn fn, void *arg)
{
	size_t used = 0;

	while (used < len) {
		uint8_t *p = data + used;
		size_t left = len - used, need, take;

		if (fr->have == 0 && left >= 2 && left - 2 >= dns_get16(p)) {
			size_t mlen = dns_get16(p);

			used += 2 + mlen;
			if (fn(arg, p + 2, mlen) != 0)
				return used;
			continue;
		}
		need = fr->have < 2 ? 2 - fr->have : 2 + (size_t)dns_get16(fr->buf) - fr->have;
		take = left < need ? left : need;
		memcpy(fr->buf + fr->have, p, take);
		fr->have += take;
		used += take;
		if (fr->have >= 2 && fr->have == 2 + (size_t)dns_get16(fr->buf)) {
			fr->have = 0;
			if (fn(arg, fr->buf + 2, dns_get16(fr->buf)) != 0)
				return used;
		}
	}
	return used;
}
