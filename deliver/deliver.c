/*
 * The deliver process: jobs from queue-mgr, DNS through the resolver, an
 * SMTP session per attempt, and exactly one result per job.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include "deliver.h"
#include "ipc.h"
#include "daemon.h"
#include "log.h"
#include "pack.h"

#define DL_MAX_QID	64
#define DL_MAX_ADDR	1024	/* octets of an envelope address */

struct dl_job;

/* A question to the resolver on behalf of a job. */
struct dl_query {
	TAILQ_ENTRY(dl_query)	 entry;
	uint32_t		 id;
	uint32_t		 qtype;
	struct dl_job		*job;
	struct event		*timer;
};

struct dl_job {
	TAILQ_ENTRY(dl_job)	 entry;		/* all jobs */
	TAILQ_ENTRY(dl_job)	 wentry;	/* waiting for a connection slot */
	int			 waiting;
	uint32_t		 id;
	uint64_t		 gen;		/* queue channel it came on */
	int			 fd;
	uint64_t		 size;
	char			*qid;
	char			*sender;
	char			*domain;
	struct dl_rcpt		*rcpt;
	size_t			 nrcpt;
	struct dl_rcpt		**pend;		/* handed to the session */
	struct route_hop	 hop;
	struct mx_host		*mx;
	size_t			 nmx;
	size_t			 cur_mx;
	/* addresses of the current host, IPv6 first */
	struct sockaddr_storage	 a6[DELIVER_MAX_ADDRS], a4[DELIVER_MAX_ADDRS];
	size_t			 n6, n4;
	size_t			 cur_addr;
	int			 nq;		/* address queries outstanding */
	int			 q_temp;	/* one of them failed temporarily */
	struct smtp_sess	*sess;
	int			 has_slot;
	/* the IPC_DELIVER_JOB extension (issue 5/6) */
	uint32_t		 ret;
	char			*envid;
	uint32_t		 body;
	uint32_t		 smtputf8;
	/* DANE: the MX answer was DNSSEC-secure, TLSA of the current host */
	int			 mx_secure;
	struct dl_tlsa		*tlsa;
	size_t			 ntlsa;
	int			 tlsa_asked;	/* for cur_mx */
	/* this address again: without STARTTLS, or on a new connection */
	int			 plain;
	int			 no_reuse;
	/* the reason every undecided recipient gets at the end */
	int			 fail_temp;	/* a temporary failure was seen */
	int			 fail_set;
	char			 fail_text[DELIVER_MAX_REPLY];
	char			 last_relay[DELIVER_HOST_MAX + 64];
	/* issue 8: handed to the master for local delivery under this id */
	uint32_t		 local_id;
};

static struct {
	struct event_base	*base;
	struct config		*conf;
	struct ipc_chan		*master;
	struct ipc_chan		*queue;
	struct ipc_chan		*resolver;
	uint64_t		 queue_gen;
	uint32_t		 next_qid;
	uint32_t		 next_local;	/* issue 8: LOCAL_JOB ids */
	size_t			 active;	/* connection slots in use */
	TAILQ_HEAD(, dl_job)	 jobs;
	TAILQ_HEAD(, dl_job)	 waiting;
	TAILQ_HEAD(, dl_query)	 queries;
	struct event		*kick;
	SSL_CTX			*ssl_ctx;
} dl;

static void	job_host_lookup(struct dl_job *);
static void	job_try_addr(struct dl_job *);
static void	job_finish(struct dl_job *);
static void	job_local(struct dl_job *, const struct ipc_msg *);
static int	job_want_tlsa(struct dl_job *);

void
dl_rcpt_set(struct dl_rcpt *r, int status, const char *text, const char *relay)
{
	char *t;

	if ((t = strndup(text, DELIVER_MAX_REPLY)) != NULL) {
		free(r->reply);
		r->reply = t;
	}
	r->status = status;
	r->final = 1;
	strlcpy(r->relay, relay, sizeof(r->relay));
}

/* A diagnostic without its leading "NNN X.Y.Z ", for log lines. */
static const char *
diag(const char *t)
{
	const char *sp;

	if (strlen(t) > 4 && t[3] == ' ' && (sp = strchr(t + 4, ' ')) != NULL)
		return sp + 1;
	return t;
}

/* A temporary failure outweighs a permanent one: the next try may work. */
static void
job_note(struct dl_job *j, int status, const char *text)
{
	if (status == RCPT_TEMPFAIL) {
		j->fail_temp = 1;
		j->fail_set = 1;
		strlcpy(j->fail_text, text, sizeof(j->fail_text));
	} else if (!j->fail_temp) {
		j->fail_set = 1;
		strlcpy(j->fail_text, text, sizeof(j->fail_text));
	}
}

/* ---- the resolver ---- */

static void
query_free(struct dl_query *q)
{
	TAILQ_REMOVE(&dl.queries, q, entry);
	if (q->timer)
		event_free(q->timer);
	free(q);
}

static void	on_dns(struct dl_job *, uint32_t qtype, int status, int secure,
		    struct mx_host *, struct dl_tlsa *, size_t n);

static void
query_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_query	*q = arg;
	struct dl_job	*j = q->job;
	uint32_t	 qtype = q->qtype;

	query_free(q);
	on_dns(j, qtype, DNS_TEMPFAIL, 0, NULL, NULL, 0);
}

