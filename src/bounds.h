/* SPDX-License-Identifier: MIT */
/* Every static limit of dns-tls-proxy, each with the reason for its number.
 * Run-time sizes (slots, clients, pool) come from the configuration; these
 * are the fixed bounds and the defaults those sizes start from. */
#ifndef BOUNDS_H
#define BOUNDS_H

/* DNS header size (RFC 1035 §4.1.1): anything shorter cannot carry an ID. */
#define DNS_HEADER_LEN 12
/* Largest DNS message over TCP/TLS: the two-byte length prefix (RFC 1035 §4.2.2). */
#define DNS_MSG_MAX 65535
/* Classic UDP payload limit without EDNS (RFC 1035 §4.2.1). */
#define DNS_UDP_MIN 512
/* Longest domain name in wire form (RFC 1035 §2.3.4) and longest label. */
#define DNS_NAME_MAX 255
#define DNS_LABEL_MAX 63
/* Largest query we hold for forwarding. Real queries are a question plus an OPT
 * record with a few options (cookies, ECS, client padding to 128 or 468 bytes,
 * RFC 8467): well under 1 KiB. Each pending slot keeps a copy (it is replayed
 * on another connection if one breaks), so this sets the slot size. Room is
 * left for the 128-byte padding block the proxy may add. */
#define DNS_QUERY_MAX 1024
#define DNS_QUERY_ROOM (DNS_QUERY_MAX + 256)
/* Room kept in every slot. A query with EDNS of up to 248 bytes still fits
 * once padded to 256 (RFC 8467's 128-byte blocks), which covers nearly all
 * real queries; a bigger one borrows a DNS_QUERY_ROOM buffer from a pool of
 * max-inflight / LARGE_QUERY_SHARE (at least LARGE_QUERY_MIN). This keeps a
 * slot near 450 bytes instead of 1.4 KiB. */
#define DNS_QUERY_INLINE 256
#define LARGE_QUERY_SHARE 16
#define LARGE_QUERY_MIN 4
/* UDP datagrams are read and answers sent this many per system call
 * (recvmmsg/sendmmsg where the platform has them). Each receive buffer
 * holds DNS_QUERY_MAX + 1 bytes: anything bigger is seen as truncated and
 * refused. Answers wait for the end of the turn in an arena this big;
 * bigger ones are sent at once. */
#define UDP_BATCH 32
/* UDP receive buffer asked of the kernel: a second of a busy LAN's queries. */
#define UDP_SOCKET_BUFFER (1024 * 1024)
#define UDP_TX_ARENA 32768
/* Largest UDP payload over IPv4 (65535 - 20 - 8): the most a client can take. */
#define UDP_PAYLOAD_MAX 65507
/* Largest answer sent whole over UDP (--max-udp-size), whatever EDNS size
 * the client claims: DNS Flag Day 2020's 1232, which fits an IPv6 minimum
 * MTU of 1280 without fragments. Bigger datagrams are fragmented on many
 * paths (PPPoE, tunnels), where fragments get lost or spoofed; a bigger
 * answer goes back with TC and the client asks again over TCP. */
#define DEF_MAX_UDP_SIZE 1232

/* Pending queries in flight, all clients together. Each slot is about
 * DNS_QUERY_INLINE + 200 bytes; 512 slots is about 230 KiB reserved,
 * touched only as load needs it. */
#define DEF_MAX_INFLIGHT 512
#define MAX_MAX_INFLIGHT 65536
/* Concurrent TCP clients. Each owns an output buffer able to hold one largest
 * answer (72 KiB, touched only as far as answers fill it). 64 covers a
 * forwarder such as dnsmasq (a handful) and a busy LAN with room to spare. */
#define DEF_MAX_TCP_CLIENTS 64
#define MAX_MAX_TCP_CLIENTS 4096
/* TCP connections one client (an IPv4 address, an IPv6 /64) may hold at
 * once (--max-tcp-per-client): a stub resolver keeps one or two, a
 * forwarder a few; 16 leaves room for those and keeps one host from taking
 * the table. */
#define DEF_MAX_TCP_PER_CLIENT 16
/* Queries in flight one client may have (--max-inflight-per-client) by
 * default: this share of --max-inflight, so that one client asking slow
 * names leaves three quarters of the table to the others. */
#define INFLIGHT_CLIENT_SHARE 4
/* Queries one TCP client may have in flight before the proxy stops reading
 * from it (RFC 7766 §6.2.1.1 pipelining, bounded so one client cannot take
 * every slot). */
#define TCP_CLIENT_INFLIGHT_MAX 64
/* Stop reading queries from a TCP client while this many answer bytes wait to
 * be written to it: a slow reader gets back-pressure, not memory. */
