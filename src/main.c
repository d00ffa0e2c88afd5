/* SPDX-License-Identifier: MIT */
/* dns-tls-proxy: start-up (configuration, trust anchors, memory, sockets),
 * signals, and the single-threaded poll loop that drives everything else.
 * Only start-up may exit the process; after the loop starts, failures are
 * per connection or per query. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "ca_bundle.h"
#include "cache.h"
#include "client.h"
#include "clock.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "nameserver.h"
#include "pending.h"
#include "port.h"
#include "query.h"
#include "stats.h"
#include "version.h"

/* Where the metrics endpoint gets the figures beyond struct stats. */
static const struct metrics_sources metrics_src = { ns_metrics, cache_figures };

static volatile sig_atomic_t got_term, got_hup, got_usr1, got_usr2, got_winch;
static int signal_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else if (sig == SIGWINCH)
		got_winch = 1;
	/* Wake poll(); a full pipe already holds a wake-up. */
	if (write(signal_pipe[1], "", 1) < 0)
		errno = saved;
	errno = saved;
}

static void
signal_event(void *obj, uint32_t gen, short revents, uint64_t now)
{
	char drain[64];
	ssize_t n;

	(void)obj;
	(void)gen;
	(void)revents;
	(void)now;
	do
		n = read(signal_pipe[0], drain, sizeof(drain));
	while (n > 0);
}