/* Asks the resolver; the answer (or a failure) always comes later. */
static void
dns_ask(struct dl_job *j, uint32_t qtype, const char *name)
{
	struct dl_query	*q;
	struct buf	 b;
	struct timeval	 tv = { DELIVER_DNS_TIMEOUT, 0 };
	int		 sent = -1;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->timer = evtimer_new(dl.base, query_timeout_cb, q)) == NULL) {
		/* without even a timer there is no later: fail the job */
		log_err("%s: out of memory asking the resolver", j->qid);
		free(q);
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
		j->nq = -1;
		return;
	}
	q->id = ++dl.next_qid;
	q->qtype = qtype;
	q->job = j;
	TAILQ_INSERT_TAIL(&dl.queries, q, entry);
	buf_init(&b);
	if (dl.resolver != NULL && pack_u32(&b, qtype) == 0 &&
	    pack_str(&b, name) == 0)
		sent = ipc_send_buf(dl.resolver, IPC_DNS_QUERY, q->id, -1, &b);
	buf_free(&b);
	if (sent == -1) {
		log_warn("%s: resolver unavailable for %s", j->qid, name);
		tv.tv_sec = 0;
	}
	evtimer_add(q->timer, &tv);
}

/* Drops a job's questions: their answers will find nobody. */
static void
dns_forget(struct dl_job *j)
{
	struct dl_query *q, *t;

	TAILQ_FOREACH_SAFE(q, &dl.queries, entry, t)
		if (q->job == j)
			query_free(q);
}

static void
resolver_answer(struct ipc_msg *m)
{
	struct dl_query	*q;
	struct dl_job	*j;
	struct unpack	 u;
	struct mx_host	*v = NULL;
	struct dl_tlsa	*t = NULL;
	uint32_t	 status, secure, n, i, pref, qtype, us, se, mt;
	char		*name;
	const void	*data;
	size_t		 dlen;

	TAILQ_FOREACH(q, &dl.queries, entry)
		if (q->id == m->id)
			break;
	if (q == NULL) {
		log_debug("deliver: answer %u for no pending query", m->id);
		return;
	}
	j = q->job;
	qtype = q->qtype;
	query_free(q);
	unpack_init(&u, m->data, m->len);
	unpack_u32(&u, &status);
	unpack_u32(&u, &secure);
	unpack_u32(&u, &n);
	if (u.err || n > 64 || status > DNS_BOGUS ||
	    (n > 0 && (v = calloc(n, sizeof(*v))) == NULL))
		goto bad;
	if (qtype == DNS_Q_TLSA) {
		if (n > 0 && (t = calloc(n, sizeof(*t))) == NULL)
			goto bad;
		for (i = 0; i < n; i++) {
			unpack_u32(&u, &us);
			unpack_u32(&u, &se);
			unpack_u32(&u, &mt);
			if (unpack_bytes(&u, &data, &dlen,
			    sizeof(t[i].data)) == -1 || us > 255 || se > 255 ||
			    mt > 255)
				goto bad;
			t[i].usage = (uint8_t)us;
			t[i].selector = (uint8_t)se;
			t[i].mtype = (uint8_t)mt;
			t[i].dlen = dlen;
			memcpy(t[i].data, data, dlen);
		}
		if (unpack_done(&u) != 0)
			goto bad;
		on_dns(j, qtype, (int)status, secure == 1, NULL, t, n);
		free(t);
		free(v);
		return;
	}
	for (i = 0; i < n; i++) {
		pref = 0;
		if (qtype == DNS_Q_MX)
			unpack_u32(&u, &pref);
		name = NULL;
		if (unpack_str(&u, &name, DELIVER_HOST_MAX - 1) == -1)
			goto bad;
		v[i].pref = pref;
		strlcpy(v[i].name, name, sizeof(v[i].name));
		free(name);
	}
	if (unpack_done(&u) != 0)
		goto bad;
	on_dns(j, qtype, (int)status, secure == 1, v, NULL, n);
	free(v);
	return;
bad:
	log_warn("deliver: malformed DNS_ANSWER from the resolver");
	free(v);
	free(t);
	on_dns(j, qtype, DNS_TEMPFAIL, 0, NULL, NULL, 0);
}

/* Every pending question fails now (the resolver went away). */
static void
dns_fail_all(void)
{
	struct dl_query *q;

	/* fire the timers rather than call back here: a callback may ask
	 * again, and the list is being walked */
	TAILQ_FOREACH(q, &dl.queries, entry) {
		struct timeval tv = { 0, 0 };

		evtimer_add(q->timer, &tv);
	}
}

/* ---- route and addresses ---- */

static const char *
dns_status_text(int status)
{
	switch (status) {
	case DNS_NXDOMAIN:
		return "Host not found";
	case DNS_NODATA:
		return "No address associated with hostname";
	case DNS_BOGUS:
		return "DNSSEC validation failed";
	default:
		return "Temporary failure in name resolution";
	}
}