#define TCP_CLIENT_OUT_HIGH 8192
/* A TCP client's queries are read in shared space; what a read leaves (a
 * query cut by the end of the read, or queries held back by back-pressure)
 * is kept in the client's slot when at most this long, else in its own
 * input buffer. A pipelining client's reads end in the middle of a query
 * all the time, and most queries are under 100 bytes (a question and an
 * OPT record with a cookie), so most clients never touch a page of their
 * own. */
#define TCP_IN_SHORT 128
/* TCP answers of one turn, for every client together, wait in one shared
 * arena and go out with one write per client at the end of the turn; only
 * what a socket does not take is copied to the client's own output buffer,
 * so clients that read their answers touch no page of theirs. A turn of
 * a loaded proxy answers a few hundred queries (about 100 bytes each over
 * TCP, framed); 32 KiB holds that, as UDP_TX_ARENA does for UDP, and a
 * full arena is written at once and used again. Bigger answers go to the
 * client's own buffer. */
#define TCP_STAGE_ARENA 32768
/* The kernel's send buffer of a TCP client socket (SO_SNDBUF; Linux doubles
 * it to count its own overhead). Unset, Linux grows it up to tcp_wmem's
 * 4 MiB: a client that sends queries answered from the cache but never
 * reads parks megabytes of answers in kernel memory, a router's scarcest,
 * before back-pressure or the idle timeout can see it. 64 KiB, as for a
 * transfer (XFR_CLIENT_SNDBUF), and the client's own output buffer take
 * about 200 KiB at once: the answers to a whole pipeline
 * (TCP_CLIENT_INFLIGHT_MAX) of up to 3 KiB each arriving together, so a
 * client that reads is not closed for a burst, and one that reads its
 * answers as they come keeps its own buffer untouched. */
#define TCP_CLIENT_SNDBUF 65536

/* Upstream connections per nameserver (the pool). One pipelined TLS
 * connection carries thousands of queries a second; a second spreads load. */
#define DEF_POOL_SIZE 2
#define MAX_POOL_SIZE 64
#define MAX_NAMESERVERS 16
/* Queries written on one connection and not yet answered. Public resolvers
 * accept around 100 concurrent pipelined queries per connection. */
#define CONN_INFLIGHT_MAX 100
/* Upstream IDs of queries given up unanswered on a live connection (timed
 * out) are not used again on it: their answer may still come, and must not
 * be taken for another query's. A bitmap of the 65536 IDs per connection
 * (8 KiB, touched only once a query is given up) marks them; a late answer
 * clears its bit. A connection with this many marked takes no new queries
 * and closes once idle (the next one starts clean), so a free ID is always
 * found within a few random draws. */
#define ID_MAP_BYTES (65536 / 8)
#define ID_BURNT_MAX 16384
/* A further pooled connection is opened only when every ready one carries at
 * least this many queries, so light load stays on a single connection. */
#define CONN_SPREAD_AT 32
/* The reduced build for tiny routers (make static TINY=1) starts smaller: a
 * home router's dnsmasq rarely has more than a few dozen queries out. */
#if defined(DTP_TINY)
#undef DEF_MAX_INFLIGHT
#define DEF_MAX_INFLIGHT 128
#undef DEF_MAX_TCP_CLIENTS
#define DEF_MAX_TCP_CLIENTS 16
#undef DEF_POOL_SIZE
#define DEF_POOL_SIZE 1
#endif

/* Answer cache (--cache-size KiB, 0 turns it off), reserved whole at
 * start-up: a hash index of one bucket per CACHE_BUCKET_BYTES and a ring
 * holding the entries back to back (src/cache.c, docs/cache.md). An entry
 * takes 32 bytes, its name, 5 key bytes and the answer's sections, rounded up
 * to 8: an A or AAAA answer about 80 bytes, a CDN's CNAME chain 200 to 300.
 * 256 KiB holds about 2000 typical answers, over ten times dnsmasq's
 * default of 150 names, and keeps the static build's peak RSS with a full
 * cache within 1.25 MiB (docs/cache.md). The reduced build (TINY=1) has
 * no cache (DTP_NO_CACHE: on OpenWrt, dnsmasq in front caches); built
 * with one, it takes half.
 * Below CACHE_MIN_KIB a cache holds too few answers to be worth its
 * lookups; above MAX_CACHE_KIB is more than any forwarder's working set. */
#define DEF_CACHE_KIB 256
#if defined(DTP_NO_CACHE)
#undef DEF_CACHE_KIB
#define DEF_CACHE_KIB 0 /* a build without the cache (src/feature.h) */
#elif defined(DTP_TINY)
#undef DEF_CACHE_KIB
#define DEF_CACHE_KIB 128
#endif
#define CACHE_MIN_KIB 16
#define MAX_CACHE_KIB 262144
#define CACHE_BUCKET_BYTES 128
/* Largest answer kept, its sections without the question: EDNS's classic
 * 4096-byte payload. Bigger ones (long TXT or DNSKEY sets) are rare, and one
 * would displace dozens of ordinary answers. An entry is also never more
 * than a quarter of the ring, so a small cache holds several. */