static void
setup_signals(void)
{
	struct sigaction sa;
	int i;

	if (pipe(signal_pipe) == -1)
		fatalx("cannot create the signal pipe: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		int fl = fcntl(signal_pipe[i], F_GETFL);
		if (fl == -1 || fcntl(signal_pipe[i], F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC) == -1)
			fatalx("cannot set up the signal pipe: %s", strerror(errno));
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	/* SIGWINCH empties the cache: the one signal free (SIGHUP reopens
	 * the log, SIGUSR1 logs stats, SIGUSR2 is the reset of issue 17),
	 * and a daemon has no terminal to resize. */
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static const char *
env_get(const char *name)
{
	return getenv(name);
}

/* After binding: chroot if asked, then become --user. A process asked to
 * drop root that cannot does not go on as root. */
static void
drop_privileges(const struct conf *conf)
{
	uid_t uid;
	gid_t gid;

	if (conf->user[0] == '\0') {
		if (geteuid() == 0)
			log_warnx("running as root: use --user to drop privileges after binding");
		return;
	}
	if (port_lookup_user(conf->user, &uid, &gid) != 0)
		fatalx("--user: no user '%s' in /etc/passwd (a number, UID or UID:GID, works too)",
		    conf->user);
	if (log_give_to(uid) != 0)
		fatalx("--logfile %s: cannot hand it to --user %s: %s", conf->logfile, conf->user,
		    strerror(errno));
	if (conf->chroot[0] != '\0' && port_chroot(conf->chroot) != 0)
		fatalx("--chroot %s: %s", conf->chroot, strerror(errno));
	if (port_set_groups(gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		fatalx("--user %s: cannot drop privileges: %s", conf->user, strerror(errno));
	if (uid != 0 && (setuid(0) != -1 || geteuid() == 0))
		fatalx("--user %s: root could be regained after dropping it", conf->user);
	log_info("running as user=%s uid=%u gid=%u%s%s", conf->user, (unsigned)uid,
	    (unsigned)gid, conf->chroot[0] != '\0' ? " chroot=" : "", conf->chroot);
}

/* Every descriptor the configuration can hold at once must fit under the
 * process limit, or accept() would fail under load: raise the soft limit
 * if the hard one allows, else refuse to start. */
static void
check_fd_limit(const struct conf *conf, unsigned loop_fds)
{
	/* stdio, the log file, the signal pipe, and a margin */
	rlim_t need = (rlim_t)loop_fds + 3 + 1 + 2 + 8;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
	}
	fatalx("--max-tcp-clients %u with this configuration needs %llu file descriptors; "
	    "the limit is %llu (ulimit -n)", conf->max_tcp_clients, (unsigned long long)need,
	    (unsigned long long)rl.rlim_cur);
}

static void
log_memory_plan(const struct conf *conf)
{
	size_t pq = pq_memory(conf->max_inflight);
	size_t up = ns_memory(conf);
	size_t cl = client_memory(conf);
	size_t ca = cache_memory(conf->cache_kib);

	log_debug("memory: pending queries %zu KiB (%u slots of %zu bytes + id hash)",
	    pq / 1024, conf->max_inflight, sizeof(struct pending_query));
	log_debug("memory: upstream %zu KiB (%d nameservers x %u connections, and %d for zone "
	    "transfers: TLS buffers + 64 KiB answer assembly + 8 KiB ID map each)", up / 1024,
	    conf->ns_count, conf->pool_size, conf->allow_transfer_count > 0 ? XFR_MAX_ACTIVE : 0);
	log_debug("memory: clients %zu KiB (%u TCP clients with 72 KiB output each%s, "
	    "+ UDP receive and reply batches + per-client counters)", cl / 1024, conf->max_tcp_clients,
	    conf->tcp ? "" : ": TCP off, not reserved");
	cache_log_memory();
	log_debug("memory: total reserved %zu KiB; pages are touched only as load needs them",
	    (pq + up + cl + ca) / 1024);
}

/* The clock floor in force, and whether the system clock is below it. */
static void
log_clock_floor(void)
{
	char floor[CLOCK_TEXT_MAX];
	int64_t t = (int64_t)time(NULL);

	const char *from = clock_saved() > clock_build_time ?
	    "the last trusted time, from --time-file" : "the build time";

	clock_format(clock_floor(), floor);
	log_info("clock floor %s (%s)%s", floor, from,
	    t < clock_floor() ? ": the system clock is below it" : "");
}

/* SIGHUP with --config: read the settings again and apply what can change
 * while running; a bad file changes nothing. ns_reserved: the nameservers
 * start-up reserved connections for. */
static void
reload(struct conf *conf, int argc, char **argv, unsigned ns_reserved, uint64_t now)
{
	static struct conf next; /* large: not on the stack */
	struct conf_reload r;
	char err[CONF_ERR_MAX];
	unsigned changed;

	if (conf_reload(&next, conf, argc, argv, env_get, ns_reserved, &r, err, sizeof(err)) != 0) {
		log_error("reload: %s; the running configuration stays", err);
		return;
	}
	if (r.nrestart != 0)
		log_warnx("reload: %s %s a restart to change; running with the old %s", r.restart,
		    r.nrestart == 1 ? "needs" : "need", r.nrestart == 1 ? "value" : "values");
	changed = ns_reload_begin(&next, now);
	*conf = next;
	ns_reload_end(changed, now);
	/* Answers from nameservers no longer asked go (issue 15); the TTL
	 * bounds apply from now on. */
	if (changed != 0) {
		log_info("reload: the nameservers changed; cache flushed (%u entries)",
		    cache_stats()->entries);
		cache_flush();
	}
	cache_set_ttl(conf->cache_min_ttl, conf->cache_max_ttl, conf->stale_max_s);
	log_level = conf->debug ? LOG_LEVEL_DEBUG : conf->verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
	query_set_timeout(conf->timeout_ms);
	query_set_log(conf->log_queries, ns_conn_name);
	loop_set_window(conf->batch_window_us);
	log_info("configuration reloaded from %s: %s%s", conf->config_file,
	    r.nchanged != 0 ? "changed " : "nothing changed", r.changed);
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	char err[CONF_ERR_MAX];
	const br_x509_trust_anchor *tas = ca_bundle;
	br_x509_trust_anchor *loaded = NULL;
	size_t ntas = ca_bundle_count, nloaded = 0;
	uint64_t now, next_stats = 0, shutdown_by = 0;
	unsigned loop_fds, ns_reserved;
	int i;

	switch (conf_load(&conf, argc, argv, env_get, stdout, err, sizeof(err))) {
	case CONF_EXIT:
		return 0;
	case CONF_ERROR:
		fatalx("%s", err);
	case CONF_OK:
		break;
	}
	if (conf.ca_file[0] != '\0') {
		if (ca_load_file(conf.ca_file, &loaded, &nloaded, err, sizeof(err)) != 0)
			fatalx("--ca-file: %s", err);
		tas = loaded;
		ntas = nloaded;
	}
	if (conf.check) {
		char when[CLOCK_TEXT_MAX];

		conf_print(&conf, stdout);
		printf("# trust anchors: %zu from %s\n", ntas,
		    conf.ca_file[0] != '\0' ? conf.ca_file : "the compiled-in bundle");
		printf("# clock floor: %s (the build time%s)\n", clock_format(clock_build_time, when),
		    conf.time_file[0] != '\0' ? "; --time-file may raise it" : "");
		printf("# configuration OK\n");
		ca_free(loaded, nloaded);
		return 0;
	}
	log_level = conf.debug ? LOG_LEVEL_DEBUG : conf.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
	if (conf.logfile[0] != '\0' && log_open(conf.logfile) != 0)
		fatalx("--logfile: cannot open %s: %s%s", conf.logfile, strerror(errno),
		    errno == ELOOP ? " (a symbolic link is not followed)" : "");
	/* Before dropping root: the file may need creating where only root
	 * can write, and it stays open for the writes. */
	if (conf.time_file[0] != '\0') {
		int r = clock_open_file(conf.time_file, err, sizeof(err));

		if (r < 0)
			fatalx("--time-file: %s", err);
		if (r > 0)
			log_warnx("--time-file: %s", err);
	}

	loop_fds = 1 + client_max_fds(&conf) + (unsigned)conf.ns_count * conf.pool_size +
	    metrics_max_fds(&conf);
	check_fd_limit(&conf, loop_fds);
	setup_signals();
	ns_reserved = (unsigned)conf.ns_count;
	query_init(&conf, ns_forget);
	query_set_log(conf.log_queries, ns_conn_name);
	if (pq_init(conf.max_inflight) != 0 || ns_init(&conf, tas, ntas) != 0 ||
	    loop_init(loop_fds) != 0)
		fatalx("out of memory reserving buffers (see --max-inflight, --max-tcp-clients, --pool-size)");
	if (cache_init(conf.cache_kib) != 0)
		fatalx("--cache-size %u: cannot reserve the cache (out of memory, or no entropy for "
		    "its hash key)", conf.cache_kib);
	cache_set_ttl(conf.cache_min_ttl, conf.cache_max_ttl, conf.stale_max_s);
	loop_set_window(conf.batch_window_us);
	if (client_init(&conf, err, sizeof(err)) != 0 || metrics_init(&conf, err, sizeof(err)) != 0)
		fatalx("%s", err);
	metrics_set_sources(&metrics_src);
	drop_privileges(&conf);
	log_memory_plan(&conf);

	log_info("dns-tls-proxy %s started port=%u udp=%s tcp=%s nameservers=%d pool=%u anchors=%zu",
	    DNS_TLS_PROXY_VERSION, conf.port, conf.udp ? "on" : "off", conf.tcp ? "on" : "off",
	    conf.ns_count, conf.pool_size, ntas);
	for (i = 0; i < conf.listen_count; i++)
		log_info("listening on %s port %u", conf.listen[i].text, conf.port);
	for (i = 0; i < conf.ns_count; i++)
		log_info("nameserver %s", conf.ns[i].text);
	log_clock_floor();

	now = port_now_us();
	stats_start(now);
	if (conf.stats)
		next_stats = now + (uint64_t)conf.stats_interval_s * 1000000;
	for (;;) {
		now = port_now_us();
		if (got_hup) {
			got_hup = 0;
			if (log_reopen() != 0)
				log_warn("cannot reopen the log file %s", conf.logfile);
			else
				log_info("log file reopened");
			if (conf.config_file[0] != '\0') {
				int had_stats = conf.stats;

				reload(&conf, argc, argv, ns_reserved, now);
				if (conf.stats && !had_stats)
					next_stats = now + (uint64_t)conf.stats_interval_s * 1000000;
				else if (!conf.stats)
					next_stats = 0;
			}
		}
		if (got_usr1) {
			got_usr1 = 0;
			stats_log(now);
		}
		if (got_usr2) {
			got_usr2 = 0;
			ns_reset(now);
		}
		if (got_winch) {
			got_winch = 0;
			log_info("cache flushed on SIGWINCH: %u entries dropped", cache_stats()->entries);
			cache_flush();
		}
		if (got_term && shutdown_by == 0) {
			log_info("stopping: finishing %u queries in flight", pq_in_use());
			client_stop_listening();
			shutdown_by = now + (uint64_t)SHUTDOWN_GRACE_MS * 1000;
		}
		if (shutdown_by != 0 && ((pq_in_use() == 0 && client_flushed()) || now >= shutdown_by))
			break;
		if (next_stats != 0 && now >= next_stats) {
			stats_log(now);
			next_stats = now + (uint64_t)conf.stats_interval_s * 1000000;
		}
		if (conf.time_file[0] != '\0' && clock_save((int64_t)time(NULL), 0) != 0)
			log_warn("--time-file: cannot write %s", conf.time_file);
		loop_begin(now);
		query_expire(now);
		ns_prepare(now);
		/* After ns_prepare: answers it delivered may wait to be written. */
		client_prepare(now);
		metrics_prepare(now);
		if (next_stats != 0)
			loop_deadline(next_stats);
		if (shutdown_by != 0)
			loop_deadline(shutdown_by);
		loop_watch(signal_pipe[0], POLLIN, signal_event, NULL, 0);
		loop_poll();
	}
	/* The grace time is over: whatever is still in flight gets SERVFAIL
	 * rather than silence. */
	now = port_now_us();
	query_end_all(now);
	client_flush_all(now);
	ns_shutdown();
	metrics_stop();
	if (conf.time_file[0] != '\0' && clock_save((int64_t)time(NULL), 1) != 0)
		log_warn("--time-file: cannot write %s", conf.time_file);
	if (conf.stats)
		stats_log(port_now_us());
	log_info("stopped");
	ca_free(loaded, nloaded);
	return 0;
}