static void
on_mx(struct dl_job *j, int status, int secure, struct mx_host *v, size_t n)
{
	char	 text[DELIVER_MAX_REPLY];
	int	 all_null, loop, perm = j->hop.recipient_domain;

	if (status == DNS_OK && n == 0)
		status = DNS_NODATA;
	switch (status) {
	case DNS_OK:
		if ((j->mx = calloc(n, sizeof(*j->mx))) == NULL) {
			job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
			job_finish(j);
			return;
		}
		memcpy(j->mx, v, n * sizeof(*v));
		j->mx_secure = secure;
		n = route_mx_drop_self(j->mx, n, dl.conf->hostname, &loop);
		if (loop) {
			/* we are the best MX: relaying would loop */
			snprintf(text, sizeof(text), "%s mail for %s loops back "
			    "to myself", perm ? "554 5.4.6" : "451 4.4.6",
			    j->hop.host);
			log_info("%s: %s", j->qid, diag(text));
			job_note(j, perm ? RCPT_PERMFAIL : RCPT_TEMPFAIL, text);
			job_finish(j);
			return;
		}
		j->nmx = route_mx_order(j->mx, n, DELIVER_MAX_MX, &all_null);
		if (j->nmx == 0) {
			/* RFC 7505; for a configured next hop's name it is
			 * the admin's error, not the sender's */
			snprintf(text, sizeof(text), "%s Domain %s does not "
			    "accept mail (nullMX)", perm ? "556 5.1.10" :
			    "451 4.4.3", j->hop.host);
			log_info("%s: %s", j->qid, diag(text));
			job_note(j, perm ? RCPT_PERMFAIL : RCPT_TEMPFAIL, text);
			job_finish(j);
			return;
		}
		break;
	case DNS_NODATA:
		/* no MX: the name itself is the mail host (RFC 5321 5.1) */
		if ((j->mx = calloc(1, sizeof(*j->mx))) == NULL) {
			job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
			job_finish(j);
			return;
		}
		strlcpy(j->mx[0].name, j->hop.host, sizeof(j->mx[0].name));
		j->nmx = 1;
		/* RFC 7672 2.2.1: the name itself, as securely as its
		 * denial of MX */
		j->mx_secure = secure;
		break;
	case DNS_NXDOMAIN:
		snprintf(text, sizeof(text), "%s Host or domain name not "
		    "found. Name service error for name=%s type=MX: Host not "
		    "found", perm ? "550 5.1.2" : "451 4.4.3", j->hop.host);
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, perm ? RCPT_PERMFAIL : RCPT_TEMPFAIL, text);
		job_finish(j);
		return;
	default:
		snprintf(text, sizeof(text), "451 4.4.3 Host or domain name "
		    "not found. Name service error for name=%s type=MX: %s",
		    j->hop.host, dns_status_text(status));
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, RCPT_TEMPFAIL, text);
		job_finish(j);
		return;
	}
	j->cur_mx = 0;
	job_host_lookup(j);
}

static void
add_addr(struct dl_job *j, int family, const char *text)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	if (!route_ip_literal(text, &ss, &sl) || ss.ss_family != family)
		return;
	if (family == AF_INET6 && j->n6 < DELIVER_MAX_ADDRS)
		j->a6[j->n6++] = ss;
	else if (family == AF_INET && j->n4 < DELIVER_MAX_ADDRS)
		j->a4[j->n4++] = ss;
}

static void
on_addr(struct dl_job *j, uint32_t qtype, int status, struct mx_host *v,
    size_t n)
{
	char	 text[DELIVER_MAX_REPLY];
	size_t	 i;

	if (status == DNS_OK)
		for (i = 0; i < n; i++)
			add_addr(j, qtype == DNS_Q_AAAA ? AF_INET6 : AF_INET,
			    v[i].name);
	else if (status == DNS_TEMPFAIL || status == DNS_BOGUS)
		j->q_temp = 1;
	if (--j->nq > 0)
		return;
	if (j->n6 + j->n4 == 0) {
		/* a name we were given that has no address: bounce only
		 * for the recipient domain's own MX data, as Postfix does */
		snprintf(text, sizeof(text), "%s Host or domain name not "
		    "found. Name service error for name=%s type=A: %s",
		    j->q_temp || !j->hop.recipient_domain ? "451 4.4.3" :
		    "550 5.4.4", j->mx[j->cur_mx].name,
		    j->q_temp ? dns_status_text(DNS_TEMPFAIL) :
		    dns_status_text(status == DNS_NXDOMAIN ? DNS_NXDOMAIN :
		    DNS_NODATA));
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, j->q_temp || !j->hop.recipient_domain ?
		    RCPT_TEMPFAIL : RCPT_PERMFAIL, text);
		j->cur_mx++;
		job_host_lookup(j);
		return;
	}
	j->cur_addr = 0;
	if (job_want_tlsa(j))
		return;
	job_try_addr(j);
}

/* TLSA records of the current host (RFC 7672 2.2). */
static void
on_tlsa(struct dl_job *j, int status, int secure, struct dl_tlsa *t, size_t n)
{
	char	 text[DELIVER_MAX_REPLY];
	size_t	 i, m = 0;

	free(j->tlsa);
	j->tlsa = NULL;
	j->ntlsa = 0;
	if (status == DNS_BOGUS || (status == DNS_TEMPFAIL && j->mx_secure)) {
		/* a secure zone that cannot prove its TLSA: no downgrade */
		snprintf(text, sizeof(text), "451 4.7.5 TLSA lookup for %s "
		    "failed: %s", j->mx[j->cur_mx].name,
		    dns_status_text(status));
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, RCPT_TEMPFAIL, text);
		j->cur_mx++;
		job_host_lookup(j);
		return;
	}
	if (status == DNS_OK && secure && n > 0 &&
	    (j->tlsa = calloc(n, sizeof(*j->tlsa))) != NULL) {
		for (i = 0; i < n; i++)
			if (t[i].usage == 2 || t[i].usage == 3)
				j->tlsa[m++] = t[i];
		j->ntlsa = m;
		if (m == 0) {
			/* RFC 7672 2.2: records, none usable: encrypt only */
			log_info("%s: no usable TLSA records for %s", j->qid,
			    j->mx[j->cur_mx].name);
		}
	} else if (status == DNS_OK && !secure)
		log_info("%s: TLSA records of %s are not DNSSEC-signed: "
		    "ignored", j->qid, j->mx[j->cur_mx].name);
	j->cur_addr = 0;
	job_try_addr(j);
}

static void
on_dns(struct dl_job *j, uint32_t qtype, int status, int secure,
    struct mx_host *v, struct dl_tlsa *t, size_t n)
{
	if (qtype == DNS_Q_MX)
		on_mx(j, status, secure, v, n);
	else if (qtype == DNS_Q_TLSA)
		on_tlsa(j, status, secure, t, n);
	else
		on_addr(j, qtype, status, v, n);
}

