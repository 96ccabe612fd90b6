/* smtpd's connect-time DNS checks: forward-confirmed reverse DNS, DNSBLs. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "dnscheck.h"
#include "log.h"
#include "pack.h"
#include "smtpd.h"

/* What one query asks. */
enum dq_kind {
	DQ_PTR = 0,		/* the client's reverse name */
	DQ_FWD,			/* A/AAAA of one PTR name (index) */
	DQ_BL,			/* a DNSBL zone (index) */
};

/* Where each part of a check stands. */
enum part_state {
	PART_OFF = 0,		/* not asked */
	PART_WAIT,		/* answers awaited */
	PART_YES,		/* confirmed name / listed */
	PART_NO,		/* no name, no match / not listed */
	PART_TEMP,		/* SERVFAIL, no resolver, flood */
	PART_TIMEOUT,		/* no answer within dns_check_timeout */
};

struct dq {
	RB_ENTRY(dq)		 node;
	LIST_ENTRY(dq)		 owner;
	uint32_t		 id;
	enum dq_kind		 kind;
	size_t			 index;
	struct dnscheck		*dc;
};

struct dnscheck {
	struct session		*s;
	struct event		*timer;
	LIST_HEAD(, dq)		 queries;
	int			 family;	/* AF_INET or AF_INET6 */
	uint8_t			 addr[16];
	struct sockaddr_storage	 ss;
	char			 addr_text[INET6_ADDRSTRLEN];
	char			 listener[64];
	int			 rdns_mode;	/* enum dnscheck_rdns */
	int			 bl_action;	/* enum dnscheck_action */
	int			 in_start;	/* no callbacks until started */
	int			 done;

	enum part_state		 rdns;
	int			 fwd_temp;	/* a forward lookup failed */
	size_t			 nfwd_wait;
	char			*names[DNSCHECK_MAX_NAMES];
	int			 matched[DNSCHECK_MAX_NAMES];
	size_t			 nnames;
	char			 verified[DNSCHECK_NAME_MAX + 1];

	char			*zones[DNSCHECK_MAX_ZONES];
	enum part_state		 bl[DNSCHECK_MAX_ZONES];
	char			 bl_answer[DNSCHECK_MAX_ZONES][INET_ADDRSTRLEN];
	size_t			 nzones;

	char			 refusal[512];
};

static int
dq_cmp(struct dq *a, struct dq *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

/* libbsd's RB_GENERATE_STATIC leans on a __unused it leaves undefined. */
RB_HEAD(dq_tree, dq);
RB_GENERATE_INTERNAL(dq_tree, dq, node, dq_cmp, __attribute__((__unused__)) static)

/* One resolver channel per smtpd process, and its queries by id. */
static struct {
	struct ipc_chan		*chan;
	struct dq_tree		 tree;
	size_t			 ninflight;
	uint32_t		 next_id;
	int			 flood_logged;
} dns = { NULL, RB_INITIALIZER(&dns.tree), 0, 0, 0 };

static void	check_finish(struct dnscheck *);
static void	check_maybe_done(struct dnscheck *);

/* ---- names ---- */

int
dnscheck_reverse_name(const struct sockaddr *sa, const char *suffix,
    char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*a;
	const struct sockaddr_in6 *s6;
	struct buf		 b;
	size_t			 slen = strlen(suffix);
	int			 i, r = 0;

	if (slen > 0 && suffix[slen - 1] == '.')
		slen--;
	buf_init(&b);
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		r = buf_appendf(&b, "%u.%u.%u.%u.", a[3], a[2], a[1], a[0]);
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			/* an IPv4 client on a dual-stack socket */
			r = buf_appendf(&b, "%u.%u.%u.%u.", a[15], a[14],
			    a[13], a[12]);
		else
			for (i = 15; i >= 0 && r == 0; i--)
				r = buf_appendf(&b, "%c.%c.", hex[a[i] & 0xf],
				    hex[a[i] >> 4]);
	} else {
		buf_free(&b);
		return -1;
	}
	if (r == 0)
		r = buf_append(&b, suffix, slen);
	if (r == 0 && (slen == 0 || b.len >= outsz ||
	    b.len > DNSCHECK_NAME_MAX))
		r = -1;
	if (r == 0) {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
	}
	buf_free(&b);
	return r;
}

int
dnscheck_bl_listed(const char *addr)
{
	struct in_addr	 a;
	uint32_t	 v;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	v = ntohl(a.s_addr);
	/* RFC 5782 2.3: 127.0.0.0/8; 127.255.255.x says "you may not ask" */
	return (v >> 24) == 127 && (v >> 8) != 0x7fffff;
}

