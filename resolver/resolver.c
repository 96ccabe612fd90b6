/* The resolver process: DNS questions of deliver and smtpd answered with libunbound. */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>
#include <unbound-event.h>

#include <bsd/string.h>

#include "ipc.h"
#include "daemon.h"
#include "log.h"
#include "pack.h"
#include "resolver.h"

#define DNS_RCODE_NXDOMAIN	3
#define DNS_SEC_BOGUS		1
#define DNS_SEC_SECURE		2

/*
 * A daemon that asks questions: deliver (MX, TLSA for mail going out) and
 * smtpd (PTR, A and DNSBL lookups at connect). Each has its own channel,
 * generation and share of the queries in flight, so a restarted peer never
 * gets another's answers and a flood from one cannot starve the other.
 */
struct rchan {
	const char	*name;
	enum proc_kind	 kind;
	struct ipc_chan	*chan;
	uint64_t	 gen;		/* bumped whenever the channel changes */
	size_t		 nqueries;	/* its queries libunbound still holds */
	int		 full_logged;	/* its share is used up, said so */
};

/* One question from a peer, alive until libunbound is done with it. */
struct rquery {
	uint32_t	 id;
	uint16_t	 qtype;
	struct rchan	*rc;		/* the peer that asked */
	uint64_t	 gen;		/* its channel at the time */
	struct event	*timer;
	int		 answered;	/* the peer has had its answer */
	int		 submitting;	/* inside ub_resolve_event() */
	int		 done;		/* libunbound called back */
	char		 name[DNSMSG_MAX_TEXT + 2];
};

static struct {
	struct event_base	*base;
	struct config		*conf;
	struct ub_ctx		*ub;
	struct ipc_chan		*master;
	struct rchan		 peers[RESOLVER_NPEERS];
	size_t			 nqueries;
} rs = {
	.peers = {
		[RESOLVER_PEER_DELIVER] = { "deliver", PROC_DELIVER, NULL, 1, 0, 0 },
		[RESOLVER_PEER_SMTPD] = { "smtpd", PROC_SMTPD, NULL, 1, 0, 0 },
	},
};

static void	warmup_cb(void *, int, void *, int, int, char *, int);

/*
 * libunbound's own message and RRset caches are the resolver's cache:
 * answers live for their TTL (capped), negative answers for the SOA
 * minimum (RFC 2308, capped), per name and type. With a trust anchor
 * every answer is validated and carries its DNSSEC status.
 */
static int
resolver_ub_cache(struct ub_ctx *ctx, const struct config *c)
{
	char	 v[32];
	int	 r;

	snprintf(v, sizeof(v), "%llu", (unsigned long long)c->dns_cache_max_ttl);
	if ((r = ub_ctx_set_option(ctx, "cache-max-ttl:", v)) != 0) {
		log_err("resolver: dns_cache_max_ttl: %s", ub_strerror(r));
		return -1;
	}
	snprintf(v, sizeof(v), "%llu",
	    (unsigned long long)c->dns_cache_max_negative_ttl);
	if ((r = ub_ctx_set_option(ctx, "cache-max-negative-ttl:", v)) != 0) {
		log_err("resolver: dns_cache_max_negative_ttl: %s",
		    ub_strerror(r));
		return -1;
	}
	if (c->dns_trust_anchor_file[0] != '\0') {
		if ((r = ub_ctx_add_ta_file(ctx, c->dns_trust_anchor_file)) != 0) {
			log_err("resolver: dns_trust_anchor_file %s: %s",
			    c->dns_trust_anchor_file, ub_strerror(r));
			return -1;
		}
		log_info("resolver: DNSSEC validation with the trust anchor "
		    "in %s", c->dns_trust_anchor_file);
	}
	return 0;
}

