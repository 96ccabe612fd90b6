/* postern.conf parsing: one table of keys, types and defaults. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "config.h"

#define CONF_MAX_SIZE	(1024 * 1024)

enum ktype { K_STR, K_LIST, K_CIDRS, K_UINT, K_SIZE, K_SECS, K_MSECS, K_ENUM };

struct key {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	const char	*def;		/* parsed like a value from the file */
	uint64_t	 min, max;	/* K_UINT, K_SIZE, K_SECS, K_MSECS */
	const char	*const *names;	/* K_ENUM */
};

static const char *const e_mailbox[] = { "maildir", "mbox", NULL };
static const char *const e_tls[] = { "none", "may", "required", "implicit", NULL };
static const char *const e_auth[] = { "no", "may", "required", NULL };
static const char *const e_rtls[] = { "none", "may", "encrypt", "verify", "dane", NULL };
static const char *const e_loglevel[] = { "error", "warning", "info", "debug", NULL };

#define G(f)	offsetof(struct config, f)
#define L(f)	offsetof(struct listener_conf, f)
#define R(f)	offsetof(struct route_conf, f)
#define DAY	(24ULL * 3600)

/* The one table of global keys and their defaults: docs and man page follow it. */
static const struct key global_keys[] = {
	{ "hostname", K_STR, G(hostname), "", 0, 0, NULL },
	{ "spool", K_STR, G(spool), "/var/spool/postern", 0, 0, NULL },
	{ "local_domains", K_LIST, G(local_domains), "", 0, 0, NULL },
	{ "relay_domains", K_LIST, G(relay_domains), "", 0, 0, NULL },
	{ "trusted_networks", K_CIDRS, G(trusted_networks), "127.0.0.0/8 ::1/128", 0, 0, NULL },
	{ "relayhost", K_STR, G(relayhost), "", 0, 0, NULL },
	{ "dns_forwarders", K_LIST, G(dns_forwarders), "", 0, 0, NULL },
	{ "remote_port", K_UINT, G(remote_port), "25", 1, 65535, NULL },
	{ "helo_name", K_STR, G(helo_name), "", 0, 0, NULL },
	{ "pam_service", K_STR, G(pam_service), "postern", 0, 0, NULL },
	{ "aliases", K_STR, G(aliases), "/etc/aliases", 0, 0, NULL },
	{ "mailbox", K_ENUM, G(mailbox), "maildir", 0, 0, e_mailbox },
	{ "admin_group", K_STR, G(admin_group), "root", 0, 0, NULL },
	{ "libexec_dir", K_STR, G(libexec_dir), "", 0, 0, NULL },
	{ "queue_min_backoff", K_SECS, G(queue_min_backoff), "5m", 1, 30 * DAY, NULL },
	{ "queue_max_backoff", K_SECS, G(queue_max_backoff), "1h", 1, 30 * DAY, NULL },
	{ "max_queue_lifetime", K_SECS, G(max_queue_lifetime), "5d", 0, 365 * DAY, NULL },
	{ "commit_wait", K_MSECS, G(commit_wait), "2ms", 0, 1000, NULL },
	{ "delivery_concurrency", K_UINT, G(delivery_concurrency), "20", 1, 10000, NULL },
	{ "smtp_connect_timeout", K_SECS, G(smtp_connect_timeout), "30s", 1, 3600, NULL },
	{ "smtp_timeout", K_SECS, G(smtp_timeout), "5m", 1, 3600, NULL },
	{ "log_level", K_ENUM, G(log_level), "info", 0, 0, e_loglevel },
	/* == issue 3 (smtpd) global keys == */
	/* == issue 4 (TLS, AUTH) global keys == */
	{ "never_connect_networks", K_CIDRS, G(never_connect_networks), "", 0, 0, NULL },
	{ "never_relay_networks", K_CIDRS, G(never_relay_networks), "", 0, 0, NULL },
	{ "reject_own_domain_sender", K_ENUM, G(reject_own_domain_sender), "yes", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "sender_reject", K_LIST, G(sender_reject), "", 0, 0, NULL },
	{ "sender_discard", K_LIST, G(sender_discard), "", 0, 0, NULL },
	{ "reject_null_sender_multi_rcpt", K_ENUM, G(reject_null_sender_multi_rcpt), "no", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	/* == issue 8 (local delivery, submission) global keys == */
	{ "local_hostname", K_ENUM, G(local_hostname), "yes", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "recipient_delimiter", K_STR, G(recipient_delimiter), "+", 0, 0, NULL },
	{ "virtual_maps", K_STR, G(virtual_maps), "", 0, 0, NULL },
	{ "relay_recipients", K_STR, G(relay_recipients), "", 0, 0, NULL },
	{ "allow_alias_pipes", K_ENUM, G(allow_alias_pipes), "no", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "alias_pipe_user", K_STR, G(alias_pipe_user), "nobody", 0, 0, NULL },
	{ "forward_files", K_ENUM, G(forward_files), "no", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "mailbox_size_limit", K_SIZE, G(mailbox_size_limit), "0", 0, 1ULL << 40, NULL },
	{ "mbox_users", K_LIST, G(mbox_users), "", 0, 0, NULL },
	{ "maildir_users", K_LIST, G(maildir_users), "", 0, 0, NULL },
	{ "maildir_path", K_STR, G(maildir_path), "Maildir/", 0, 0, NULL },
	{ "mail_spool_directory", K_STR, G(mail_spool_directory), "/var/mail", 0, 0, NULL },
	{ "local_delivery_concurrency", K_UINT, G(local_delivery_concurrency), "10", 1, 1000, NULL },
	{ "local_delivery_timeout", K_SECS, G(local_delivery_timeout), "10m", 1, DAY, NULL },
	{ "local_delivery_per_user", K_UINT, G(local_delivery_per_user), "2", 1, 1000, NULL },
	{ "local_fanout_limit", K_UINT, G(local_fanout_limit), "1000", 1, 100000, NULL },
	{ "submit_trusted_group", K_STR, G(submit_trusted_group), "", 0, 0, NULL },
	{ "submit_max_size", K_SIZE, G(submit_max_size), "35M", 1024, 1ULL << 32, NULL },
	{ "pam_confdir", K_STR, G(pam_confdir), "", 0, 0, NULL },
	{ "auth_max_failures", K_UINT, G(auth_max_failures), "5", 1, 1000, NULL },
	{ "auth_failure_window", K_SECS, G(auth_failure_window), "15m", 1, 7 * DAY, NULL },
	{ "auth_max_checks", K_UINT, G(auth_max_checks), "8", 1, 256, NULL },
	/* == issue 5 (queue-mgr) global keys == */
	{ "queue_retry_schedule", K_LIST, G(queue_retry_schedule), "", 0, 0, NULL },
	{ "queue_backoff_factor", K_STR, G(queue_backoff_factor), "2", 0, 0, NULL },
	{ "destination_concurrency", K_UINT, G(destination_concurrency), "20", 1, 10000, NULL },
	{ "destination_rate_limit", K_UINT, G(destination_rate_limit), "0", 0, 1000000, NULL },
	{ "destination_failure_limit", K_UINT, G(destination_failure_limit), "5", 0, 10000, NULL },
	{ "delay_warning_time", K_SECS, G(delay_warning_time), "4h", 0, 365 * DAY, NULL },
	{ "double_bounce_recipient", K_STR, G(double_bounce_recipient), "postmaster", 0, 0, NULL },
	{ "delivery_job_timeout", K_SECS, G(delivery_job_timeout), "2h", 1, 7 * DAY, NULL },
	/* == issue 4b (reverse DNS, DNSBL) global keys == */
	{ "dns_check_timeout", K_MSECS, G(dns_check_timeout), "5s", 100, 60000, NULL },
	/* == issue 7 (posternctl) global keys == */
	{ "trace_retention", K_SECS, G(trace_retention), "7d", 0, 365 * DAY, NULL },
	{ "ctl_read_group", K_STR, G(ctl_read_group), "", 0, 0, NULL },
	/* == issue 6 (deliver, resolver) global keys == */
	{ "smtp_bind_address", K_STR, G(smtp_bind_address), "", 0, 0, NULL },
	{ "smtp_bind_address6", K_STR, G(smtp_bind_address6), "", 0, 0, NULL },
	{ "smtp_tls_ca_file", K_STR, G(smtp_tls_ca_file), "", 0, 0, NULL },
	{ "smtp_connection_cache_size", K_UINT, G(smtp_connection_cache_size), "10", 0, 1000, NULL },
	{ "smtp_connection_cache_time", K_SECS, G(smtp_connection_cache_time), "30s", 1, 3600, NULL },
	{ "dns_trust_anchor_file", K_STR, G(dns_trust_anchor_file), "", 0, 0, NULL },
	{ "dns_cache_max_ttl", K_SECS, G(dns_cache_max_ttl), "1d", 1, 7 * DAY, NULL },
	{ "dns_cache_max_negative_ttl", K_SECS, G(dns_cache_max_negative_ttl), "1h", 1, DAY, NULL },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

static const struct key listener_keys[] = {
	{ "listen", K_LIST, L(listen), "", 0, 0, NULL },
	{ "tls", K_ENUM, L(tls), "none", 0, 0, e_tls },
	{ "cert", K_STR, L(cert), "", 0, 0, NULL },
	{ "key", K_STR, L(key), "", 0, 0, NULL },
	{ "auth", K_ENUM, L(auth), "no", 0, 0, e_auth },
	{ "max_message_size", K_SIZE, L(max_message_size), "35M", 1024, 1ULL << 32, NULL },
	{ "max_recipients", K_UINT, L(max_recipients), "100", 1, 100000, NULL },
	/* == issue 4 (policy) listener keys == */
	{ "auth_relay", K_ENUM, L(auth_relay), "yes", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "tls_ciphers", K_STR, L(tls_ciphers), "ECDHE+AESGCM:ECDHE+CHACHA20", 0, 0, NULL },
	{ "recipient_check", K_ENUM, L(recipient_check), "yes", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "sender_login_match", K_ENUM, L(sender_login_match), "no", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	/* == issue 4b (reverse DNS, DNSBL) listener keys == */
	{ "reverse_dns", K_ENUM, L(reverse_dns), "no", 0, 0, (const char *const[]){ "no", "log", "require", NULL } },
	{ "dnsbl", K_LIST, L(dnsbl), "", 0, 0, NULL },
	{ "dnsbl_action", K_ENUM, L(dnsbl_action), "reject", 0, 0, (const char *const[]){ "reject", "log", NULL } },
	/* == issue 3 (smtpd) listener keys == */
	{ "auth_plaintext", K_ENUM, L(auth_plaintext), "no", 0, 0, (const char *const[]){ "no", "yes", NULL } },
	{ "hostname", K_STR, L(hostname), "", 0, 0, NULL },
	{ "greeting_delay", K_MSECS, L(greeting_delay), "0", 0, 60000, NULL },
	{ "command_timeout", K_SECS, L(command_timeout), "5m", 1, 3600, NULL },
	{ "data_timeout", K_SECS, L(data_timeout), "3m", 1, 3600, NULL },
	{ "max_messages_per_connection", K_UINT, L(max_messages_per_connection), "1000", 1, 1000000, NULL },
	{ "max_sessions", K_UINT, L(max_sessions), "10000", 1, 1000000, NULL },
	{ "max_sessions_per_ip", K_UINT, L(max_sessions_per_ip), "20", 1, 1000000, NULL },
	{ "max_connection_rate", K_UINT, L(max_connection_rate), "60", 0, 1000000, NULL },
	{ "client_allow", K_CIDRS, L(client_allow), "", 0, 0, NULL },
	{ "client_deny", K_CIDRS, L(client_deny), "", 0, 0, NULL },
	{ "etrn_clients", K_CIDRS, L(etrn_clients), "", 0, 0, NULL },
	{ "max_errors", K_UINT, L(max_errors), "10", 1, 1000, NULL },
	{ "max_received_headers", K_UINT, L(max_received_headers), "30", 1, 1000, NULL },
	{ "disable_extensions", K_LIST, L(disable_extensions), "", 0, 0, NULL },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

static const struct key route_keys[] = {
	{ "via", K_STR, R(via), "mx", 0, 0, NULL },
	{ "tls", K_ENUM, R(tls), "may", 0, 0, e_rtls },
	/* == issue 5 (queue-mgr) route keys == */
	{ "concurrency", K_UINT, R(concurrency), "0", 0, 10000, NULL },
	{ "rate_limit", K_UINT, R(rate_limit), "0", 0, 1000000, NULL },
	/* == issue 6 (deliver) route keys == */
	{ "auth_user", K_STR, R(auth_user), "", 0, 0, NULL },
	{ "auth_password_file", K_STR, R(auth_password_file), "", 0, 0, NULL },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

#define NGLOBAL	(sizeof(global_keys) / sizeof(global_keys[0]))
#define BLOCK_KEYS_MAX	64

struct parser {
	const char	*path;
	int		 line;
	struct buf	*err;
	int		 nerr;
	int		 gline[NGLOBAL];	/* where each global key was set */
	int		 bline[BLOCK_KEYS_MAX];	/* the same, in the open block */
};

/* The line a global key was set on, 0 when it kept its default. */
static int
global_line(const struct parser *p, const char *name)
{
	size_t i;

	for (i = 0; global_keys[i].name; i++)
		if (strcmp(global_keys[i].name, name) == 0)
			return p->gline[i];
	return 0;
}

static void
perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	buf_appendf(p->err, "%s:%d: ", p->path, p->line);
	va_start(ap, fmt);
	buf_vappendf(p->err, fmt, ap);
	va_end(ap);
	buf_appendc(p->err, '\n');
	p->nerr++;
}

void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
strlist_add(struct strlist *l, const char *s, size_t len)
{
	char **nv;

	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL)
		return -1;
	l->v = nv;
	if ((l->v[l->n] = strndup(s, len)) == NULL)
		return -1;
	l->n++;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *out)
{
	char		*end;
	unsigned long long v;
	uint64_t	 mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ULL * 1024 * 1024, end++;
	if (*end != '\0' || __builtin_mul_overflow((uint64_t)v, mul, out))
		return -1;
	return 0;
}

int
config_parse_duration(const char *s, uint64_t *out, int millis)
{
	char		*end;
	unsigned long long v;
	uint64_t	 mul;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mul = DAY * 1000;
	else
		return -1;
	if (__builtin_mul_overflow((uint64_t)v, mul, out))
		return -1;
	if (!millis) {
		if (*out % 1000)
			return -1;
		*out /= 1000;
	}
	return 0;
}

int
cidr_parse(const char *s, struct cidr *c)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash;
	const char	*errstr = NULL;
	size_t		 hlen;
	unsigned	 max;

	memset(c, 0, sizeof(*c));
	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->prefix = max;
	if (slash) {
		c->prefix = (unsigned)strtonum(slash + 1, 0, max, &errstr);
		if (errstr || slash[1] == '\0')
			return -1;
	}
	return 0;
}

int
cidr_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned	 bytes = bits / 8, rem = bits % 8;
	uint8_t		 mask;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (rem == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

int
cidr_match_addr(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*a;
	static const uint8_t v4mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return c->family == AF_INET && cidr_prefix_eq(c->addr, a, c->prefix);
	}
	if (sa->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (c->family == AF_INET6)
			return cidr_prefix_eq(c->addr, a, c->prefix);
		/* an IPv4 client seen through a dual-stack socket */
		return memcmp(a, v4mapped, 12) == 0 &&
		    cidr_prefix_eq(c->addr, a + 12, c->prefix);
	}
	return 0;
}

int
cidrlist_match(const struct cidrlist *l, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_match_addr(&l->v[i], sa))
			return 1;
	return 0;
}

int
hostport_parse(const char *s, char *host, size_t hostsz, uint16_t *port,
    int *bracketed, uint16_t defport)
{
	const char	*hs, *he, *ps = NULL, *errstr = NULL;
	size_t		 hl;

	*bracketed = 0;
	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL)
			return -1;
		*bracketed = 1;
		if (he[1] == ':')
			ps = he + 2;
		else if (he[1] != '\0')
			return -1;
	} else {
		hs = s;
		he = strrchr(s, ':');
		/* more than one colon without brackets is an IPv6 literal */
		if (he != NULL && strchr(s, ':') == he)
			ps = he + 1;
		else
			he = s + strlen(s);
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl >= hostsz)
		return -1;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	*port = defport;
	if (ps != NULL) {
		*port = (uint16_t)strtonum(ps, 1, 65535, &errstr);
		if (errstr)
			return -1;
	}
	return 0;
}

