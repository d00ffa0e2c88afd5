/* SPDX-License-Identifier: MIT */
/* Configuration: built-in defaults, then a config file (-c), then the
 * environment, then the command line, each overriding the one before. One
 * table of options serves all four, so a name means the same everywhere. */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "acl.h"
#include "bounds.h"
#include "tls.h"

#define CONF_NAME_MAX 254  /* an authentication name: a DNS name, 253 chars + NUL */
#define CONF_PATH_MAX 1024
#define CONF_ERR_MAX 512

struct conf_nameserver {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[CONF_NAME_MAX]; /* the name the server's certificate must carry */
	char text[CONF_NAME_MAX + 64]; /* "IP:PORT:NAME" as it is printed back */
};

struct conf_pin {
	char name[CONF_NAME_MAX];       /* the nameserver NAME it applies to */
	struct tls_pin key;             /* SHA-256 of the SubjectPublicKeyInfo */
	char text[CONF_NAME_MAX + 60];  /* "NAME=sha256/BASE64" as given */
};

struct conf_listen {
	struct sockaddr_storage addr; /* port filled in from conf.port */
	socklen_t addrlen;
	char text[64];
};

struct conf {
	struct conf_nameserver ns[MAX_NAMESERVERS];
	int ns_count;
	struct conf_listen listen[MAX_LISTEN];
	int listen_count;
	struct conf_pin pins[MAX_PINS];
	int pin_count;
	struct acl_entry allow[MAX_ALLOW]; /* clients answered; others get REFUSED */
	int allow_count;
	/* Clients whose zone transfers (AXFR, IXFR) are relayed; others get
	 * REFUSED for them. Empty by default. */
	struct acl_entry allow_transfer[MAX_ALLOW];
	int allow_transfer_count;
	unsigned port;
	int tcp, udp;          /* -1 until given; conf_finish settles them to 0/1 */
	int verbose, debug, stats;
	unsigned stats_interval_s;
	unsigned pool_size;    /* connections per nameserver */
	unsigned timeout_ms;   /* a query's deadline: SERVFAIL after this */
	unsigned connect_timeout_ms;
	unsigned up_idle_ms;   /* close an idle upstream connection after this */
	unsigned tcp_idle_ms;  /* close an idle TCP client after this */
	unsigned transfer_idle_ms; /* give up a zone transfer silent this long */
	unsigned max_inflight;
	unsigned max_tcp_clients;
	unsigned max_tcp_per_client;     /* TCP connections one client may hold */
	unsigned max_inflight_per_client; /* 0 until conf_finish: a quarter of max_inflight */
	unsigned max_udp_size;  /* largest UDP answer sent whole; bigger: TC */
	unsigned batch_window_us; /* longest wait between wake-ups under load */
	struct conf_listen metrics; /* --metrics ADDR:PORT; addrlen 0 when off */
	int log_queries;       /* a log line per query */
	unsigned strategy;     /* enum select_strategy */
	int retry_servfail;    /* -1 until given; conf_finish settles it to 0/1 */
	unsigned cache_kib;    /* answer cache memory; 0: no cache */
	unsigned cache_min_ttl, cache_max_ttl; /* seconds, clamp on positive answers */
	unsigned stale_answer_timeout_ms; /* serve stale after this (RFC 8767) */
	unsigned stale_max_s;  /* keep expired answers this long; 0: never serve stale */
	char logfile[CONF_PATH_MAX];
	char ca_file[CONF_PATH_MAX];
	char time_file[CONF_PATH_MAX]; /* the last trusted time, a clock floor */
	char config_file[CONF_PATH_MAX];
	char user[64];         /* drop root to this user after binding */
	char chroot[CONF_PATH_MAX];
	int check;             /* --check: print the settings and exit */
	/* Which source last set each option (enum conf_source), so that a list
	 * given by a stronger source replaces rather than extends a weaker one. */
	unsigned char source[64];
};

enum conf_source { CONF_SRC_DEFAULT, CONF_SRC_FILE, CONF_SRC_ENV, CONF_SRC_CLI };

/* Read the environment through a function, so tests can supply their own. */
typedef const char *(*conf_getenv_fn)(const char *name);

enum conf_result { CONF_OK, CONF_ERROR, CONF_EXIT };

/* Fill conf from all sources. CONF_ERROR: err holds one line naming the
 * option (and the file and line). CONF_EXIT: --help or --version was
 * printed to out; the caller exits 0. */
enum conf_result conf_load(struct conf *conf, int argc, char **argv,
    conf_getenv_fn get_env, FILE *out, char *err, size_t errlen);

/* Parse config-file text (one "option value" per line, # comments) as the
 * file named fname. Used by conf_load and by the tests. */
int conf_parse_text(struct conf *conf, const char *text, const char *fname,
    char *err, size_t errlen);

void conf_defaults(struct conf *conf);
/* Check the assembled settings and derive the rest (listen ports, both
 * listeners when neither -t nor -u was given). */
int conf_finish(struct conf *conf, char *err, size_t errlen);
/* Print the effective settings in config-file syntax. */
void conf_print(const struct conf *conf, FILE *out);

/* Parse "IP:PORT:NAME" (IPv6 as "[addr]:PORT:NAME"). Exposed for tests. */
int conf_parse_nameserver(const char *spec, struct conf_nameserver *ns,
    char *err, size_t errlen);

/* Reloading the configuration (SIGHUP): the new settings are read by
 * conf_load as at start-up, then compared with those running. */
enum conf_reload_class { CONF_RELOAD_LIVE, CONF_RELOAD_RESTART };

/* Whether a change of option (its long name) takes effect at once or needs
 * a restart; -1 for a name that is not an option with a value. */
int conf_reload_class(const char *option);

struct conf_reload {
	char changed[256];  /* options changed that apply at once, ", "-separated */
	char restart[256];  /* options changed that need a restart */
	unsigned nchanged, nrestart;
};

/* Compare the running settings with next: which options changed, and which
 * of those need a restart (the running value is kept: conf_reload_keep).
 * -1 with err set (naming the option) when next cannot be applied at all:
 * more nameservers than start-up reserved connections for (ns_reserved). */
int conf_reload_diff(const struct conf *run, const struct conf *next, unsigned ns_reserved,
    struct conf_reload *r, char *err, size_t errlen);
/* Give next the running value of every option that needs a restart (and
 * derive again what depends on them), so next can replace run whole. */
void conf_reload_keep(struct conf *next, const struct conf *run);
/* All of it: read the settings again from the same command line,
 * environment and --config file into next, compare them with run, keep
 * run's values of the restart options. -1 with err set (one line, as at
 * start-up) when the new settings are bad: run stays in force whole. */
int conf_reload(struct conf *next, const struct conf *run, int argc, char **argv,
    conf_getenv_fn get_env, unsigned ns_reserved, struct conf_reload *r, char *err, size_t errlen);

#endif