struct ub_ctx *
resolver_ub_new(struct event_base *base, const struct config *c)
{
	struct ub_ctx	*ctx;
	size_t		 i;
	int		 r, warm = 0;

	if ((ctx = ub_ctx_create_event(base)) == NULL) {
		log_err("resolver: cannot create the libunbound context");
		return NULL;
	}
	/* tests (and local caches) forward to a server on loopback */
	if ((r = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0)
		log_warn("resolver: do-not-query-localhost: %s", ub_strerror(r));
	if (resolver_ub_cache(ctx, c) == -1) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	/* a built-in empty zone must not hide names the forwarders serve
	 * ("nodefault" does not undo it in libunbound 1.17: transparent does) */
	if ((r = ub_ctx_set_option(ctx, "local-zone:", "test. transparent")) != 0)
		log_warn("resolver: local-zone test.: %s", ub_strerror(r));
	/* the same for loopback clients' PTR names (smtpd's reverse_dns):
	 * built in, every 127/8 address but 127.0.0.1 would have none */
	if ((r = ub_ctx_set_option(ctx, "local-zone:",
	    "127.in-addr.arpa. transparent")) != 0)
		log_warn("resolver: local-zone 127.in-addr.arpa.: %s",
		    ub_strerror(r));
	if (c->dns_forwarders.n > 0) {
		for (i = 0; i < c->dns_forwarders.n; i++) {
			if ((r = ub_ctx_set_fwd(ctx, c->dns_forwarders.v[i])) != 0) {
				log_err("resolver: dns_forwarders: '%s': %s",
				    c->dns_forwarders.v[i], ub_strerror(r));
				ub_ctx_delete(ctx);
				return NULL;
			}
		}
		log_info("resolver: forwarding to %zu server(s) from "
		    "dns_forwarders", c->dns_forwarders.n);
	} else if ((r = ub_ctx_resolvconf(ctx, "/etc/resolv.conf")) != 0)
		log_warn("resolver: /etc/resolv.conf: %s; resolving by full "
		    "recursion", ub_strerror(r));
	else
		log_info("resolver: using the servers of /etc/resolv.conf");
	/*
	 * The first query finalises the context (zones, forwarders, the
	 * worker) and is answered at once from the built-in localhost zone,
	 * so nothing is left to read from files once we are chrooted.
	 */
	r = ub_resolve_event(ctx, "localhost.", DNS_Q_A, 1, &warm, warmup_cb,
	    NULL);
	if (r != 0) {
		log_err("resolver: finalising libunbound: %s", ub_strerror(r));
		ub_ctx_delete(ctx);
		return NULL;
	}
	if (!warm)
		log_warn("resolver: libunbound did not answer localhost at once");
	return ctx;
}

static void
warmup_cb(void *arg, int rcode, void *pkt, int len, int sec, char *why,
    int ratelimited)
{
	*(int *)arg = 1;
}

int
resolver_status(int rcode, int sec, const void *pkt, int len, uint16_t qtype,
    struct dnsmsg_answers *ans)
{
	ans->n = 0;
	ans->nbad = 0;
	if (sec == DNS_SEC_BOGUS)
		return DNS_BOGUS;
	if (rcode == DNS_RCODE_NXDOMAIN)
		return DNS_NXDOMAIN;
	if (rcode != 0 || pkt == NULL || len <= 0)
		return DNS_TEMPFAIL;
	if (dnsmsg_parse(pkt, (size_t)len, qtype, ans) == -1)
		return DNS_TEMPFAIL;
	/* libunbound reports only its own failures in rcode; the server's
	 * answer (NXDOMAIN above all) is in the packet's header */
	if (ans->rcode == DNS_RCODE_NXDOMAIN)
		return DNS_NXDOMAIN;
	if (ans->rcode != 0)
		return DNS_TEMPFAIL;
	if (ans->n > 0)
		return DNS_OK;
	/* records of the type that we could not read: not "no data" */
	if (ans->nbad > 0)
		return DNS_TEMPFAIL;
	return DNS_NODATA;
}

/* Octets one record takes in an IPC_DNS_ANSWER payload. */
static size_t
resolver_rr_size(uint16_t qtype, const struct dnsmsg_rr *rr)
{
	switch (qtype) {
	case DNS_Q_MX:
		return 8 + strlen(rr->text);
	case DNS_Q_TXT:
		return 4 + rr->dlen;
	case DNS_Q_TLSA:
		return 16 + rr->dlen;
	default:
		return 4 + strlen(rr->text);
	}
}

int
resolver_answer_pack(struct buf *b, int status, int secure, uint16_t qtype,
    const struct dnsmsg_answers *ans)
{
	size_t	 i, n = status == DNS_OK ? ans->n : 0, room, need;
	int	 r = 0;

	/* records beyond one frame are left out, not the whole answer */
	room = IPC_MAX_PAYLOAD - 12;
	for (i = 0; i < n; i++) {
		need = resolver_rr_size(qtype, &ans->rr[i]);
		if (need > room)
			break;
		room -= need;
	}
	n = i;
	r |= pack_u32(b, (uint32_t)status);
	r |= pack_u32(b, secure ? 1 : 0);
	r |= pack_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		switch (qtype) {
		case DNS_Q_MX:
			r |= pack_u32(b, ans->rr[i].pref);
			r |= pack_str(b, ans->rr[i].text);
			break;
		case DNS_Q_TXT:
			r |= pack_bytes(b, ans->rr[i].data, ans->rr[i].dlen);
			break;
		case DNS_Q_TLSA:
			r |= pack_u32(b, ans->rr[i].usage);
			r |= pack_u32(b, ans->rr[i].selector);
			r |= pack_u32(b, ans->rr[i].mtype);
			r |= pack_bytes(b, ans->rr[i].data, ans->rr[i].dlen);
			break;
		default:
			r |= pack_str(b, ans->rr[i].text);
			break;
		}
	}
	return r ? -1 : 0;
}