/* Splits a value into space-separated words. */
static int
split_words(const char *v, struct strlist *out)
{
	const char *s = v, *e;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			return 0;
		e = s;
		while (*e && *e != ' ' && *e != '\t' && *e != ',')
			e++;
		if (strlist_add(out, s, (size_t)(e - s)) == -1)
			return -1;
		s = e;
	}
}

static int
set_key(struct parser *p, const struct key *k, void *base, const char *v)
{
	char		**sp;
	struct strlist	 words = { NULL, 0 };
	struct cidrlist	*cl;
	uint64_t	 u, *up;
	size_t		 i;
	int		*ip;

	switch (k->type) {
	case K_STR:
		sp = (char **)((char *)base + k->off);
		free(*sp);
		if ((*sp = strdup(v)) == NULL)
			return -1;
		return 0;
	case K_LIST:
		if (split_words(v, &words) == -1)
			return -1;
		strlist_free((struct strlist *)((char *)base + k->off));
		*(struct strlist *)((char *)base + k->off) = words;
		return 0;
	case K_CIDRS:
		if (split_words(v, &words) == -1)
			return -1;
		cl = (struct cidrlist *)((char *)base + k->off);
		free(cl->v);
		cl->v = NULL;
		cl->n = 0;
		if (words.n && (cl->v = calloc(words.n, sizeof(*cl->v))) == NULL) {
			strlist_free(&words);
			return -1;
		}
		for (i = 0; i < words.n; i++) {
			if (cidr_parse(words.v[i], &cl->v[cl->n]) == -1)
				perr(p, "%s: '%s' is not an address or network "
				    "(a.b.c.d/n or v6::/n)", k->name, words.v[i]);
			else
				cl->n++;
		}
		strlist_free(&words);
		return 0;
	case K_UINT:
	case K_SIZE:
	case K_SECS:
	case K_MSECS:
		up = (uint64_t *)((char *)base + k->off);
		if ((k->type == K_UINT && (config_parse_size(v, &u) == -1 ||
		    strspn(v, "0123456789") != strlen(v))) ||
		    (k->type == K_SIZE && config_parse_size(v, &u) == -1) ||
		    (k->type == K_SECS && config_parse_duration(v, &u, 0) == -1) ||
		    (k->type == K_MSECS && config_parse_duration(v, &u, 1) == -1)) {
			perr(p, "%s: bad value '%s' (%s)", k->name, v,
			    k->type == K_UINT ? "a whole number" :
			    k->type == K_SIZE ? "a size like 35M, 512k or 1048576" :
			    k->type == K_SECS ? "a duration like 30s, 5m, 1h or 5d" :
			    "a duration like 2ms or 1s");
			return 0;
		}
		if (u < k->min || u > k->max) {
			perr(p, "%s: %s is out of range (%llu to %llu%s)", k->name,
			    v, (unsigned long long)k->min,
			    (unsigned long long)k->max,
			    k->type == K_SECS ? " seconds" :
			    k->type == K_MSECS ? " ms" :
			    k->type == K_SIZE ? " bytes" : "");
			return 0;
		}
		*up = u;
		return 0;
	case K_ENUM:
		ip = (int *)((char *)base + k->off);
		for (i = 0; k->names[i]; i++) {
			if (strcmp(v, k->names[i]) == 0) {
				*ip = (int)i;
				return 0;
			}
		}
		buf_appendf(p->err, "%s:%d: %s: '%s' is not one of:", p->path,
		    p->line, k->name, v);
		for (i = 0; k->names[i]; i++)
			buf_appendf(p->err, " %s", k->names[i]);
		buf_appendc(p->err, '\n');
		p->nerr++;
		return 0;
	}
	return -1;
}