/* For "dane": ask for the current host's TLSA records first; 1 if asked. */
static int
job_want_tlsa(struct dl_job *j)
{
	char name[DELIVER_HOST_MAX + 16];

	if (j->hop.tls != RTLS_DANE || j->tlsa_asked == (int)j->cur_mx + 1)
		return 0;
	j->tlsa_asked = (int)j->cur_mx + 1;
	free(j->tlsa);
	j->tlsa = NULL;
	j->ntlsa = 0;
	/* RFC 7672 2.2.2: only a host reached through secure data */
	if (j->hop.kind == HOP_MX && !j->mx_secure)
		return 0;
	snprintf(name, sizeof(name), "_%u._tcp.%s", j->hop.port,
	    j->mx[j->cur_mx].name);
	dns_ask(j, DNS_Q_TLSA, name);
	if (j->nq < 0) {
		job_finish(j);
		return 1;
	}
	return 1;
}

/* Addresses of the current MX host, or the end of the list. */
static void
job_host_lookup(struct dl_job *j)
{
	if (j->cur_mx >= j->nmx) {
		job_finish(j);
		return;
	}
	j->n6 = j->n4 = 0;
	j->q_temp = 0;
	j->nq = 2;
	dns_ask(j, DNS_Q_AAAA, j->mx[j->cur_mx].name);
	if (j->nq < 0) {
		job_finish(j);
		return;
	}
	dns_ask(j, DNS_Q_A, j->mx[j->cur_mx].name);
	if (j->nq < 0) {
		dns_forget(j);
		job_finish(j);
	}
}

/* ---- SMTP sessions ---- */

static void
release_slot(struct dl_job *j)
{
	struct timeval tv = { 0, 0 };

	if (!j->has_slot)
		return;
	j->has_slot = 0;
	dl.active--;
	if (!TAILQ_EMPTY(&dl.waiting))
		evtimer_add(dl.kick, &tv);
}

static void
sess_done_cb(void *arg, int outcome, const char *why)
{
	struct dl_job *j = arg;

	j->sess = NULL;
	release_slot(j);
	if (outcome == SMTP_DONE) {
		job_finish(j);
		return;
	}
	if (outcome == SMTP_PLAIN && !j->plain) {
		/* opportunistic TLS: a broken handshake is no reason to
		 * keep mail back; the same server again, in plain text */
		log_info("%s: %s: TLS failed, trying again without STARTTLS",
		    j->qid, j->last_relay);
		j->plain = 1;
		job_try_addr(j);
		return;
	}
	if (outcome == SMTP_STALE) {
		j->no_reuse = 1;
		job_try_addr(j);
		return;
	}
	job_note(j, RCPT_TEMPFAIL, why ? why : "451 4.4.1 connection failed");
	j->cur_addr++;
	j->plain = 0;
	j->no_reuse = 0;
	job_try_addr(j);
}

static size_t
addr_text(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	const void *a;

	if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, a, out, (socklen_t)outsz) == NULL)
		strlcpy(out, "?", outsz);
	return strlen(out);
}

/* What a session needs of its job, for this attempt. */
static void
job_params(struct dl_job *j, struct smtp_params *p, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->qid = j->qid;
	p->helo = dl.conf->helo_name;
	p->sender = j->sender;
	p->fd = j->fd;
	p->size = j->size;
	p->rcpt = j->pend;
	p->nrcpt = n;
	p->connect_timeout = (int)dl.conf->smtp_connect_timeout;
	p->timeout = (int)dl.conf->smtp_timeout;
	p->relay = j->last_relay;
	p->lmtp = j->hop.lmtp;
	p->tls = j->plain ? RTLS_NONE : j->hop.tls;
	p->tls_name = j->mx[j->cur_mx].name;
	p->ssl_ctx = dl.ssl_ctx;
	p->tlsa = j->tlsa;
	p->ntlsa = j->ntlsa;
	if (j->hop.auth_user[0] != '\0') {
		p->auth_user = j->hop.auth_user;
		p->auth_pass = secrets_get(j->hop.auth_file);
		if (p->auth_pass == NULL)
			p->auth_pass = "";
	}
	p->ret = j->ret;
	p->envid = j->envid ? j->envid : "";
	p->body = (int)j->body;
	p->smtputf8 = (int)j->smtputf8;
	p->cache_max = (size_t)dl.conf->smtp_connection_cache_size;
	p->cache_time = (int)dl.conf->smtp_connection_cache_time;
}