static void
query_send(struct rquery *q, int status, int secure,
    const struct dnsmsg_answers *ans)
{
	struct buf	 b;

	q->answered = 1;
	if (q->timer)
		event_del(q->timer);
	if (q->rc->chan == NULL || q->gen != q->rc->gen)
		return;		/* the peer was restarted: nobody asks any more */
	buf_init(&b);
	if (resolver_answer_pack(&b, status, secure, q->qtype, ans) == -1 ||
	    ipc_send_buf(q->rc->chan, IPC_DNS_ANSWER, q->id, -1, &b) == -1)
		log_err("resolver: cannot send the answer for %s", q->name);
	buf_free(&b);
}

static void
query_free(struct rquery *q)
{
	if (q->timer)
		event_free(q->timer);
	q->rc->nqueries--;
	free(q);
	rs.nqueries--;
}

static void
query_fail(struct rquery *q, int status)
{
	struct dnsmsg_answers ans;

	memset(&ans, 0, sizeof(ans));
	query_send(q, status, 0, &ans);
}

static void
query_done_cb(void *arg, int rcode, void *pkt, int len, int sec, char *why,
    int ratelimited)
{
	struct rquery		*q = arg;
	struct dnsmsg_answers	*ans;
	int			 status;

	if (!q->answered) {
		if ((ans = malloc(sizeof(*ans))) == NULL) {
			log_err("resolver: out of memory answering %s", q->name);
			query_fail(q, DNS_TEMPFAIL);
		} else {
			status = resolver_status(rcode, sec, pkt, len, q->qtype,
			    ans);
			if (status == DNS_BOGUS)
				log_warn("resolver: %s type %u: DNSSEC bogus: %s",
				    q->name, q->qtype, why ? why : "?");
			else if (status == DNS_TEMPFAIL)
				log_info("resolver: %s type %u: temporary "
				    "failure (rcode %d%s)", q->name, q->qtype,
				    rcode, ans->nbad ? ", malformed records" : "");
			log_debug("resolver: %s type %u: status %d, %zu "
			    "record(s)", q->name, q->qtype, status, ans->n);
			query_send(q, status, sec == DNS_SEC_SECURE, ans);
			free(ans);
		}
	}
	if (q->submitting) {
		q->done = 1;
		return;
	}
	query_free(q);
}

static void
query_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rquery *q = arg;

	log_info("resolver: %s type %u: no answer in %d s", q->name, q->qtype,
	    RESOLVER_QUERY_TIMEOUT);
	/* the query stays with libunbound (ub_cancel() is not for event
	 * contexts); its late answer is dropped and frees it */
	query_fail(q, DNS_TEMPFAIL);
}