static int
set_defaults(struct parser *p, const struct key *keys, void *base)
{
	const struct key *k;

	for (k = keys; k->name; k++)
		if (set_key(p, k, base, k->def) == -1)
			return -1;
	return 0;
}

static const struct key *
find_key(const struct key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static void
free_keys(const struct key *keys, void *base)
{
	const struct key *k;

	for (k = keys; k->name; k++) {
		if (k->type == K_STR)
			free(*(char **)((char *)base + k->off));
		else if (k->type == K_LIST)
			strlist_free((struct strlist *)((char *)base + k->off));
		else if (k->type == K_CIDRS)
			free(((struct cidrlist *)((char *)base + k->off))->v);
	}
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlisteners; i++) {
		free_keys(listener_keys, &c->listeners[i]);
		free(c->listeners[i].name);
	}
	free(c->listeners);
	for (i = 0; i < c->nroutes; i++) {
		free_keys(route_keys, &c->routes[i]);
		free(c->routes[i].pattern);
	}
	free(c->routes);
	free_keys(global_keys, c);
	free(c->path);
	free(c);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A block header: WORD NAME {  or  WORD "NAME" { ; returns NAME or NULL. */
static char *
block_name(char *rest)
{
	char	*e;
	size_t	 n;

	rest = trim(rest);
	n = strlen(rest);
	if (n < 2 || rest[n - 1] != '{')
		return NULL;
	rest[n - 1] = '\0';
	rest = trim(rest);
	n = strlen(rest);
	if (n >= 2 && rest[0] == '"' && rest[n - 1] == '"') {
		rest[n - 1] = '\0';
		rest++;
	}
	if (*rest == '\0')
		return NULL;
	for (e = rest; *e; e++)
		if (*e == ' ' || *e == '\t' || *e == '"' || *e == '{' || *e == '}')
			return NULL;
	return rest;
}

/* Cuts a '#' comment that stands outside double quotes; -1 if a quote is
 * left open. */
static int
strip_comment(char *l)
{
	int inq = 0;

	for (; *l; l++) {
		if (*l == '"')
			inq = !inq;
		else if (*l == '#' && !inq) {
			*l = '\0';
			break;
		}
	}
	return inq ? -1 : 0;
}

/* A host name: letters, digits, '-', labels of 1 to 63, 253 at most. */
static int
valid_hostname(const char *s)
{
	size_t	 n = strlen(s), label = 0;

	if (n == 0 || n > 253 || *s == '.' || s[n - 1] == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

/* "1", "1.5", "2.125": 1 to 10, at most 3 decimals */
static int
valid_factor(const char *s)
{
	const char	*dot = strchr(s, '.');
	size_t		 ip = dot ? (size_t)(dot - s) : strlen(s);
	double		 v;

	if (ip == 0 || ip > 2 || strspn(s, "0123456789") != ip)
		return 0;
	if (dot && (dot[1] == '\0' || strlen(dot + 1) > 3 ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1)))
		return 0;
	v = strtod(s, NULL);
	return v >= 1.0 && v <= 10.0;
}

/* mx | host[:port] | [host]:port | lmtp:host[:port] | lmtp:unix:/path */
static int
valid_via(const char *v)
{
	char		 host[256];
	uint16_t	 port;
	int		 br;

	if (strcmp(v, "mx") == 0)
		return 1;
	if (strncmp(v, "lmtp:unix:", 10) == 0)
		return v[10] == '/' && strlen(v + 10) < 108;	/* sun_path */
	if (strncmp(v, "lmtp:", 5) == 0)
		v += 5;
	return hostport_parse(v, host, sizeof(host), &port, &br, 25) == 0;
}

static int
valid_route_pattern(const char *s)
{
	if (strcmp(s, "*") == 0)
		return 1;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	return valid_hostname(s);
}

static void
check_config(struct parser *p, struct config *c)
{
	char		 host[256];
	uint16_t	 port;
	int		 br;
	size_t		 i, j;

	p->line = global_line(p, "spool");
	if (c->spool[0] != '/')
		perr(p, "spool: '%s' must be an absolute path", c->spool);
	{
		/* the master works from "/" once it runs as a daemon */
		static const char *abs_keys[] = { "libexec_dir", "aliases",
		    "pam_confdir", "virtual_maps", "relay_recipients",
		    "mail_spool_directory", NULL };
		const char *vals[] = { c->libexec_dir, c->aliases, c->pam_confdir,
		    c->virtual_maps, c->relay_recipients, c->mail_spool_directory };
		for (i = 0; abs_keys[i]; i++) {
			p->line = global_line(p, abs_keys[i]);
			if (vals[i][0] != '\0' && vals[i][0] != '/')
				perr(p, "%s: '%s' must be an absolute path",
				    abs_keys[i], vals[i]);
		}
	}
	for (i = 0; i < 2; i++) {
		const char *k = i ? "smtp_bind_address6" : "smtp_bind_address";
		const char *v = i ? c->smtp_bind_address6 : c->smtp_bind_address;
		struct in6_addr a;

		p->line = global_line(p, k);
		if (v[0] != '\0' && inet_pton(i ? AF_INET6 : AF_INET, v, &a) != 1)
			perr(p, "%s: '%s' is not an IPv%d address", k, v, i ? 6 : 4);
	}
	p->line = global_line(p, "recipient_delimiter");
	if (strlen(c->recipient_delimiter) > 1 ||
	    strpbrk(c->recipient_delimiter, "@\"\\<> \t") != NULL)
		perr(p, "recipient_delimiter: '%s' must be one character, not "
		    "@, a quote, a backslash, <, > or a space", c->recipient_delimiter);
	p->line = global_line(p, "queue_retry_schedule");
	for (i = 0; i < c->queue_retry_schedule.n; i++) {
		uint64_t secs;

		if (config_parse_duration(c->queue_retry_schedule.v[i], &secs, 0) == -1 ||
		    secs < 1 || secs > 30 * DAY)
			perr(p, "queue_retry_schedule: '%s' is not a duration from "
			    "1s to 30d", c->queue_retry_schedule.v[i]);
	}
	p->line = global_line(p, "queue_backoff_factor");
	if (!valid_factor(c->queue_backoff_factor))
		perr(p, "queue_backoff_factor: '%s' is not a number from 1 to 10 "
		    "with at most 3 decimals", c->queue_backoff_factor);
	/* names set in the file (the machine's own name is taken as it is) */
	if ((p->line = global_line(p, "hostname")) != 0 &&
	    !valid_hostname(c->hostname))
		perr(p, "hostname: '%s' is not a host name", c->hostname);
	if ((p->line = global_line(p, "helo_name")) != 0 &&
	    !valid_hostname(c->helo_name))
		perr(p, "helo_name: '%s' is not a host name", c->helo_name);
	p->line = global_line(p, "pam_service");
	if (c->pam_service[0] == '\0' || strchr(c->pam_service, '/') != NULL)
		perr(p, "pam_service: '%s' is not a PAM service name",
		    c->pam_service);
	p->line = global_line(p, "relayhost");
	if (c->relayhost[0] && hostport_parse(c->relayhost, host, sizeof(host),
	    &port, &br, 25) == -1)
		perr(p, "relayhost: '%s' is not host, host:port or [host]:port",
		    c->relayhost);
	for (i = 0; i < c->nlisteners; i++) {
		p->line = c->listeners[i].line;
		if (c->listeners[i].listen.n == 0)
			perr(p, "listener %s: no 'listen' address",
			    c->listeners[i].name);
		for (j = 0; j < c->listeners[i].listen.n; j++) {
			struct in6_addr a6;
			if (hostport_parse(c->listeners[i].listen.v[j], host,
			    sizeof(host), &port, &br, 0) == -1 || port == 0 ||
			    (inet_pton(AF_INET, host, &a6) != 1 &&
			    inet_pton(AF_INET6, host, &a6) != 1))
				perr(p, "listener %s: listen: '%s' is not "
				    "address:port (a numeric IPv4 address, or "
				    "[IPv6]:port)", c->listeners[i].name,
				    c->listeners[i].listen.v[j]);
		}
		for (j = 0; j < i; j++)
			if (strcmp(c->listeners[i].name, c->listeners[j].name) == 0)
				perr(p, "listener %s: defined twice",
				    c->listeners[i].name);
		if (c->listeners[i].hostname[0] != '\0' &&
		    !valid_hostname(c->listeners[i].hostname))
			perr(p, "listener %s: hostname: '%s' is not a host name",
			    c->listeners[i].name, c->listeners[i].hostname);
		for (j = 0; j < c->listeners[i].disable_extensions.n; j++) {
			static const char *const known[] = { "PIPELINING", "SIZE",
			    "8BITMIME", "CHUNKING", "BINARYMIME", "DSN", "SMTPUTF8",
			    "ETRN", NULL };
			const char *x = c->listeners[i].disable_extensions.v[j];
			size_t k;

			for (k = 0; known[k] && strcasecmp(known[k], x) != 0; k++)
				;
			if (known[k] == NULL)
				perr(p, "listener %s: disable_extensions: '%s' is not "
				    "one of PIPELINING SIZE 8BITMIME CHUNKING "
				    "BINARYMIME DSN SMTPUTF8 ETRN",
				    c->listeners[i].name, x);
		}
		for (j = 0; j < c->listeners[i].dnsbl.n; j++) {
			const char *z = c->listeners[i].dnsbl.v[j];
			char zone[200];
			size_t zl = strlcpy(zone, z, sizeof(zone));

			/* a trailing dot (absolute name) is allowed; room is
			 * left for the reversed address in front */
			if (zl > 0 && zl < sizeof(zone) && zone[zl - 1] == '.')
				zone[--zl] = '\0';
			if (zl > 180 || !valid_hostname(zone))
				perr(p, "listener %s: dnsbl: '%s' is not a DNS zone "
				    "name", c->listeners[i].name, z);
		}
		for (j = 0; j < 2; j++) {
			const char *f = j ? c->listeners[i].key : c->listeners[i].cert;
			if (f[0] != '\0' && f[0] != '/')
				perr(p, "listener %s: %s: '%s' must be an absolute "
				    "path", c->listeners[i].name, j ? "key" : "cert", f);
		}
	}
	for (i = 0; i < c->nroutes; i++) {
		p->line = c->routes[i].line;
		if (!valid_route_pattern(c->routes[i].pattern))
			perr(p, "route \"%s\": pattern must be a domain, "
			    "*.domain or *", c->routes[i].pattern);
		for (j = 0; j < i; j++)
			if (strcmp(c->routes[i].pattern, c->routes[j].pattern) == 0)
				perr(p, "route \"%s\": already defined at line %d "
				    "(the first would always win)",
				    c->routes[i].pattern, c->routes[j].line);
		if (!valid_via(c->routes[i].via))
			perr(p, "route \"%s\": via: '%s' is not mx, host:port, "
			    "[host]:port, lmtp:host[:port] or lmtp:unix:/path",
			    c->routes[i].pattern, c->routes[i].via);
		if (c->routes[i].auth_user[0] != '\0' &&
		    c->routes[i].auth_password_file[0] != '/')
			perr(p, "route \"%s\": auth_user needs auth_password_file "
			    "(an absolute path)", c->routes[i].pattern);
	}
}

/* issue 8: appends d to a local_domains list unless it already matches; -1 when out of memory. */
static int
add_local_domain(struct strlist *l, const char *d)
{
	if (domain_list_match(l, d))
		return 0;
	return strlist_add(l, d, strlen(d));
}

struct config *
config_parse_buf(const char *path, const char *text, size_t len, struct buf *err)
{
	struct parser	 p = { path, 0, err, 0, { 0 }, { 0 } };
	struct config	*c;
	struct buf	 line;
	const char	*s = text, *end = text + len, *nl;
	const struct key *keys = global_keys;
	void		*base;
	char		*l, *eq, *k, *v, *name;
	size_t		 n;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL ||
	    set_defaults(&p, global_keys, c) == -1) {
		buf_appends(err, "out of memory\n");
		config_free(c);
		return NULL;
	}
	base = c;
	buf_init(&line);
	while (s < end) {
		p.line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		buf_reset(&line);
		if (memchr(s, '\0', n) != NULL) {
			perr(&p, "NUL byte in line");
			s += n + 1;
			continue;
		}
		if (buf_append(&line, s, n) == -1)
			goto oom;
		s += n + 1;
		if ((l = buf_cstr(&line)) == NULL)
			goto oom;
		if (strip_comment(l) == -1) {
			perr(&p, "unbalanced double quote");
			continue;
		}
		l = trim(l);
		if (*l == '\0')
			continue;
		if (strcmp(l, "}") == 0) {
			if (keys == global_keys)
				perr(&p, "'}' without an open block");
			keys = global_keys;
			base = c;
			continue;
		}
		if ((eq = strchr(l, '=')) == NULL) {
			if (keys != global_keys) {
				perr(&p, "expected 'key = value' or '}'");
				continue;
			}
			if (strncmp(l, "listener", 8) == 0 && (l[8] == ' ' || l[8] == '\t')) {
				struct listener_conf *nlc;
				if ((name = block_name(l + 8)) == NULL) {
					perr(&p, "expected: listener NAME {");
					continue;
				}
				if ((nlc = reallocarray(c->listeners, c->nlisteners + 1,
				    sizeof(*nlc))) == NULL)
					goto oom;
				c->listeners = nlc;
				base = memset(&c->listeners[c->nlisteners], 0, sizeof(*nlc));
				c->nlisteners++;
				c->listeners[c->nlisteners - 1].line = p.line;
				if ((c->listeners[c->nlisteners - 1].name = strdup(name)) == NULL ||
				    set_defaults(&p, listener_keys, base) == -1)
					goto oom;
				keys = listener_keys;
				memset(p.bline, 0, sizeof(p.bline));
			} else if (strncmp(l, "route", 5) == 0 && (l[5] == ' ' || l[5] == '\t')) {
				struct route_conf *nrc;
				if ((name = block_name(l + 5)) == NULL) {
					perr(&p, "expected: route \"PATTERN\" {");
					continue;
				}
				if ((nrc = reallocarray(c->routes, c->nroutes + 1,
				    sizeof(*nrc))) == NULL)
					goto oom;
				c->routes = nrc;
				base = memset(&c->routes[c->nroutes], 0, sizeof(*nrc));
				c->nroutes++;
				c->routes[c->nroutes - 1].line = p.line;
				if ((c->routes[c->nroutes - 1].pattern = strdup(name)) == NULL ||
				    set_defaults(&p, route_keys, base) == -1)
					goto oom;
				for (char *q = c->routes[c->nroutes - 1].pattern; *q; q++)
					*q = (char)tolower((unsigned char)*q);
				keys = route_keys;
				memset(p.bline, 0, sizeof(p.bline));
			} else
				perr(&p, "expected 'key = value', 'listener NAME {' "
				    "or 'route \"PATTERN\" {'");
			continue;
		}
		*eq = '\0';
		k = trim(l);
		v = trim(eq + 1);
		n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		}
		const struct key *kd = find_key(keys, k);
		if (kd == NULL) {
			perr(&p, "unknown key '%s'%s", k,
			    keys == listener_keys ? " in listener block" :
			    keys == route_keys ? " in route block" : "");
			continue;
		}
		if (keys == global_keys) {
			if (p.gline[kd - global_keys] != 0)
				perr(&p, "%s: already set at line %d", k,
				    p.gline[kd - global_keys]);
			p.gline[kd - global_keys] = p.line;
		} else if ((size_t)(kd - keys) < BLOCK_KEYS_MAX) {
			if (p.bline[kd - keys] != 0)
				perr(&p, "%s: already set at line %d", k,
				    p.bline[kd - keys]);
			p.bline[kd - keys] = p.line;
		}
		if (set_key(&p, kd, base, v) == -1)
			goto oom;
	}
	if (keys != global_keys)
		perr(&p, "block not closed with '}' at end of file");
	buf_free(&line);
	if (c->hostname[0] == '\0') {
		char hn[256];
		if (gethostname(hn, sizeof(hn)) == -1)
			strlcpy(hn, "localhost", sizeof(hn));
		hn[sizeof(hn) - 1] = '\0';
		free(c->hostname);
		if ((c->hostname = strdup(hn)) == NULL)
			goto oom2;
	}
	if (c->helo_name[0] == '\0') {
		free(c->helo_name);
		if ((c->helo_name = strdup(c->hostname)) == NULL)
			goto oom2;
	}
	/* issue 8: a bare user name is qualified with hostname (Postfix's mydestination) */
	if (c->local_hostname && (add_local_domain(&c->local_domains,
	    c->hostname) == -1 || add_local_domain(&c->local_domains,
	    "localhost") == -1))
		goto oom2;
	check_config(&p, c);
	if (p.nerr) {
		config_free(c);
		return NULL;
	}
	return c;
oom:
	buf_free(&line);
oom2:
	buf_appends(err, "out of memory\n");
	config_free(c);
	return NULL;
}

int
config_read_file(const char *path, struct buf *out)
{
	int fd, r, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = buf_read_fd(out, fd, CONF_MAX_SIZE);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

struct config *
config_load(const char *path, struct buf *err)
{
	struct buf	 text;
	struct config	*c;

	buf_init(&text);
	if (config_read_file(path, &text) == -1) {
		buf_appendf(err, "%s: %s\n", path, strerror(errno));
		buf_free(&text);
		return NULL;
	}
	c = config_parse_buf(path, text.p ? text.p : "", text.len, err);
	buf_free(&text);
	return c;
}

int
domain_list_match(const struct strlist *l, const char *domain)
{
	size_t		 i, dl = strlen(domain), el;
	const char	*e;

	for (i = 0; i < l->n; i++) {
		e = l->v[i];
		if (e[0] == '*' && e[1] == '.')
			e++;
		if (e[0] == '.') {
			el = strlen(e);
			if (dl > el && strcasecmp(domain + dl - el, e) == 0)
				return 1;
		} else if (strcasecmp(domain, e) == 0)
			return 1;
	}
	return 0;
}

const struct route_conf *
config_route_for_domain(const struct config *c, const char *domain)
{
	size_t		 i, dl = strlen(domain), pl;
	const char	*pat;

	for (i = 0; i < c->nroutes; i++) {
		pat = c->routes[i].pattern;
		if (strcmp(pat, "*") == 0)
			return &c->routes[i];
		if (pat[0] == '*' && pat[1] == '.') {
			pl = strlen(pat + 1);
			if (dl > pl && strcasecmp(domain + dl - pl, pat + 1) == 0)
				return &c->routes[i];
		} else if (strcasecmp(domain, pat) == 0)
			return &c->routes[i];
	}
	return NULL;
}