static void
job_try_addr(struct dl_job *j)
{
	struct smtp_params	 p;
	struct sockaddr_storage	 ss, src;
	socklen_t		 sl, srclen = 0;
	char			 at[INET6_ADDRSTRLEN], text[DELIVER_MAX_REPLY];
	char			 key[DELIVER_HOST_MAX * 2 + 128];
	const char		*srcaddr;
	size_t			 i, n;

	for (;;) {
		if (j->cur_addr >= j->n6 + j->n4) {
			j->cur_mx++;
			job_host_lookup(j);
			return;
		}
		if (!j->has_slot) {
			if (dl.active >= dl.conf->delivery_concurrency) {
				if (!j->waiting) {
					TAILQ_INSERT_TAIL(&dl.waiting, j, wentry);
					j->waiting = 1;
				}
				return;
			}
			j->has_slot = 1;
			dl.active++;
		}
		ss = j->cur_addr < j->n6 ? j->a6[j->cur_addr] :
		    j->a4[j->cur_addr - j->n6];
		if (ss.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(j->hop.port);
			sl = sizeof(struct sockaddr_in6);
		} else {
			((struct sockaddr_in *)&ss)->sin_port = htons(j->hop.port);
			sl = sizeof(struct sockaddr_in);
		}
		addr_text(&ss, at, sizeof(at));
		snprintf(j->last_relay, sizeof(j->last_relay), "%s[%s]:%u",
		    j->mx[j->cur_mx].name, at, j->hop.port);
		for (i = n = 0; i < j->nrcpt; i++)
			if (!j->rcpt[i].final)
				j->pend[n++] = &j->rcpt[i];
		if (n == 0) {
			release_slot(j);
			job_finish(j);
			return;
		}
		if (route_addr_is_self(dl.conf, (struct sockaddr *)&ss)) {
			snprintf(text, sizeof(text), "%s mail for %s loops back "
			    "to myself (%s)", j->hop.recipient_domain ?
			    "554 5.4.6" : "451 4.4.6", j->domain, j->last_relay);
			log_info("%s: %s", j->qid, diag(text));
			job_note(j, j->hop.recipient_domain ? RCPT_PERMFAIL :
			    RCPT_TEMPFAIL, text);
			j->cur_addr++;
			continue;
		}
		srcaddr = ss.ss_family == AF_INET6 ?
		    dl.conf->smtp_bind_address6 : dl.conf->smtp_bind_address;
		srclen = 0;
		if (srcaddr != NULL && srcaddr[0] != '\0' &&
		    (!route_ip_literal(srcaddr, &src, &srclen) ||
		    src.ss_family != ss.ss_family)) {
			log_warn("%s: smtp_bind_address%s '%s' is not an %s "
			    "address; not used", j->qid,
			    ss.ss_family == AF_INET6 ? "6" : "", srcaddr,
			    ss.ss_family == AF_INET6 ? "IPv6" : "IPv4");
			srclen = 0;
		}
		job_params(j, &p, n);
		p.src = srclen ? (struct sockaddr *)&src : NULL;
		p.srclen = srclen;
		snprintf(key, sizeof(key), "%s|%d|%d|%s|%s|%s|%zu",
		    j->last_relay, j->hop.lmtp, p.tls, j->hop.auth_user,
		    p.helo, srcaddr ? srcaddr : "", p.ntlsa);
		p.cache_key = key;
		j->sess = NULL;
		if (!j->no_reuse)
			j->sess = smtp_reuse(&p, sess_done_cb, j);
		j->no_reuse = 0;
		if (j->sess != NULL)
			return;
		j->sess = smtp_start(dl.base, (struct sockaddr *)&ss, sl, &p,
		    sess_done_cb, j);
		if (j->sess != NULL)
			return;
		snprintf(text, sizeof(text), "451 4.4.1 connect to %s: %s",
		    j->last_relay, strerror(errno));
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, RCPT_TEMPFAIL, text);
		j->cur_addr++;
	}
}

static void
kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dl_job *j;

	while (dl.active < dl.conf->delivery_concurrency &&
	    (j = TAILQ_FIRST(&dl.waiting)) != NULL) {
		TAILQ_REMOVE(&dl.waiting, j, wentry);
		j->waiting = 0;
		job_try_addr(j);
	}
}

/* ---- jobs ---- */

static void
job_free(struct dl_job *j)
{
	size_t i;

	TAILQ_REMOVE(&dl.jobs, j, entry);
	if (j->waiting)
		TAILQ_REMOVE(&dl.waiting, j, wentry);
	dns_forget(j);
	if (j->sess != NULL)
		smtp_abort(j->sess);
	release_slot(j);
	if (j->fd != -1)
		close(j->fd);
	for (i = 0; i < j->nrcpt; i++) {
		free(j->rcpt[i].addr);
		free(j->rcpt[i].reply);
		free(j->rcpt[i].orcpt);
	}
	free(j->envid);
	free(j->tlsa);
	free(j->rcpt);
	free(j->pend);
	free(j->mx);
	free(j->qid);
	free(j->sender);
	free(j->domain);
	free(j);
}

/*
 * The IPC_DELIVER_RESULT payload. Reply and relay texts are cut so that
 * the whole always fits one frame, whatever the number of recipients.
 */
static int
result_pack(struct buf *b, const struct dl_rcpt *r, size_t n)
{
	size_t	 i, per, rl, tl, relaycap, replycap;
	int	 e = 0;

	/* room for the extension: u32 count and a u32 per recipient */
	per = (IPC_MAX_PAYLOAD - 8 - 4 * n) / (n ? n : 1);
	per = per > 12 ? per - 12 : 0;
	e |= pack_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		const char *reply = r[i].reply ? r[i].reply : "";
		const char *relay = r[i].relay[0] ? r[i].relay : "none";

		rl = strlen(relay);
		tl = strlen(reply);
		relaycap = rl < per / 2 ? rl : per / 2;
		replycap = per - relaycap;
		if (replycap > DELIVER_MAX_REPLY)
			replycap = DELIVER_MAX_REPLY;
		e |= pack_u32(b, (uint32_t)r[i].status);
		e |= pack_u32(b, (uint32_t)(tl < replycap ? tl : replycap));
		e |= buf_append(b, reply, tl < replycap ? tl : replycap);
		e |= pack_u32(b, (uint32_t)relaycap);
		e |= buf_append(b, relay, relaycap);
	}
	e |= pack_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++)
		e |= pack_u32(b, r[i].flags);
	return e ? -1 : 0;
}

static void
job_finish(struct dl_job *j)
{
	struct buf	 b;
	size_t		 i;
	int		 status;
	const char	*text;

	status = j->fail_set && !j->fail_temp ? RCPT_PERMFAIL : RCPT_TEMPFAIL;
	text = j->fail_set ? j->fail_text : "451 4.4.0 delivery not attempted";
	for (i = 0; i < j->nrcpt; i++)
		if (!j->rcpt[i].final)
			dl_rcpt_set(&j->rcpt[i], status, text,
			    j->rcpt[i].relay[0] ? j->rcpt[i].relay : "none");
	if (j->gen == dl.queue_gen && dl.queue != NULL) {
		buf_init(&b);
		if (result_pack(&b, j->rcpt, j->nrcpt) == -1 ||
		    ipc_send_buf(dl.queue, IPC_DELIVER_RESULT, j->id, -1, &b)
		    == -1)
			log_err("%s: cannot send the delivery result", j->qid);
		buf_free(&b);
	}
	log_debug("%s: job %u done", j->qid, j->id);
	job_free(j);
}