int
resolver_qtype_ok(uint32_t qtype)
{
	switch (qtype) {
	case DNS_Q_A:
	case DNS_Q_AAAA:
	case DNS_Q_MX:
	case DNS_Q_PTR:
	case DNS_Q_TXT:
	case DNS_Q_TLSA:
		return 1;
	default:
		return 0;
	}
}

int
resolver_peer_full(size_t peer_queries, size_t all_queries)
{
	return peer_queries >= RESOLVER_MAX_PEER_QUERIES ||
	    all_queries >= RESOLVER_MAX_QUERIES;
}

static void
query_start(struct rchan *rc, uint32_t id, uint32_t qtype, const char *name)
{
	struct rquery	*q;
	struct timeval	 tv = { RESOLVER_QUERY_TIMEOUT, 0 };
	int		 r, full;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_err("resolver: out of memory");
		return;
	}
	/* counted before the checks: query_free() uncounts every exit */
	full = resolver_peer_full(rc->nqueries, rs.nqueries);
	rs.nqueries++;
	rc->nqueries++;
	q->id = id;
	q->qtype = (uint16_t)qtype;
	q->rc = rc;
	q->gen = rc->gen;
	strlcpy(q->name, name, sizeof(q->name));
	if (!resolver_qtype_ok(qtype)) {
		log_warn("resolver: %s asked for unsupported type %u",
		    rc->name, qtype);
		query_fail(q, DNS_TEMPFAIL);
		query_free(q);
		return;
	}
	if (!dnsmsg_qname_valid(name)) {
		/* no such name can exist in the DNS */
		log_info("resolver: invalid name asked for: '%s'", q->name);
		query_fail(q, DNS_NXDOMAIN);
		query_free(q);
		return;
	}
	if (full) {
		/* logged once per burst, not once per refused query */
		if (!rc->full_logged)
			log_warn("resolver: %zu queries in flight (%zu from "
			    "%s), refusing %s and more", rs.nqueries,
			    rc->nqueries, rc->name, name);
		rc->full_logged = 1;
		query_fail(q, DNS_TEMPFAIL);
		query_free(q);
		return;
	}
	if ((q->timer = evtimer_new(rs.base, query_timeout_cb, q)) == NULL ||
	    evtimer_add(q->timer, &tv) == -1) {
		log_err("resolver: cannot arm a timer");
		query_fail(q, DNS_TEMPFAIL);
		query_free(q);
		return;
	}
	rc->full_logged = 0;
	q->submitting = 1;
	r = ub_resolve_event(rs.ub, name, (int)qtype, 1, q, query_done_cb, NULL);
	q->submitting = 0;
	if (r != 0) {
		log_err("resolver: %s: %s", name, ub_strerror(r));
		if (!q->answered)
			query_fail(q, DNS_TEMPFAIL);
		query_free(q);
		return;
	}
	/* answered from local data before ub_resolve_event() returned */
	if (q->done)
		query_free(q);
}

static void
peer_msg_cb(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct rchan	*rc = arg;
	struct unpack	 u;
	uint32_t	 qtype;
	char		*name = NULL;

	if (m->type != IPC_DNS_QUERY) {
		log_warn("resolver: unexpected %s from %s",
		    ipc_type_name(m->type), rc->name);
		return;
	}
	unpack_init(&u, m->data, m->len);
	unpack_u32(&u, &qtype);
	unpack_str(&u, &name, DNSMSG_MAX_TEXT + 1);
	if (unpack_done(&u) != 0) {
		log_warn("resolver: malformed DNS_QUERY from %s, ignored",
		    rc->name);
		free(name);
		return;
	}
	log_debug("resolver: %s query %u: %s type %u", rc->name, m->id, name,
	    qtype);
	query_start(rc, m->id, qtype, name);
	free(name);
}

static void
peer_close_cb(struct ipc_chan *ch, void *arg)
{
	struct rchan *rc = arg;

	log_warn("resolver: channel to %s closed", rc->name);
	ipc_chan_free(ch);
	if (rc->chan == ch) {
		rc->chan = NULL;
		rc->gen++;
	}
}