#define CACHE_ANSWER_MAX 4096
/* TTLs (seconds). --cache-min-ttl and --cache-max-ttl clamp a positive
 * answer's; RFC 8767 §4 reads a TTL with the high bit set as positive,
 * capped at 7 days, the most --cache-max-ttl takes. A negative answer lives
 * min(SOA TTL, SOA MINIMUM) (RFC 2308 §5) and at most CACHE_NEG_TTL_MAX:
 * RFC 2308 finds one to three hours sensible; an hour lets a name just
 * created appear soon. */
#define DEF_CACHE_MIN_TTL 0
#define DEF_CACHE_MAX_TTL 86400
#define MAX_CACHE_TTL 604800
#define CACHE_NEG_TTL_MAX 3600
/* Serve-stale (RFC 8767 §5): an expired answer is kept --stale-max seconds
 * (the RFC suggests one to three days) and given with TTL 30 when no fresh
 * answer came within --stale-answer-timeout (the RFC's 1.8 s client
 * response timer). */
#define DEF_STALE_MAX_S 86400
#define CACHE_STALE_TTL 30
#define DEF_STALE_ANSWER_TIMEOUT_MS 1800
/* Prefetch: a hit in the last 1/CACHE_PREFETCH_SHARE of an answer's TTL
 * asks for a refresh, as unbound's prefetch does (the last 10 %). */
#define CACHE_PREFETCH_SHARE 10

/* TLS output buffer. BearSSL needs the full 16 KiB + overhead for input, but
 * output may be smaller: records it sends are then at most this big. Queries
 * are small, so 4 KiB of payload per record is plenty. */
#define TLS_OUT_PAYLOAD 4096

/* SPKI pins (RFC 7858 §4.2), all names together: a provider rotating keys
 * publishes two or three per name. */
#define MAX_PINS 16

/* Allowed client prefixes (--allow, and --allow-transfer): the nine private
 * defaults and room. */
#define MAX_ALLOW 32

/* Listen addresses, each with a UDP and a TCP socket. */
#define MAX_LISTEN 8

/* Timeouts, milliseconds. */
#define DEF_QUERY_TIMEOUT_MS 3000   /* client gets SERVFAIL after this; dig waits 5 s */
#define DEF_CONNECT_TIMEOUT_MS 2000 /* TCP connect + TLS handshake */
#define DEF_UP_IDLE_MS 8000         /* under the ~10 s after which providers cut idle connections */
#define DEF_TCP_IDLE_MS 10000       /* an idle TCP client is closed (RFC 7766 §6.2.3) */
/* A zone transfer is given up after this long without a message from the
 * upstream. BIND's max-transfer-idle-in is 60 minutes, but that guards a
 * whole zone load; a relay only needs to notice a dead stream, and a
 * secondary retries on its own refresh timer. 30 s covers a primary
 * pausing to read a large zone from disk (BIND sends the first message of
 * a 100,000-record zone within a second on loopback). */
#define DEF_TRANSFER_IDLE_MS 30000
/* Zone transfers relayed at once. Each has an upstream TLS connection of
 * its own (docs/design.md: a 100,000-record transfer must not hold up the
 * queries pipelined on a pooled one), with the buffers of any connection
 * (about 120 KiB, touched only as far as the transfer's messages go),
 * reserved at start-up only when --allow-transfer is given. A home
 * network's secondaries are one or two; four leaves room for someone's
 * dig while they run. One more gets SERVFAIL, and a secondary tries again
 * at its SOA retry interval (RFC 1035 §4.3.5). */
#define XFR_MAX_ACTIVE 4
/* The kernel's send buffer of a transfer's client socket. Linux grows an
 * unset one up to tcp_wmem's 4 MiB: a client that stops reading would
 * park most of a zone in kernel memory, a router's scarcest. 64 KiB (the
 * kernel doubles it) and the client's 72 KiB output buffer keep a LAN
 * transfer at full speed, and back-pressure then reaches the primary. */
#define XFR_CLIENT_SNDBUF 65536
#define DEF_STATS_INTERVAL_S 60
/* Back-off for a nameserver that failed to connect or handshake: doubles from
 * the base to the cap, so a resolver that comes back is used again within
 * seconds, never after minutes (the routers' top complaint). */
#define BACKOFF_BASE_MS 500
#define BACKOFF_CAP_MS 16000
/* When every nameserver is resting, a new query may still probe the one that
 * failed longest ago, at most this often. */
#define PROBE_INTERVAL_MS 1000
/* Stop taking new work on SIGTERM and let in-flight queries finish this long. */
#define SHUTDOWN_GRACE_MS 1000