/* An address we may put between < and > on the wire. */
static int
addr_wire_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '<' ||
		    *s == '>')
			return 0;
	return 1;
}

/* lmtp:unix:/path: the socket comes from the connect helper. */
static void
job_try_unix(struct dl_job *j)
{
	struct smtp_params	 p;
	char			 text[DELIVER_MAX_REPLY];
	size_t			 i, n;
	int			 fd;

	if ((j->mx = calloc(1, sizeof(*j->mx))) == NULL) {
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
		job_finish(j);
		return;
	}
	strlcpy(j->mx[0].name, "localhost", sizeof(j->mx[0].name));
	j->nmx = 1;
	snprintf(j->last_relay, sizeof(j->last_relay), "%s", j->hop.host);
	for (i = n = 0; i < j->nrcpt; i++)
		if (!j->rcpt[i].final)
			j->pend[n++] = &j->rcpt[i];
	if ((fd = unixconn_connect(j->hop.host)) == -1) {
		snprintf(text, sizeof(text), "451 4.4.1 connect to %s: %s",
		    j->hop.host, strerror(errno));
		log_info("%s: %s", j->qid, diag(text));
		job_note(j, RCPT_TEMPFAIL, text);
		job_finish(j);
		return;
	}
	job_params(j, &p, n);
	p.tls = RTLS_NONE;	/* a local socket: nothing to encrypt */
	/* one job, one session: no slot, no cache for a local socket */
	j->sess = smtp_start_fd(dl.base, fd, &p, sess_done_cb, j);
	if (j->sess == NULL) {
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
		job_finish(j);
	}
}

static void
job_begin(struct dl_job *j)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 err[256], text[DELIVER_MAX_REPLY];
	size_t			 i;
	int			 r;

	if (!addr_wire_safe(j->sender)) {
		job_note(j, RCPT_PERMFAIL, "553 5.1.7 Bad sender address syntax");
		job_finish(j);
		return;
	}
	for (i = 0; i < j->nrcpt; i++)
		if (!addr_wire_safe(j->rcpt[i].addr) || j->rcpt[i].addr[0] == 0)
			dl_rcpt_set(&j->rcpt[i], RCPT_PERMFAIL,
			    "553 5.1.3 Bad recipient address syntax", "none");
	r = route_choose(dl.conf, j->domain, &j->hop, err, sizeof(err));
	if (r == -2) {
		snprintf(text, sizeof(text), "550 5.1.2 %s", err);
		job_note(j, RCPT_PERMFAIL, text);
		job_finish(j);
		return;
	}
	if (r == -1) {
		log_err("%s: %s", j->qid, err);
		snprintf(text, sizeof(text), "451 4.3.5 %s", err);
		job_note(j, RCPT_TEMPFAIL, text);
		job_finish(j);
		return;
	}
	log_debug("%s: %s via %s: %s:%u", j->qid, j->domain, j->hop.why,
	    j->hop.host, j->hop.port);
	if (j->hop.auth_user[0] != '\0' && secrets_get(j->hop.auth_file) ==
	    NULL) {
		snprintf(text, sizeof(text), "451 4.7.0 %s: no password for "
		    "%s (auth_password_file is read at start only)",
		    j->hop.why, j->hop.auth_user);
		log_err("%s: %s", j->qid, diag(text));
		job_note(j, RCPT_TEMPFAIL, text);
		job_finish(j);
		return;
	}
	switch (j->hop.kind) {
	case HOP_UNIX:
		job_try_unix(j);
		return;
	case HOP_MX:
		dns_ask(j, DNS_Q_MX, j->hop.host);
		if (j->nq < 0)
			job_finish(j);
		return;
	case HOP_HOST:
	case HOP_ADDR:
		if ((j->mx = calloc(1, sizeof(*j->mx))) == NULL) {
			job_note(j, RCPT_TEMPFAIL, "451 4.3.0 out of memory");
			job_finish(j);
			return;
		}
		strlcpy(j->mx[0].name, j->hop.host, sizeof(j->mx[0].name));
		j->nmx = 1;
		if (j->hop.kind == HOP_HOST) {
			job_host_lookup(j);
			return;
		}
		route_ip_literal(j->hop.host, &ss, &sl);
		j->n6 = j->n4 = 0;
		add_addr(j, ss.ss_family, j->hop.host);
		j->cur_addr = 0;
		job_try_addr(j);
		return;
	}
}

/*
 * Issue 8: a local domain's job goes to the master as it came (same
 * payload, a dup of the content); its IPC_LOCAL_RESULT becomes the job's
 * result.
 */
static void
job_local(struct dl_job *j, const struct ipc_msg *m)
{
	int fd;

	if (dl.master == NULL || (fd = dup(j->fd)) == -1) {
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 local delivery unavailable");
		job_finish(j);
		return;
	}
	if (++dl.next_local == 0)
		dl.next_local = 1;
	j->local_id = dl.next_local;
	if (ipc_send(dl.master, IPC_LOCAL_JOB, j->local_id, fd, m->data,
	    m->len) == -1) {
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 local delivery unavailable");
		job_finish(j);
	}
}