/* A (new) channel to a peer: the old one and its answers are void. */
static void
peer_add(struct ipc_msg *m, uint32_t kind)
{
	struct rchan	*rc = NULL;
	struct ipc_chan	*nc;
	size_t		 i;

	for (i = 0; i < RESOLVER_NPEERS; i++)
		if (rs.peers[i].kind == kind)
			rc = &rs.peers[i];
	if (rc == NULL) {
		log_warn("resolver: PEER for process kind %u, ignored", kind);
		return;
	}
	nc = ipc_chan_new(rs.base, m->fd, rc->name, peer_msg_cb, peer_close_cb,
	    rc);
	if (nc == NULL) {
		log_err("resolver: cannot set up the %s channel", rc->name);
		return;
	}
	m->fd = -1;
	if (rc->chan != NULL)
		ipc_chan_free(rc->chan);
	rc->chan = nc;
	rc->gen++;
	log_debug("resolver: %s channel up", rc->name);
}

/* IPC_LOG_LEVEL from the master (posternctl log-level). */
static void
log_level_set(const struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 level;

	unpack_init(&u, m->data, m->len);
	unpack_u32(&u, &level);
	if (unpack_done(&u) != 0 || level > LOG_LVL_DEBUG) {
		log_warn("resolver: malformed LOG_LEVEL from master, ignored");
		return;
	}
	log_set_level((enum log_level)level);
	log_info("resolver: log level %u", level);
}

static int
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

static void
reload(const struct ipc_msg *m)
{
	struct unpack	 u;
	struct config	*nc;
	struct buf	 err;
	char		*path = NULL;
	const void	*text;
	size_t		 tlen;

	unpack_init(&u, m->data, m->len);
	unpack_str(&u, &path, 4096);
	unpack_bytes(&u, &text, &tlen, IPC_MAX_PAYLOAD);
	if (unpack_done(&u) != 0) {
		log_warn("resolver: malformed CONFIG from master, ignored");
		free(path);
		return;
	}
	buf_init(&err);
	nc = config_parse_buf(path, text, tlen, &err);
	if (nc == NULL) {
		log_err("resolver: new config rejected, keeping the old one: %s",
		    buf_cstr(&err) ? err.p : "?");
		buf_free(&err);
		free(path);
		return;
	}
	buf_free(&err);
	free(path);
	/* a finalised libunbound context cannot change its forwarders */
	if (!strlist_equal(&nc->dns_forwarders, &rs.conf->dns_forwarders))
		log_warn("resolver: dns_forwarders changed: restart the "
		    "resolver to use them");
	log_set_level((enum log_level)nc->log_level);
	config_free(rs.conf);
	rs.conf = nc;
	log_info("resolver: configuration reloaded");
}

static void
master_msg_cb(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct unpack	 u;
	uint32_t	 kind;

	switch (m->type) {
	case IPC_PEER:
		unpack_init(&u, m->data, m->len);
		unpack_u32(&u, &kind);
		if (unpack_done(&u) != 0 || m->fd == -1) {
			log_warn("resolver: malformed PEER from master, ignored");
			return;
		}
		peer_add(m, kind);
		break;
	case IPC_CONFIG:
		reload(m);
		break;
	case IPC_LOG_LEVEL:
		log_level_set(m);
		break;
	case IPC_START:
		log_info("resolver: serving");
		break;
	default:
		log_warn("resolver: unexpected %s from master",
		    ipc_type_name(m->type));
		break;
	}
}

static void
master_close_cb(struct ipc_chan *ch, void *arg)
{
	log_info("resolver: master gone, exiting");
	ipc_chan_free(ch);
	rs.master = NULL;
	event_base_loopexit(rs.base, NULL);
}

void
resolver_start(struct event_base *base, struct config *conf,
    struct ub_ctx *ctx, int master_fd)
{
	rs.base = base;
	rs.conf = conf;
	rs.ub = ctx;
	rs.master = ipc_chan_new(base, master_fd, "master", master_msg_cb,
	    master_close_cb, NULL);
	if (rs.master == NULL)
		log_fatal("resolver: cannot set up the master channel");
	daemon_stop_on_signals(base, "resolver");
	if (ipc_send(rs.master, IPC_READY, 0, -1, NULL, 0) == -1)
		log_fatal("resolver: cannot send READY");
}