/* Batching under load (--batch-window): once the loop is busy (see
 * loop.c), it lets up to this long pass between wake-ups, so that what
 * arrives meanwhile on every socket (queries, answers) is read, encrypted
 * and sent together: one system call, TLS record and wake-up for many
 * queries instead of one each. An idle proxy never waits. A millisecond
 * is small beside the tens of milliseconds an answer from the internet
 * takes, and saves most of what batching can save; the measured trade-off
 * is in docs/performance.md. */
#define DEF_BATCH_WINDOW_US 1000
#define MAX_BATCH_WINDOW_US 10000

/* Work done per wake-up on one socket before others get a turn. */
#define UDP_BURST 128
#define ACCEPT_BURST 16
/* Reads from one TCP client (each up to a query's worth) per wake-up: a
 * client that streams messages the proxy drops costs no slot and no answer,
 * so only this bounds its turn. */
#define TCP_READ_BURST 4
/* accept() failing for want of descriptors or memory: wait this long before
 * trying again rather than spin on a listener that stays readable. */
#define ACCEPT_PAUSE_MS 100

/* --time-file: the last trusted time is written at most this often (and at
 * stop): a router's flash wears with every write, and an hour is as close
 * as the floor needs to be. A saved time more than CLOCK_SAVED_MAX_S after
 * the build is taken for a corrupt file and ignored: as a floor, it would
 * refuse every certificate. */
#define CLOCK_SAVE_INTERVAL_S 3600
#define CLOCK_SAVED_MAX_S (20LL * 366 * 86400)

/* Log lines about a full table are limited to one per this interval. */
#define LOG_RATELIMIT_MS 10000
/* A log line as written: a query-log line (QLOG_LINE_MAX) with the
 * timestamp and level in front. */
#define LOG_LINE_MAX 2048
/* Failure lines of one nameserver ("cannot reach", handshake and
 * authentication failures) while it stays down: the first, then at most
 * one per this interval with a count of those held back: an hour of WAN
 * outage leaves at most 60 lines per nameserver, where probing once a
 * second would write thousands. */
#define LOG_QUIET_MS 60000

/* A query-log line (--log-queries): fixed fields of at most ~450
 * characters (client address, nameserver text, type, rcode, time) and a
 * name of at most 255 bytes, each escaped to at most 4 (\DDD). */
#define QLOG_LINE_MAX 1600

/* Resolver choice (--strategy fastest, select.c): a nameserver passed over
 * gets one query when both this long and this many queries to others have
 * gone by since its last one, so its answer time is at most that old and it
 * costs at most one query in SELECT_EXPLORE_SHARE (at low rates) or one
 * every SELECT_EXPLORE_MS (at high rates). 10 s is close to the idle
 * timeout after which an unused connection closes anyway, so the backups
 * cost about one resumed handshake each per 10 s of use, and a swap of
 * speeds is seen within a few tens of seconds. */
#define SELECT_EXPLORE_MS 10000
#define SELECT_EXPLORE_SHARE 32
/* A SERVFAIL or REFUSED is asked again of another provider only with at
 * least this long left before the query's deadline (or twice that
 * provider's smoothed answer time, if longer): time for a handshake and an
 * answer. Otherwise the client gets the answer as it came. */
#define SELECT_RETRY_MIN_LEFT_MS 200

/* The metrics endpoint (--metrics): a monitoring system, a status page and
 * someone with curl at once, and a spare. Each client holds a request
 * buffer and a snapshot of the figures (about 12 KiB with 16 nameservers),
 * reserved only when --metrics is on. */
#define METRICS_MAX_CLIENTS 4
/* Request head (request line and header fields): a Prometheus scrape is
 * about 350 bytes, a browser's request with cookies a few hundred more.
 * The same buffer then holds each chunk of the answer. */
#define METRICS_REQ_MAX 4096
/* The request line (method, target, version): the two paths are short. */
#define METRICS_REQ_LINE_MAX 512
/* Header fields: their count and the longest one. */
#define METRICS_HEADERS_MAX 32
#define METRICS_HEADER_LINE_MAX 2048
/* The whole request must arrive within this of the connection (a client
 * sending a byte at a time cannot keep its slot), the whole answer must
 * be taken within the second, and the closing side waits at most the
 * third for the client to close first (so its unread bytes do not reset
 * the connection under the answer). */
#define METRICS_REQUEST_TIMEOUT_MS 5000
#define METRICS_WRITE_TIMEOUT_MS 10000
#define METRICS_LINGER_MS 1000
/* Figures a cache may add to the endpoint (metrics_sources.cache). */
#define METRICS_CACHE_FIGURES 16
/* A client over its share of the table may keep at it for hours: its log
 * line comes at most once a minute. */
#define LOG_CLIENT_LIMIT_MS 60000

#endif