/* IPC_LOCAL_RESULT: checked, then passed on as the job's result. */
static void
local_result(struct ipc_msg *m)
{
	struct dl_job	*j;
	struct unpack	 u;
	uint32_t	 n, i, st, flags;
	char		*reply, *relay;
	int		 ok;

	TAILQ_FOREACH(j, &dl.jobs, entry)
		if (j->local_id != 0 && j->local_id == m->id)
			break;
	if (j == NULL) {
		log_warn("deliver: LOCAL_RESULT %u for no job, ignored", m->id);
		return;
	}
	unpack_init(&u, m->data, m->len);
	ok = unpack_u32(&u, &n) == 0 && n == j->nrcpt;
	for (i = 0; ok && i < n; i++) {
		reply = relay = NULL;
		unpack_u32(&u, &st);
		unpack_str(&u, &reply, DELIVER_MAX_REPLY);
		unpack_str(&u, &relay, DELIVER_HOST_MAX + 64);
		if (u.err || st > RCPT_PERMFAIL)
			ok = 0;
		else
			dl_rcpt_set(&j->rcpt[i], (int)st, reply, relay);
		free(reply);
		free(relay);
	}
	if (ok && u.off < u.len) {
		ok = unpack_u32(&u, &n) == 0 && n == j->nrcpt;
		for (i = 0; ok && i < n; i++)
			if (unpack_u32(&u, &flags) == 0)
				j->rcpt[i].flags = flags;
	}
	if (!ok || unpack_done(&u) != 0) {
		log_warn("%s: malformed LOCAL_RESULT from master", j->qid);
		for (i = 0; i < j->nrcpt; i++)
			j->rcpt[i].final = 0;
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 local delivery result "
		    "malformed");
	}
	job_finish(j);
}

/* The master is gone: its local jobs will never be answered. */
static void
local_fail_all(void)
{
	struct dl_job *j, *t;

	TAILQ_FOREACH_SAFE(j, &dl.jobs, entry, t)
		if (j->local_id != 0) {
			job_note(j, RCPT_TEMPFAIL, "451 4.3.0 local delivery "
			    "interrupted");
			job_finish(j);
		}
}

/* The optional DSN/body extension of IPC_DELIVER_JOB. */
static int
job_ext(struct dl_job *j, struct unpack *u)
{
	uint32_t	 n, i;

	unpack_u32(u, &j->ret);
	unpack_str(u, &j->envid, 100);
	unpack_u32(u, &j->body);
	unpack_u32(u, &j->smtputf8);
	if (unpack_u32(u, &n) == -1 || n != j->nrcpt || j->ret > DSN_RET_HDRS ||
	    j->body > BODY_TYPE_BINARYMIME || j->smtputf8 > 1)
		return -1;
	for (i = 0; i < n; i++) {
		unpack_u32(u, &j->rcpt[i].notify);
		if (unpack_str(u, &j->rcpt[i].orcpt, DL_MAX_ADDR + 32) == -1)
			return -1;
		if (j->rcpt[i].orcpt[0] == '\0') {
			free(j->rcpt[i].orcpt);
			j->rcpt[i].orcpt = NULL;
		}
	}
	return u->err ? -1 : 0;
}

static void
job_new(struct ipc_msg *m)
{
	struct dl_job	*j;
	struct unpack	 u;
	struct stat	 st;
	uint32_t	 n, i;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_err("deliver: out of memory for job %u", m->id);
		return;
	}
	j->fd = -1;
	j->id = m->id;
	j->gen = dl.queue_gen;
	TAILQ_INSERT_TAIL(&dl.jobs, j, entry);
	unpack_init(&u, m->data, m->len);
	unpack_str(&u, &j->qid, DL_MAX_QID);
	unpack_str(&u, &j->sender, DL_MAX_ADDR);
	unpack_str(&u, &j->domain, DELIVER_HOST_MAX - 1);
	if (unpack_u32(&u, &n) == -1 || n == 0 || n > DELIVER_MAX_RCPT ||
	    (j->rcpt = calloc(n, sizeof(*j->rcpt))) == NULL ||
	    (j->pend = calloc(n, sizeof(*j->pend))) == NULL)
		goto bad;
	j->nrcpt = n;
	for (i = 0; i < n; i++)
		if (unpack_str(&u, &j->rcpt[i].addr, DL_MAX_ADDR) == -1)
			goto bad;
	if (u.off < u.len && job_ext(j, &u) == -1)
		goto bad;
	if (unpack_done(&u) != 0 || m->fd == -1)
		goto bad;
	j->fd = m->fd;
	m->fd = -1;
	if (fstat(j->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_err("%s: job %u: the content is not a file", j->qid, j->id);
		job_note(j, RCPT_TEMPFAIL, "451 4.3.0 message content unreadable");
		job_finish(j);
		return;
	}
	j->size = (uint64_t)st.st_size;
	log_debug("%s: job %u: %zu recipient(s) at %s, %llu bytes", j->qid,
	    j->id, j->nrcpt, j->domain, (unsigned long long)j->size);
	if (localdom_match(dl.conf, j->domain)) {
		job_local(j, m);
		return;
	}
	job_begin(j);
	return;
bad:
	/* nothing in it can be trusted, not even the recipient count */
	log_warn("deliver: malformed DELIVER_JOB %u from queue-mgr, ignored",
	    m->id);
	job_free(j);
}

/* ---- channels ---- */

static void
queue_msg_cb(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	if (m->type != IPC_DELIVER_JOB) {
		log_warn("deliver: unexpected %s from queue-mgr",
		    ipc_type_name(m->type));
		return;
	}
	job_new(m);
}

/* Jobs of a queue-mgr that is gone: nobody will read their results, and
 * the new queue-mgr hands them out again. */
static void
abort_queue_jobs(uint64_t gen)
{
	struct dl_job *j, *t;

	TAILQ_FOREACH_SAFE(j, &dl.jobs, entry, t)
		if (j->gen == gen) {
			log_info("%s: delivery abandoned: queue-mgr went away",
			    j->qid);
			job_free(j);
		}
}

static void
queue_close_cb(struct ipc_chan *ch, void *arg)
{
	log_warn("deliver: channel to queue-mgr closed");
	ipc_chan_free(ch);
	if (dl.queue == ch) {
		dl.queue = NULL;
		abort_queue_jobs(dl.queue_gen);
		dl.queue_gen++;
	}
}