int
dnscheck_hostname_ok(const char *s)
{
	size_t	 n = strlen(s), label = 0;

	if (n == 0 || n > DNSCHECK_NAME_MAX || *s == '.' || s[n - 1] == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		/* '_' occurs in real PTR data; nothing that could break a header */
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* ---- queries ---- */

/* Asks the resolver; 0, or -1 when it cannot be asked now. */
static int
query_send(struct dnscheck *dc, enum dq_kind kind, size_t index,
    uint32_t qtype, const char *name)
{
	struct dq	*q, key;
	struct buf	 b;
	int		 r;

	if (dns.chan == NULL)
		return -1;
	if (dns.ninflight >= DNSCHECK_MAX_INFLIGHT) {
		if (!dns.flood_logged)
			log_warn("dnscheck: %zu DNS queries in flight; "
			    "connect checks fail as temporary until they drain",
			    dns.ninflight);
		dns.flood_logged = 1;
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	/* ids wrap; one still in use is skipped */
	do {
		if (++dns.next_id == 0)
			dns.next_id = 1;
		key.id = dns.next_id;
	} while (RB_FIND(dq_tree, &dns.tree, &key) != NULL);
	q->id = dns.next_id;
	q->kind = kind;
	q->index = index;
	q->dc = dc;
	buf_init(&b);
	r = pack_u32(&b, qtype);
	r |= pack_str(&b, name);
	if (r != 0 || ipc_send_buf(dns.chan, IPC_DNS_QUERY, q->id, -1,
	    &b) == -1) {
		buf_free(&b);
		free(q);
		return -1;
	}
	buf_free(&b);
	RB_INSERT(dq_tree, &dns.tree, q);
	LIST_INSERT_HEAD(&dc->queries, q, owner);
	dns.ninflight++;
	return 0;
}

static void
query_forget(struct dq *q)
{
	RB_REMOVE(dq_tree, &dns.tree, q);
	LIST_REMOVE(q, owner);
	dns.ninflight--;
	if (dns.ninflight < DNSCHECK_MAX_INFLIGHT / 2)
		dns.flood_logged = 0;
	free(q);
}

/* ---- one check ---- */

static void
fwd_done(struct dnscheck *dc)
{
	size_t i;

	if (dc->rdns != PART_WAIT || dc->nfwd_wait > 0)
		return;
	for (i = 0; i < dc->nnames; i++) {
		if (dc->matched[i]) {
			strlcpy(dc->verified, dc->names[i], sizeof(dc->verified));
			dc->rdns = PART_YES;
			return;
		}
	}
	dc->rdns = dc->fwd_temp ? PART_TEMP : PART_NO;
}

/* The PTR names: each one's addresses must include the client's. */
static void
ptr_answer(struct dnscheck *dc, int status, struct unpack *u, uint32_t n)
{
	uint32_t	 i, qtype = dc->family == AF_INET ? DNS_Q_A : DNS_Q_AAAA;
	char		*name = NULL;
	size_t		 len;

	if (status == DNS_NXDOMAIN || status == DNS_NODATA) {
		dc->rdns = PART_NO;
		return;
	}
	if (status != DNS_OK) {
		dc->rdns = PART_TEMP;
		return;
	}
	for (i = 0; i < n && dc->nnames < DNSCHECK_MAX_NAMES; i++) {
		if (unpack_str(u, &name, DNSCHECK_NAME_MAX + 1) == -1)
			break;
		len = strlen(name);
		if (len > 0 && name[len - 1] == '.')
			name[len - 1] = '\0';
		if (!dnscheck_hostname_ok(name)) {
			log_info("dnscheck [%s]: PTR name '%.64s' is not a host "
			    "name, ignored", dc->addr_text, name);
			free(name);
			name = NULL;
			continue;
		}
		dc->names[dc->nnames] = name;
		name = NULL;
		if (query_send(dc, DQ_FWD, dc->nnames, qtype,
		    dc->names[dc->nnames]) == 0)
			dc->nfwd_wait++;
		else
			dc->fwd_temp = 1;
		dc->nnames++;
	}
	free(name);
	fwd_done(dc);
}

static void
fwd_answer(struct dnscheck *dc, size_t index, int status, struct unpack *u,
    uint32_t n)
{
	uint32_t	 i;
	uint8_t		 a[16];
	char		*text = NULL;

	if (dc->nfwd_wait > 0)
		dc->nfwd_wait--;
	if (status == DNS_TEMPFAIL || status == DNS_BOGUS)
		dc->fwd_temp = 1;
	for (i = 0; status == DNS_OK && i < n; i++) {
		if (unpack_str(u, &text, INET6_ADDRSTRLEN) == -1)
			break;
		if (inet_pton(dc->family, text, a) == 1 &&
		    memcmp(a, dc->addr, dc->family == AF_INET ? 4 : 16) == 0)
			dc->matched[index] = 1;
		free(text);
		text = NULL;
	}
	fwd_done(dc);
}

static void
bl_answer(struct dnscheck *dc, size_t index, int status, struct unpack *u,
    uint32_t n)
{
	uint32_t	 i;
	char		*text = NULL;

	if (status == DNS_NXDOMAIN || status == DNS_NODATA) {
		dc->bl[index] = PART_NO;
		return;
	}
	if (status != DNS_OK) {
		dc->bl[index] = PART_TEMP;
		return;
	}
	dc->bl[index] = PART_NO;
	for (i = 0; i < n; i++) {
		if (unpack_str(u, &text, INET6_ADDRSTRLEN) == -1)
			break;
		if (dnscheck_bl_listed(text)) {
			dc->bl[index] = PART_YES;
			strlcpy(dc->bl_answer[index], text,
			    sizeof(dc->bl_answer[index]));
		} else
			log_info("dnscheck [%s]: %s answered %.46s, not a "
			    "listing", dc->addr_text, dc->zones[index], text);
		free(text);
		text = NULL;
	}
}

static int
check_waiting(const struct dnscheck *dc)
{
	size_t i;

	if (dc->rdns == PART_WAIT)
		return 1;
	for (i = 0; i < dc->nzones; i++)
		if (dc->bl[i] == PART_WAIT)
			return 1;
	return 0;
}

static const char *
part_text(enum part_state p)
{
	switch (p) {
	case PART_NO:
		return "none";
	case PART_TEMP:
		return "temporary failure";
	case PART_TIMEOUT:
		return "timeout";
	default:
		return "?";
	}
}

/* Decides, logs the outcome, and keeps the refusal for the greeting. */
static void
check_finish(struct dnscheck *dc)
{
	struct buf	 hits;
	const char	*blocked = NULL;
	size_t		 i;

	dc->done = 1;
	if (dc->timer != NULL)
		evtimer_del(dc->timer);
	buf_init(&hits);
	for (i = 0; i < dc->nzones; i++) {
		if (dc->bl[i] == PART_YES) {
			(void)buf_appendf(&hits, "%s%s (%s)", hits.len ? ", " : "",
			    dc->zones[i], dc->bl_answer[i]);
			if (blocked == NULL)
				blocked = dc->zones[i];
		} else if (dc->bl[i] == PART_TEMP || dc->bl[i] == PART_TIMEOUT)
			(void)buf_appendf(&hits, "%s%s: %s", hits.len ? ", " : "",
			    dc->zones[i], part_text(dc->bl[i]));
	}
	if (dc->bl_action == DNSCHECK_BL_REJECT && blocked != NULL)
		snprintf(dc->refusal, sizeof(dc->refusal), "554 5.7.1 Service "
		    "unavailable; client [%s] blocked using %s",
		    dc->addr_text, blocked);
	else if (dc->rdns_mode == DNSCHECK_RDNS_REQUIRE &&
	    dc->rdns != PART_YES)
		/* RFC 7372: 4.7.25 even when DNS only failed for now */
		snprintf(dc->refusal, sizeof(dc->refusal), "450 4.7.25 Client "
		    "host rejected: cannot find your hostname, [%s]",
		    dc->addr_text);
	log_info("dnscheck %s[%s] on %s: reverse=%s%s%s, dnsbl=%s%s%s",
	    dc->rdns == PART_YES ? dc->verified : "unknown", dc->addr_text,
	    dc->listener,
	    dc->rdns == PART_YES ? "confirmed" :
	    dc->rdns == PART_OFF ? "not checked" : part_text(dc->rdns),
	    dc->rdns == PART_NO && dc->nnames > 0 ? " (PTR " : "",
	    dc->rdns == PART_NO && dc->nnames > 0 ? "not forward-confirmed)" : "",
	    dc->nzones == 0 ? "not checked" :
	    buf_cstr(&hits) != NULL && hits.len > 0 ? hits.p : "not listed",
	    dc->refusal[0] ? "; refused: " : "", dc->refusal);
	buf_free(&hits);
}

static void
check_maybe_done(struct dnscheck *dc)
{
	if (dc->done || check_waiting(dc))
		return;
	check_finish(dc);
	if (!dc->in_start)
		session_dns_ready(dc->s);	/* may free dc */
}

/* dns_check_timeout: whatever is still out counts as a timeout. */
static void
check_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dnscheck	*dc = arg;
	struct dq	*q;
	size_t		 i;

	while ((q = LIST_FIRST(&dc->queries)) != NULL)
		query_forget(q);
	if (dc->rdns == PART_WAIT)
		dc->rdns = PART_TIMEOUT;
	for (i = 0; i < dc->nzones; i++)
		if (dc->bl[i] == PART_WAIT)
			dc->bl[i] = PART_TIMEOUT;
	/* names confirmed before the timeout still count */
	for (i = 0; i < dc->nnames && dc->rdns == PART_TIMEOUT; i++) {
		if (dc->matched[i]) {
			strlcpy(dc->verified, dc->names[i], sizeof(dc->verified));
			dc->rdns = PART_YES;
		}
	}
	check_maybe_done(dc);
}

struct dnscheck *
dnscheck_start(struct smtpd *env, struct listener *l,
    const struct sockaddr *sa, const char *addr, struct session *s)
{
	const struct listener_conf	*lc;
	const struct sockaddr_in6	*s6;
	struct dnscheck			*dc;
	struct timeval			 tv;
	char				 name[DNSCHECK_NAME_MAX + 1];
	int				 bl;
	size_t				 i;

	if (l->index >= env->conf->nlisteners)
		return NULL;
	lc = &env->conf->listeners[l->index];
	/* trusted networks are never looked up in a DNSBL */
	bl = lc->dnsbl.n > 0 && !cidrlist_match(&env->conf->trusted_networks, sa);
	if (lc->reverse_dns == DNSCHECK_RDNS_NO && !bl)
		return NULL;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return NULL;
	if ((dc = calloc(1, sizeof(*dc))) == NULL ||
	    (dc->timer = evtimer_new(env->base, check_timeout_cb, dc)) == NULL) {
		log_err("dnscheck [%s]: out of memory; not checked", addr);
		free(dc);
		return NULL;
	}
	LIST_INIT(&dc->queries);
	dc->s = s;
	dc->in_start = 1;
	dc->rdns_mode = lc->reverse_dns;
	dc->bl_action = lc->dnsbl_action;
	strlcpy(dc->addr_text, addr, sizeof(dc->addr_text));
	strlcpy(dc->listener, lc->name, sizeof(dc->listener));
	s6 = (const struct sockaddr_in6 *)sa;
	if (sa->sa_family == AF_INET) {
		dc->family = AF_INET;
		memcpy(dc->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		dc->family = AF_INET;
		memcpy(dc->addr, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		dc->family = AF_INET6;
		memcpy(dc->addr, &s6->sin6_addr, 16);
	}
	if (dc->rdns_mode != DNSCHECK_RDNS_NO) {
		dc->rdns = PART_WAIT;
		if (dnscheck_reverse_name(sa, dc->family == AF_INET ?
		    "in-addr.arpa" : "ip6.arpa", name, sizeof(name)) == -1 ||
		    query_send(dc, DQ_PTR, 0, DNS_Q_PTR, name) == -1)
			dc->rdns = PART_TEMP;
	}
	for (i = 0; bl && i < lc->dnsbl.n && i < DNSCHECK_MAX_ZONES; i++) {
		if ((dc->zones[i] = strdup(lc->dnsbl.v[i])) == NULL) {
			log_err("dnscheck [%s]: out of memory", addr);
			break;
		}
		dc->nzones++;
		dc->bl[i] = PART_WAIT;
		if (dnscheck_reverse_name(sa, dc->zones[i], name,
		    sizeof(name)) == -1) {
			log_warn("dnscheck: dnsbl zone '%.64s' makes too long "
			    "a name; skipped", dc->zones[i]);
			dc->bl[i] = PART_NO;
		} else if (query_send(dc, DQ_BL, i, DNS_Q_A, name) == -1)
			dc->bl[i] = PART_TEMP;
	}
	if (dns.chan == NULL)
		log_debug("dnscheck [%s]: no resolver channel; checks fail as "
		    "temporary", addr);
	tv.tv_sec = (time_t)(env->conf->dns_check_timeout / 1000);
	tv.tv_usec = (suseconds_t)(env->conf->dns_check_timeout % 1000) * 1000;
	if (check_waiting(dc))
		evtimer_add(dc->timer, &tv);
	check_maybe_done(dc);
	dc->in_start = 0;
	return dc;
}

int
dnscheck_busy(const struct dnscheck *dc)
{
	return dc != NULL && !dc->done;
}

const char *
dnscheck_refusal(const struct dnscheck *dc)
{
	if (dc == NULL || !dc->done || dc->refusal[0] == '\0')
		return NULL;
	return dc->refusal;
}

const char *
dnscheck_name(const struct dnscheck *dc)
{
	if (dc == NULL || dc->rdns != PART_YES)
		return "";
	return dc->verified;
}

void
dnscheck_free(struct dnscheck *dc)
{
	struct dq	*q;
	size_t		 i;

	if (dc == NULL)
		return;
	while ((q = LIST_FIRST(&dc->queries)) != NULL)
		query_forget(q);
	if (dc->timer != NULL)
		event_free(dc->timer);
	for (i = 0; i < dc->nnames; i++)
		free(dc->names[i]);
	for (i = 0; i < dc->nzones; i++)
		free(dc->zones[i]);
	free(dc);
}

/* ---- the resolver channel ---- */

/* One answer: the query it belongs to, then what the answer says. */
static void
answer(struct dq *q, int status, struct unpack *u, uint32_t n)
{
	struct dnscheck	*dc = q->dc;
	enum dq_kind	 kind = q->kind;
	size_t		 index = q->index;

	query_forget(q);
	switch (kind) {
	case DQ_PTR:
		if (dc->rdns == PART_WAIT)
			ptr_answer(dc, status, u, n);
		break;
	case DQ_FWD:
		if (index < dc->nnames)
			fwd_answer(dc, index, status, u, n);
		break;
	case DQ_BL:
		if (index < dc->nzones && dc->bl[index] == PART_WAIT)
			bl_answer(dc, index, status, u, n);
		break;
	}
	check_maybe_done(dc);
}

/* Every query in flight fails: the resolver went away. */
static void
fail_all(void)
{
	struct dq *q;

	/* answer() may free whole checks: take the first one each time */
	while ((q = RB_MIN(dq_tree, &dns.tree)) != NULL)
		answer(q, DNS_TEMPFAIL, NULL, 0);
}

static void
resolver_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct unpack	 u;
	struct dq	*q, key;
	uint32_t	 status, secure, n;

	if (m->type != IPC_DNS_ANSWER) {
		log_err("resolver: unexpected %s message, ignored",
		    ipc_type_name(m->type));
		return;
	}
	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &status) == -1 || unpack_u32(&u, &secure) == -1 ||
	    unpack_u32(&u, &n) == -1 || status > DNS_BOGUS) {
		log_err("resolver: bad DNS_ANSWER payload, ignored");
		return;
	}
	key.id = m->id;
	if ((q = RB_FIND(dq_tree, &dns.tree, &key)) == NULL) {
		/* the session left, or its check timed out */
		log_debug("resolver: answer %u for nobody", m->id);
		return;
	}
	/*
	 * The records are read one by one as they are used; a payload that
	 * runs short simply ends the list (each reader checks), so a broken
	 * frame can cost a confirmation but never memory safety.
	 */
	answer(q, (int)status, &u, n);
}

static void
resolver_closed(struct ipc_chan *c, void *arg)
{
	log_warn("lost the resolver channel");
	if (dns.chan == c)
		dns.chan = NULL;
	ipc_chan_free(c);
	fail_all();
}

void
dnscheck_peer(struct smtpd *env, struct ipc_msg *m)
{
	struct ipc_chan *c;

	if ((c = ipc_chan_new(env->base, m->fd, "resolver", resolver_msg,
	    resolver_closed, env)) == NULL) {
		log_errno("resolver channel");
		return;
	}
	m->fd = -1;
	/* the resolver was restarted: its old questions have no answers */
	if (dns.chan != NULL) {
		ipc_chan_free(dns.chan);
		dns.chan = NULL;
		fail_all();
	}
	dns.chan = c;
	log_debug("resolver channel up");
}

void
dnscheck_shutdown(struct smtpd *env)
{
	if (dns.chan != NULL) {
		ipc_chan_free(dns.chan);
		dns.chan = NULL;
	}
}