static void
resolver_msg_cb(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	if (m->type != IPC_DNS_ANSWER) {
		log_warn("deliver: unexpected %s from the resolver",
		    ipc_type_name(m->type));
		return;
	}
	resolver_answer(m);
}

static void
resolver_close_cb(struct ipc_chan *ch, void *arg)
{
	log_warn("deliver: channel to the resolver closed");
	ipc_chan_free(ch);
	if (dl.resolver == ch) {
		dl.resolver = NULL;
		dns_fail_all();
	}
}

static void
reload(const struct ipc_msg *m)
{
	struct unpack	 u;
	struct config	*nc;
	struct buf	 err;
	char		*path = NULL;
	const void	*text;
	size_t		 tlen, i;

	unpack_init(&u, m->data, m->len);
	unpack_str(&u, &path, 4096);
	unpack_bytes(&u, &text, &tlen, IPC_MAX_PAYLOAD);
	if (unpack_done(&u) != 0) {
		log_warn("deliver: malformed CONFIG from master, ignored");
		free(path);
		return;
	}
	buf_init(&err);
	if ((nc = config_parse_buf(path, text, tlen, &err)) == NULL) {
		log_err("deliver: new config rejected, keeping the old one: %s",
		    buf_cstr(&err) ? err.p : "?");
		buf_free(&err);
		free(path);
		return;
	}
	buf_free(&err);
	free(path);
	/* what was read before chroot cannot be read again */
	if (strcmp(nc->smtp_tls_ca_file, dl.conf->smtp_tls_ca_file) != 0)
		log_warn("deliver: smtp_tls_ca_file changed: restart deliver "
		    "to load it");
	for (i = 0; i < nc->nroutes; i++)
		if (nc->routes[i].auth_password_file[0] != '\0' &&
		    secrets_get(nc->routes[i].auth_password_file) == NULL)
			log_warn("deliver: route \"%s\": %s was not read at "
			    "start: restart deliver to use it",
			    nc->routes[i].pattern,
			    nc->routes[i].auth_password_file);
	localdom_reload(nc);
	/* jobs copy what they need when they start a step: safe to swap */
	log_set_level((enum log_level)nc->log_level);
	config_free(dl.conf);
	dl.conf = nc;
	log_info("deliver: configuration reloaded");
}

static void
master_msg_cb(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct unpack	 u;
	struct ipc_chan	*nc;
	uint32_t	 kind;

	switch (m->type) {
	case IPC_PEER:
		unpack_init(&u, m->data, m->len);
		unpack_u32(&u, &kind);
		if (unpack_done(&u) != 0 || m->fd == -1 ||
		    (kind != PROC_QUEUE && kind != PROC_RESOLVER)) {
			log_warn("deliver: bad PEER from master, ignored");
			return;
		}
		if (kind == PROC_QUEUE) {
			nc = ipc_chan_new(dl.base, m->fd, "queue-mgr",
			    queue_msg_cb, queue_close_cb, NULL);
			if (nc == NULL) {
				log_err("deliver: cannot set up the queue channel");
				return;
			}
			m->fd = -1;
			if (dl.queue != NULL) {
				ipc_chan_free(dl.queue);
				abort_queue_jobs(dl.queue_gen);
			}
			dl.queue = nc;
			dl.queue_gen++;
		} else {
			nc = ipc_chan_new(dl.base, m->fd, "resolver",
			    resolver_msg_cb, resolver_close_cb, NULL);
			if (nc == NULL) {
				log_err("deliver: cannot set up the resolver "
				    "channel");
				return;
			}
			m->fd = -1;
			if (dl.resolver != NULL) {
				/* questions to the old one are lost */
				ipc_chan_free(dl.resolver);
				dns_fail_all();
			}
			dl.resolver = nc;
		}
		break;
	case IPC_CONFIG:
		reload(m);
		break;
	case IPC_START:
		log_info("deliver: serving");
		break;
	case IPC_LOCAL_RESULT:		/* issue 8 */
		local_result(m);
		break;
	case IPC_LOG_LEVEL:		/* issue 8 */
		unpack_init(&u, m->data, m->len);
		unpack_u32(&u, &kind);
		if (unpack_done(&u) != 0 || kind > LOG_LVL_DEBUG) {
			log_warn("deliver: bad LOG_LEVEL from master, ignored");
			return;
		}
		log_set_level((enum log_level)kind);
		break;
	default:
		log_warn("deliver: unexpected %s from master",
		    ipc_type_name(m->type));
		break;
	}
}

static void
master_close_cb(struct ipc_chan *ch, void *arg)
{
	struct timeval tv = { 0, 200000 };

	log_info("deliver: master gone, exiting");
	ipc_chan_free(ch);
	dl.master = NULL;
	/* one result per job, even now; a moment for them to be written */
	local_fail_all();
	event_base_loopexit(dl.base, &tv);
}

void
deliver_start(struct event_base *base, struct config *conf,
    struct ssl_ctx_st *ssl_ctx, int master_fd)
{
	dl.base = base;
	dl.conf = conf;
	dl.ssl_ctx = ssl_ctx;
	dl.queue_gen = 1;
	TAILQ_INIT(&dl.jobs);
	TAILQ_INIT(&dl.waiting);
	TAILQ_INIT(&dl.queries);
	if ((dl.kick = evtimer_new(base, kick_cb, NULL)) == NULL)
		log_fatal("deliver: cannot create a timer");
	dl.master = ipc_chan_new(base, master_fd, "master", master_msg_cb,
	    master_close_cb, NULL);
	if (dl.master == NULL)
		log_fatal("deliver: cannot set up the master channel");
	daemon_stop_on_signals(base, "deliver");
	if (ipc_send(dl.master, IPC_READY, 0, -1, NULL, 0) == -1)
		log_fatal("deliver: cannot send READY");
}
