/* The scheduler: in-memory index of queued messages, retries, expiry, delivery jobs. */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "qmgr.h"

/* A job whose deliver went away is tried again this much later (no attempt counted). */
#define SCHED_LOST_RETRY	5
/* After a local failure (no memfd, no memory) the dispatcher waits this long. */
#define SCHED_LOCAL_RETRY	5
/* Leave room in a DELIVER_JOB frame for the fixed fields. */
#define SCHED_JOB_MAX_PAYLOAD	(IPC_MAX_PAYLOAD - 4096)

struct qjob {
	RB_ENTRY(qjob)	 entry;
	uint32_t	 id;
	struct qmsg	*m;
	struct qdest	*dest;
	uint32_t	 nrcpt;
	uint32_t	*idx;		/* into m->env.rcpts */
	uint64_t	 sent;		/* unix seconds: for the watchdog */
};

static int
msg_id_cmp(struct qmsg *a, struct qmsg *b)
{
	return strcmp(a->qid, b->qid);
}

static int
msg_due_cmp(struct qmsg *a, struct qmsg *b)
{
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	return strcmp(a->qid, b->qid);
}

static int
job_cmp(struct qjob *a, struct qjob *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_HEAD(msg_ids, qmsg);
RB_HEAD(msg_dues, qmsg);
RB_HEAD(jobs, qjob);
QMGR_RB_GENERATE_STATIC(msg_ids, qmsg, by_id, msg_id_cmp)
QMGR_RB_GENERATE_STATIC(msg_dues, qmsg, by_due, msg_due_cmp)
QMGR_RB_GENERATE_STATIC(jobs, qjob, entry, job_cmp)

static struct msg_ids	 sched_ids = RB_INITIALIZER(&sched_ids);
static struct msg_dues	 sched_dues = RB_INITIALIZER(&sched_dues);
static struct jobs	 sched_jobs = RB_INITIALIZER(&sched_jobs);
/* destinations with ready recipients, served round-robin */
static TAILQ_HEAD(, qdest) sched_active = TAILQ_HEAD_INITIALIZER(sched_active);
static uint32_t		 sched_njobs;
static uint32_t		 sched_next_job_id = 1;
static uint64_t		 sched_pass;
static struct event	*sched_ev;
static struct sched_policy sched_pol = { NULL, 0, 2000, 300, 3600 };

static int	sched_persist(struct qmsg *);
static int	sched_paused;	/* posternctl pause outgoing */

uint64_t
sched_backoff(uint64_t min, uint64_t max, uint32_t factor_milli, uint32_t attempts)
{
	uint64_t	 d = min;
	uint32_t	 i;

	if (factor_milli < 1000)
		factor_milli = 1000;
	for (i = 1; i < attempts && d < max; i++) {
		if (d > UINT64_MAX / factor_milli) {
			d = max;
			break;
		}
		d = d * factor_milli / 1000;
	}
	return d < max ? d : max;
}

/* "1.5" -> 1500: at most three decimals, 1 to 10. */
static int
parse_factor(const char *s, uint32_t *out)
{
	uint32_t	 v = 0, scale = 1000;
	int		 digits = 0, dot = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.' && !dot && digits > 0) {
			dot = 1;
			continue;
		}
		if (*s < '0' || *s > '9' || digits > 8)
			return -1;
		if (dot) {
			if (scale == 1)
				return -1;
			scale /= 10;
			v += (uint32_t)(*s - '0') * scale;
		} else
			v = v * 10 + (uint32_t)(*s - '0') * 1000;
		digits++;
	}
	if (digits == 0 || v < 1000 || v > 10000)
		return -1;
	*out = v;
	return 0;
}

int
sched_policy_parse(const struct config *c, struct sched_policy *p,
    struct buf *err)
{
	size_t		 i;

	memset(p, 0, sizeof(*p));
	p->min = c->queue_min_backoff;
	p->max = c->queue_max_backoff;
	if (parse_factor(c->queue_backoff_factor, &p->factor_milli) == -1) {
		buf_appendf(err, "queue_backoff_factor: '%s' is not a number "
		    "from 1 to 10 (like 2 or 1.5)", c->queue_backoff_factor);
		return -1;
	}
	if (c->queue_retry_schedule.n == 0)
		return 0;
	if ((p->schedule = calloc(c->queue_retry_schedule.n,
	    sizeof(*p->schedule))) == NULL) {
		buf_appends(err, "out of memory");
		return -1;
	}
	p->nschedule = c->queue_retry_schedule.n;
	for (i = 0; i < p->nschedule; i++) {
		if (config_parse_duration(c->queue_retry_schedule.v[i],
		    &p->schedule[i], 0) == -1 || p->schedule[i] == 0 ||
		    p->schedule[i] > 30 * 86400) {
			buf_appendf(err, "queue_retry_schedule: '%s' is not a "
			    "duration from 1s to 30d",
			    c->queue_retry_schedule.v[i]);
			sched_policy_free(p);
			return -1;
		}
	}
	return 0;
}

void
sched_policy_free(struct sched_policy *p)
{
	free(p->schedule);
	p->schedule = NULL;
	p->nschedule = 0;
}

uint64_t
sched_policy_wait(const struct sched_policy *p, uint32_t attempts)
{
	if (attempts == 0)
		attempts = 1;
	/* an explicit list is taken as written; its last entry repeats */
	if (p->nschedule > 0)
		return p->schedule[attempts - 1 < p->nschedule ?
		    attempts - 1 : p->nschedule - 1];
	return sched_backoff(p->min, p->max, p->factor_milli, attempts);
}

int
sched_configure(const struct config *c)
{
	struct sched_policy	 p;
	struct buf		 err;

	buf_init(&err);
	if (sched_policy_parse(c, &p, &err) == -1) {
		log_err("%s: %s", c->path, buf_cstr(&err) ? err.p : "error");
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	sched_policy_free(&sched_pol);
	sched_pol = p;
	return 0;
}

uint64_t
sched_retry_wait(uint32_t attempts)
{
	return sched_policy_wait(&sched_pol, attempts);
}

static int
dsn_digits(const char **pp, int lo, int hi)
{
	const char	*p = *pp;
	int		 n = 0;

	while (*p >= '0' && *p <= '9') {
		p++;
		n++;
	}
	if (n < lo || n > hi)
		return -1;
	*pp = p;
	return 0;
}

void
sched_dsn(const char *reply, int status, char out[16])
{
	const char	*p = reply, *start;

	/* skip "250 " or "250-" */
	if (strlen(p) >= 4 && p[0] >= '2' && p[0] <= '5' &&
	    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    (p[3] == ' ' || p[3] == '-'))
		p += 4;
	start = p;
	if ((*p == '2' || *p == '4' || *p == '5') && p[1] == '.') {
		p += 2;
		if (dsn_digits(&p, 1, 3) == 0 && *p == '.') {
			p++;
			if (dsn_digits(&p, 1, 3) == 0 &&
			    (*p == '\0' || *p == ' ') && (size_t)(p - start) < 16) {
				memcpy(out, start, (size_t)(p - start));
				out[p - start] = '\0';
				return;
			}
		}
	}
	strlcpy(out, status == RCPT_OK ? "2.0.0" : status == RCPT_TEMPFAIL ?
	    "4.0.0" : "5.0.0", 16);
}


struct qmsg *
sched_msg_new(void)
{
	return calloc(1, sizeof(struct qmsg));
}

void
sched_msg_free(struct qmsg *m)
{
	if (m == NULL)
		return;
	record_env_free(&m->env);
	buf_free(&m->trace);
	free(m);
}

struct qmsg *
sched_find(const char *qid)
{
	struct qmsg	 key;

	if (strlcpy(key.qid, qid, sizeof(key.qid)) >= sizeof(key.qid))
		return NULL;
	return RB_FIND(msg_ids, &sched_ids, &key);
}

struct qmsg *
sched_first(void)
{
	return RB_MIN(msg_ids, &sched_ids);
}

struct qmsg *
sched_next_after(const char *qid)
{
	struct qmsg	 key, *m;

	strlcpy(key.qid, qid, sizeof(key.qid));
	if ((m = RB_NFIND(msg_ids, &sched_ids, &key)) != NULL &&
	    strcmp(m->qid, qid) == 0)
		m = RB_NEXT(msg_ids, &sched_ids, m);
	return m;
}

static int
rcpt_due_candidate(const struct qrcpt *r)
{
	return r->state == QRCPT_PENDING && !r->inflight && !r->ready;
}

static int
msg_held(const struct qmsg *m)
{
	return (m->env.flags & QENV_F_HELD) != 0;
}

/* Re-files m in the due tree by its earliest waiting recipient. */
static void
msg_due_update(struct qmsg *m)
{
	uint64_t	 due = UINT64_MAX;
	uint32_t	 i;

	if (m->in_due) {
		RB_REMOVE(msg_dues, &sched_dues, m);
		m->in_due = 0;
	}
	/* a held message is never tried */
	if (msg_held(m))
		return;
	for (i = 0; i < m->env.nrcpt; i++)
		if (rcpt_due_candidate(&m->env.rcpts[i]) &&
		    m->env.rcpts[i].next_try < due)
			due = m->env.rcpts[i].next_try;
	if (due == UINT64_MAX)
		return;
	m->due = due;
	m->in_due = 1;
	RB_INSERT(msg_dues, &sched_dues, m);
}

static void
msg_remove(struct qmsg *m)
{
	/* any ready-queue entry naming it is dropped when it comes up */
	if (m->in_due)
		RB_REMOVE(msg_dues, &sched_dues, m);
	RB_REMOVE(msg_ids, &sched_ids, m);
	sched_msg_free(m);
}

static int
msg_all_done(const struct qmsg *m)
{
	uint32_t	 i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == QRCPT_PENDING)
			return 0;
	return 1;
}

static void
sched_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	sched_run();
}

static void
sched_arm_us(uint64_t us)
{
	struct timeval	 tv;

	if (sched_ev == NULL &&
	    (sched_ev = evtimer_new(qmgr.base, sched_timer_cb, NULL)) == NULL) {
		log_err("scheduler: cannot make a timer");
		return;
	}
	if (us > 86400ULL * 1000000)
		us = 86400ULL * 1000000;
	if (us < 1000)
		us = 1000;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(sched_ev, &tv);
}

void
sched_add(struct qmsg *m)
{
	if (RB_INSERT(msg_ids, &sched_ids, m) != NULL) {
		log_err("%s: already queued; dropping the duplicate entry", m->qid);
		sched_msg_free(m);
		return;
	}
	qstats.accepted++;
	msg_due_update(m);
	sched_run();
}

static int
sched_load_cb(const char *qid, struct qenv *e, void *arg)
{
	struct qmsg	*m;
	int		*n = arg;

	if ((m = sched_msg_new()) == NULL) {
		log_errno("scheduler: loading %s", qid);
		record_env_free(e);
		return -1;
	}
	strlcpy(m->qid, qid, sizeof(m->qid));
	m->env = *e;
	RB_INSERT(msg_ids, &sched_ids, m);
	/* a finished message whose removal never reached the disk */
	if (msg_all_done(m)) {
		if (sched_persist(m) == 1)
			return 0;
	}
	msg_due_update(m);
	(*n)++;
	return 0;
}

int
sched_load(void)
{
	int	 n = 0, skipped;

	if ((skipped = spool_scan(qmgr.spool, sched_load_cb, &n)) == -1)
		return -1;
	log_info("queue: %d messages in the spool%s", n,
	    skipped ? ", some corrupt records skipped (see above)" : "");
	return 0;
}

static const char *
job_domain_of(const char *addr, char **owned)
{
	*owned = record_rcpt_domain(addr);
	/* an unqualified recipient ("postmaster") is ours */
	return *owned != NULL ? *owned : qmgr.conf->hostname;
}

static double
delay_secs(const struct qmsg *m)
{
	uint64_t	 now = qmgr_now_us();

	if (m->env.queued_us == 0 || now < m->env.queued_us)
		return 0;
	return (double)(now - m->env.queued_us) / 1e6;
}

static void
log_rcpt(struct qmsg *m, const struct qrcpt *r, const char *relay,
    const char *dsn, const char *status, const char *reply)
{
	char		 delay[32];
	const char	*kv[12];

	snprintf(delay, sizeof(delay), "%.2f", delay_secs(m));
	log_info("%s: to=<%s>, relay=%s, delay=%s, dsn=%s, status=%s (%s)",
	    m->qid, r->addr, relay, delay, dsn, status, reply);
	/* stored with the result, by the next sched_persist */
	kv[0] = "to";		kv[1] = r->addr;
	kv[2] = "relay";	kv[3] = relay;
	kv[4] = "delay";	kv[5] = delay;
	kv[6] = "dsn";		kv[7] = dsn;
	kv[8] = "status";	kv[9] = status;
	kv[10] = "reply";	kv[11] = reply;
	trace_add(&m->trace, "delivery", kv, 6);
	if (strcmp(status, "sent") == 0)
		qstats.delivered++;
	else if (strcmp(status, "deferred") == 0)
		qstats.deferred++;
	else if (strcmp(status, "bounced") == 0)
		qstats.bounced++;
}

static int
set_str(char **dst, const char *src, size_t max)
{
	char	*s;

	if ((s = strndup(src, max)) == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int
set_reply(struct qrcpt *r, const char *reply)
{
	return set_str(&r->last_reply, reply, RECORD_MAX_REPLY);
}

static int
msg_expired(const struct qmsg *m, uint64_t now)
{
	uint64_t	 life = qmgr.conf->max_queue_lifetime;

	if (m->env.arrival > UINT64_MAX - life)
		return 0;
	return now >= m->env.arrival + life;
}

int
sched_wants_failure(const struct qrcpt *r)
{
	/* RFC 3461 4.1: no NOTIFY means FAILURE (and, our choice, DELAY) */
	return r->notify == 0 || (r->notify & DSN_NOTIFY_FAILURE) != 0;
}

int
sched_wants_delay(const struct qrcpt *r)
{
	return r->notify == 0 || (r->notify & DSN_NOTIFY_DELAY) != 0;
}

static void
rcpt_bounced(struct qrcpt *r)
{
	r->state = QRCPT_BOUNCED;
	if (sched_wants_failure(r))
		r->report |= REPORT_FAILED;
}

/* A recipient that has been tried and outlived the queue lifetime bounces. */
static void
rcpt_expire(struct qmsg *m, struct qrcpt *r)
{
	char	 reply[RECORD_MAX_REPLY];

	snprintf(reply, sizeof(reply),
	    "554 4.4.7 Message expired after %" PRIu64 "s in queue%s%s",
	    qmgr.conf->max_queue_lifetime,
	    r->last_reply[0] ? "; last reply: " : "", r->last_reply);
	if (set_reply(r, reply) == -1)
		log_errno("%s: recording expiry", m->qid);
	rcpt_bounced(r);
	log_rcpt(m, r, "none", "4.4.7", "bounced", r->last_reply);
}

static void
rcpt_tempfail(struct qmsg *m, struct qrcpt *r, const char *relay,
    const char *reply, uint64_t now)
{
	uint64_t	 wait, expire, warn = qmgr.conf->delay_warning_time;
	char		 dsn[16];

	if (r->attempts < UINT32_MAX)
		r->attempts++;
	if (set_reply(r, reply) == -1)
		log_errno("%s: recording reply", m->qid);
	if (strcmp(relay, "none") != 0 &&
	    set_str(&r->last_relay, relay, RECORD_MAX_ADDR) == -1)
		log_errno("%s: recording relay", m->qid);
	if (msg_expired(m, now)) {
		sched_dsn(reply, RCPT_TEMPFAIL, dsn);
		log_rcpt(m, r, relay, dsn, "deferred", reply);
		rcpt_expire(m, r);
		return;
	}
	wait = sched_retry_wait(r->attempts);
	r->next_try = now + wait;
	/* examine it again when its lifetime ends, to bounce it on time */
	expire = m->env.arrival > UINT64_MAX - qmgr.conf->max_queue_lifetime ?
	    UINT64_MAX : m->env.arrival + qmgr.conf->max_queue_lifetime;
	if (r->next_try > expire)
		r->next_try = expire;
	/* one delay warning per recipient, once it has waited long enough */
	if (warn > 0 && !(r->flags & QRCPT_F_WARNED) && sched_wants_delay(r) &&
	    m->env.arrival <= UINT64_MAX - warn && now >= m->env.arrival + warn) {
		r->flags |= QRCPT_F_WARNED;
		r->report |= REPORT_DELAYED;
	}
	sched_dsn(reply, RCPT_TEMPFAIL, dsn);
	log_rcpt(m, r, relay, dsn, "deferred", reply);
}

static int
memfd_write_cb(const void *p, size_t len, void *arg)
{
	int		*fd = arg;
	const uint8_t	*b = p;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(*fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			log_errno("memfd write");
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A sealed memfd holding m's content from offset 0; -1 local failure, -2 bad content. */
static int
content_memfd(struct qmsg *m)
{
	char	 name[QID_SIZE + 16];
	int	 fd;

	snprintf(name, sizeof(name), "postern-%s", m->qid);
	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		log_errno("%s: memfd_create", m->qid);
		return -1;
	}
	if (spool_read_content(qmgr.spool, m->qid, m->env.size,
	    memfd_write_cb, &fd) == -1) {
		close(fd);
		return -2;
	}
	/* deliver gets the bytes as stored and can change none of them */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK |
	    F_SEAL_SEAL) == -1)
		log_errno("%s: sealing memfd", m->qid);
	if (lseek(fd, 0, SEEK_SET) == -1) {
		log_errno("%s: lseek", m->qid);
		close(fd);
		return -1;
	}
	return fd;
}

static void
job_free(struct qjob *j)
{
	free(j->idx);
	free(j);
}

/* The optional DSN extension goes out only when something is not a default,
 * so a deliver that predates it still reads every ordinary job. */
static int
job_needs_ext(const struct qmsg *m, const struct qjob *j)
{
	uint32_t	 k;

	if (m->env.ret != DSN_RET_UNSPEC || m->env.envid[0] != '\0' ||
	    m->env.body != BODY_TYPE_UNSPEC || m->env.smtputf8)
		return 1;
	for (k = 0; k < j->nrcpt; k++) {
		const struct qrcpt *r = &m->env.rcpts[j->idx[k]];

		if (r->notify != 0 || r->orcpt[0] != '\0')
			return 1;
	}
	return 0;
}

static int
job_pack(const struct qmsg *m, const struct qjob *j, struct buf *b)
{
	uint32_t	 k;
	int		 r = 0;

	r |= pack_str(b, m->qid);
	r |= pack_str(b, m->env.sender);
	r |= pack_str(b, j->dest->name);
	r |= pack_u32(b, j->nrcpt);
	for (k = 0; k < j->nrcpt; k++)
		r |= pack_str(b, m->env.rcpts[j->idx[k]].addr);
	if (job_needs_ext(m, j)) {
		r |= pack_u32(b, m->env.ret);
		r |= pack_str(b, m->env.envid);
		r |= pack_u32(b, m->env.body);
		r |= pack_u32(b, m->env.smtputf8);
		r |= pack_u32(b, j->nrcpt);
		for (k = 0; k < j->nrcpt; k++) {
			r |= pack_u32(b, m->env.rcpts[j->idx[k]].notify);
			r |= pack_str(b, m->env.rcpts[j->idx[k]].orcpt);
		}
	}
	return r ? -1 : 0;
}

static void
dest_activate(struct qdest *d)
{
	if (!d->in_list && d->nready > 0) {
		TAILQ_INSERT_TAIL(&sched_active, d, list);
		d->in_list = 1;
	}
}

static void
dest_deactivate(struct qdest *d)
{
	if (d->in_list) {
		TAILQ_REMOVE(&sched_active, d, list);
		d->in_list = 0;
	}
}

static int
dest_push(struct qdest *d, const char *qid)
{
	struct qready	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_errno("%s: ready entry", qid);
		return -1;
	}
	strlcpy(e->qid, qid, sizeof(e->qid));
	TAILQ_INSERT_TAIL(&d->ready, e, entry);
	d->nready++;
	dest_activate(d);
	return 0;
}

/* m's due recipients join their destinations' ready queues; those of a
 * destination backed off as a whole wait for its retry instead. */
static void
enqueue_msg(struct qmsg *m, uint64_t now)
{
	struct qdest	*d;
	struct qrcpt	*r;
	char		*owned;
	uint32_t	 i;

	sched_pass++;
	for (i = 0; i < m->env.nrcpt; i++) {
		r = &m->env.rcpts[i];
		if (!rcpt_due_candidate(r) || r->next_try > now)
			continue;
		d = dest_get(job_domain_of(r->addr, &owned));
		free(owned);
		if (d == NULL) {
			r->next_try = now + SCHED_LOCAL_RETRY;
			continue;
		}
		if (dest_dead(d, now)) {
			/* not an attempt: the destination, not this message, failed */
			r->next_try = d->dead_until;
			continue;
		}
		if (d->mark != sched_pass) {
			if (dest_push(d, m->qid) == -1) {
				r->next_try = now + SCHED_LOCAL_RETRY;
				continue;
			}
			d->mark = sched_pass;
		}
		r->ready = 1;
	}
	msg_due_update(m);
}

/* Every ready recipient of d goes back to waiting until the destination's retry. */
static void
dest_park(struct qdest *d)
{
	struct qready	*e;
	struct qmsg	*m;
	char		*owned;
	const char	*dom;
	uint32_t	 i;

	while ((e = TAILQ_FIRST(&d->ready)) != NULL) {
		TAILQ_REMOVE(&d->ready, e, entry);
		d->nready--;
		if ((m = sched_find(e->qid)) != NULL) {
			for (i = 0; i < m->env.nrcpt; i++) {
				struct qrcpt *r = &m->env.rcpts[i];

				if (!r->ready)
					continue;
				dom = job_domain_of(r->addr, &owned);
				if (strcmp(dom, d->name) == 0) {
					r->ready = 0;
					r->next_try = d->dead_until;
				}
				free(owned);
			}
			msg_due_update(m);
		}
		free(e);
	}
	dest_deactivate(d);
}

/*
 * One job: m's ready recipients for d (up to a frame's worth; the rest
 * stay ready behind a new entry). 0 sent or nothing to send, -1 on a
 * local failure (the recipients wait SCHED_LOCAL_RETRY).
 */
static int
dispatch_job(struct qmsg *m, struct qdest *d, uint64_t now)
{
	struct qjob	*j;
	struct qrcpt	*r;
	struct buf	 b;
	char		*owned;
	const char	*dom;
	size_t		 size;
	uint32_t	 i, k;
	int		 fd, more = 0, rv = 0;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->idx = calloc(m->env.nrcpt < IPC_JOB_MAX_RCPT ? m->env.nrcpt :
	    IPC_JOB_MAX_RCPT, sizeof(*j->idx))) == NULL) {
		log_errno("%s: job", m->qid);
		free(j);
		j = NULL;
		rv = -1;
	}
	size = 4096 + strlen(m->qid) + strlen(m->env.sender) +
	    strlen(m->env.envid) + strlen(d->name);
	for (i = 0; i < m->env.nrcpt; i++) {
		r = &m->env.rcpts[i];
		if (!r->ready)
			continue;
		dom = job_domain_of(r->addr, &owned);
		if (strcmp(dom, d->name) != 0) {
			free(owned);
			continue;
		}
		free(owned);
		if (j == NULL || msg_held(m)) {
			r->ready = 0;
			if (j == NULL)
				r->next_try = now + SCHED_LOCAL_RETRY;
			continue;
		}
		if (j->nrcpt >= IPC_JOB_MAX_RCPT ||
		    size + 16 + strlen(r->addr) + strlen(r->orcpt) >=
		    SCHED_JOB_MAX_PAYLOAD) {
			more = 1;
			continue;
		}
		size += 16 + strlen(r->addr) + strlen(r->orcpt);
		j->idx[j->nrcpt++] = i;
	}
	if (j == NULL || j->nrcpt == 0) {
		if (j != NULL)
			job_free(j);
		msg_due_update(m);
		return rv;
	}
	if (more && dest_push(d, m->qid) == -1)
		more = 0;	/* those wait for their next try */
	j->m = m;
	j->dest = d;
	for (k = 0; k < j->nrcpt; k++)
		m->env.rcpts[j->idx[k]].ready = 0;
	buf_init(&b);
	if (job_pack(m, j, &b) == -1) {
		log_errno("%s: job", m->qid);
		goto local_fail;
	}
	if ((fd = content_memfd(m)) < 0) {
		if (fd == -2) {
			/* counted as a try: this cannot fix itself quickly */
			for (k = 0; k < j->nrcpt; k++)
				rcpt_tempfail(m, &m->env.rcpts[j->idx[k]],
				    "none", "451 4.3.0 Queue file unreadable", now);
			buf_free(&b);
			job_free(j);
			if (sched_persist(m) != 1)
				msg_due_update(m);
			return 0;
		}
		goto local_fail;
	}
	j->id = sched_next_job_id++;
	if (sched_next_job_id == 0)
		sched_next_job_id = 1;
	if (ipc_send_buf(qmgr.deliver, IPC_DELIVER_JOB, j->id, fd, &b) == -1) {
		log_err("%s: cannot send a job to deliver", m->qid);
		goto local_fail;
	}
	buf_free(&b);
	for (k = 0; k < j->nrcpt; k++)
		m->env.rcpts[j->idx[k]].inflight = 1;
	j->sent = now;
	RB_INSERT(jobs, &sched_jobs, j);
	sched_njobs++;
	m->njobs++;
	dest_sent(qmgr.conf, d, qmgr_now_us());
	log_debug("%s: job %u to %s, %u recipients", m->qid, j->id, d->name,
	    j->nrcpt);
	msg_due_update(m);
	return 0;
local_fail:
	buf_free(&b);
	for (k = 0; k < j->nrcpt; k++)
		m->env.rcpts[j->idx[k]].next_try = now + SCHED_LOCAL_RETRY;
	job_free(j);
	msg_due_update(m);
	return -1;
}

/* Round-robin over destinations with ready recipients, one job each per
 * turn, within every limit. Returns when the next rate slot opens (us), or
 * UINT64_MAX. */
static uint64_t
dispatch_all(uint64_t now)
{
	struct qdest	*d, *next;
	struct qready	*e;
	struct qmsg	*m;
	uint64_t	 wake = UINT64_MAX, now_us = qmgr_now_us();
	int		 progress = 1;

	/* paused by the admin: ready work waits, as when deliver is away */
	if (qmgr.deliver == NULL || sched_paused)
		return wake;
	while (progress) {
		progress = 0;
		TAILQ_FOREACH_SAFE(d, &sched_active, list, next) {
			if (sched_njobs >= qmgr.conf->delivery_concurrency)
				return wake;
			if (d->nready == 0) {
				dest_deactivate(d);
				continue;
			}
			if (dest_dead(d, now)) {
				dest_park(d);
				continue;
			}
			if (!dest_can_send(qmgr.conf, d, now_us, &wake))
				continue;
			e = TAILQ_FIRST(&d->ready);
			TAILQ_REMOVE(&d->ready, e, entry);
			d->nready--;
			/* a message gone or held since leaves a stale entry */
			if ((m = sched_find(e->qid)) != NULL &&
			    dispatch_job(m, d, now) == -1 && wake > now_us +
			    SCHED_LOCAL_RETRY * 1000000ULL)
				wake = now_us + SCHED_LOCAL_RETRY * 1000000ULL;
			free(e);
			if (d->nready == 0)
				dest_deactivate(d);
			progress = 1;
		}
	}
	return wake;
}

/* Expiry of every waiting, already tried recipient of m. 1 when m went away. */
static int
expire_msg(struct qmsg *m)
{
	uint32_t	 i;
	int		 any = 0;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[i];

		if (rcpt_due_candidate(r) && r->attempts > 0) {
			rcpt_expire(m, r);
			any = 1;
		}
	}
	if (!any)
		return 0;
	if (sched_persist(m) == 1)
		return 1;
	msg_due_update(m);
	return 0;
}

void
sched_run(void)
{
	struct qmsg	*m;
	uint64_t	 now = (uint64_t)time(NULL), wake, now_us, due_us;

	if (qmgr.stopping)
		return;
	while ((m = RB_MIN(msg_dues, &sched_dues)) != NULL && m->due <= now) {
		if (msg_expired(m, now) && expire_msg(m))
			continue;
		enqueue_msg(m, now);
		if (RB_MIN(msg_dues, &sched_dues) == m && m->in_due &&
		    m->due <= now) {
			log_err("%s: scheduler made no progress", m->qid);
			break;
		}
	}
	wake = dispatch_all(now);
	now_us = qmgr_now_us();
	if ((m = RB_MIN(msg_dues, &sched_dues)) != NULL) {
		due_us = m->due > UINT64_MAX / 1000000 ? UINT64_MAX :
		    m->due * 1000000ULL;
		if (due_us < now_us)
			due_us = now_us;
		if (due_us < wake)
			wake = due_us;
	}
	if (wake != UINT64_MAX)
		sched_arm_us(wake > now_us ? wake - now_us : 0);
}

/* The address a double bounce goes to, or NULL when they are dropped. */
static int
double_bounce_to(struct buf *to)
{
	const char	*pm = qmgr.conf->double_bounce_recipient;

	if (pm[0] == '\0')
		return -1;
	if (buf_appends(to, pm) == -1 ||
	    (strchr(pm, '@') == NULL &&
	    buf_appendf(to, "@%s", qmgr.conf->hostname) == -1) ||
	    buf_cstr(to) == NULL)
		return -1;
	return 0;
}

static const char *
report_name(int kind, int dbl)
{
	if (dbl)
		return "postmaster non-delivery notification";
	switch (kind) {
	case REPORT_FAILED:
		return "sender non-delivery notification";
	case REPORT_DELAYED:
		return "sender delay notification";
	default:
		return "sender delivery status notification";
	}
}

/* A notice about m was made: an event for m, and b's first event. */
static int
trace_dsn(DB_TXN *txn, struct qmsg *m, const struct qmsg *b, const char *what)
{
	const char	*kv[12];
	char		 size[32];

	kv[0] = "kind";		kv[1] = what;
	kv[2] = "queue_id";	kv[3] = b->qid;
	if (trace_add(&m->trace, "dsn", kv, 2) == -1)
		return -1;
	snprintf(size, sizeof(size), "%" PRIu64, b->env.size);
	kv[0] = "source";	kv[1] = "dsn";
	kv[2] = "from";		kv[3] = b->env.sender;
	kv[4] = "to";		kv[5] = b->env.nrcpt > 0 ? b->env.rcpts[0].addr : "";
	kv[6] = "size";		kv[7] = size;
	kv[8] = "nrcpt";	kv[9] = "1";
	kv[10] = "about";	kv[11] = m->qid;
	return trace_now(txn, b->qid, "received", kv, 6);
}

/*
 * Writes m's state (and a DSN for each kind of notice its recipients are
 * owed) in one txn, or removes m when every recipient is done. 1 when m
 * was freed. Invariant: a DSN exists iff the state that caused it is stored.
 */
static int
sched_persist(struct qmsg *m)
{
	static const int kinds[] = { REPORT_FAILED, REPORT_DELAYED, REPORT_DELIVERED };
	struct qmsg	*bs[3] = { NULL, NULL, NULL };
	struct buf	 content, to;
	DB_TXN		*txn;
	uint32_t	 i;
	size_t		 tracelen = m->trace.len;
	int		 done, want = 0, full = 0, dbl = 0, k;

	buf_init(&content);
	buf_init(&to);
	for (i = 0; i < m->env.nrcpt; i++)
		want |= m->env.rcpts[i].report;
	if (want && m->env.sender[0] == '\0') {
		/* never a notice about a notice: a failure goes to the
		 * postmaster once, and nothing reports on that one */
		want &= REPORT_FAILED;
		if (want && ((m->env.flags & QENV_F_DOUBLE_BOUNCE) ||
		    double_bounce_to(&to) == -1)) {
			for (i = 0; i < m->env.nrcpt; i++)
				if (m->env.rcpts[i].report & REPORT_FAILED)
					log_warn("%s: undeliverable notice to=<%s> "
					    "dropped", m->qid, m->env.rcpts[i].addr);
			want = 0;
		}
		dbl = want != 0;
	} else if (want && buf_appends(&to, m->env.sender) == -1)
		want = 0;
	if (want) {
		buf_cstr(&to);
		/* read before the txn: a read outside it would wait on its locks */
		full = (want & REPORT_FAILED) && m->env.ret == DSN_RET_FULL &&
		    m->env.size <= BOUNCE_MAX_FULL;
		if (full && bounce_content(m->qid, &m->env, &content) == -1) {
			buf_reset(&content);
			full = 0;
		}
		if (!full && bounce_headers(m->qid, &m->env, &content) == -1)
			buf_reset(&content);
	}
	done = msg_all_done(m);
	if (spool_txn_begin(qmgr.spool, &txn) == -1)
		goto fail;
	for (k = 0; k < 3; k++) {
		if (!(want & kinds[k]))
			continue;
		/* the full message goes back with a failure only (RFC 3461 4.3) */
		if (bounce_create(txn, m->qid, &m->env, kinds[k], to.p, dbl,
		    &content, full && kinds[k] == REPORT_FAILED, &bs[k]) == -1 ||
		    trace_dsn(txn, m, bs[k], report_name(kinds[k], dbl)) == -1)
			goto abort;
	}
	if (done) {
		if (trace_add(&m->trace, "removed", NULL, 0) == -1 ||
		    spool_delete(qmgr.spool, txn, m->qid) == -1)
			goto abort;
	} else if (spool_put_envelope(qmgr.spool, txn, m->qid, &m->env, 0) == -1)
		goto abort;
	/* the events recorded with the change they record */
	if (trace_write(txn, m->qid, &m->trace) == -1)
		goto abort;
	if (spool_txn_commit(qmgr.spool, txn) == -1)
		goto fail;
	buf_reset(&m->trace);
	/* NOSYNC: a lost update repeats a delivery or a notice, never loses one */
	commit_dirty();
	buf_free(&content);
	buf_free(&to);
	for (i = 0; i < m->env.nrcpt; i++)
		m->env.rcpts[i].report = 0;
	m->dirty = 0;
	for (k = 0; k < 3; k++) {
		struct qmsg *b = bs[k];

		if (b == NULL)
			continue;
		log_info("%s: %s: %s", m->qid, report_name(kinds[k], dbl), b->qid);
		log_info("%s: from=<>, size=%" PRIu64 ", nrcpt=1 (queue active)",
		    b->qid, b->env.size);
		if (RB_INSERT(msg_ids, &sched_ids, b) != NULL)
			sched_msg_free(b);
		else
			msg_due_update(b);
	}
	if (done) {
		log_info("%s: removed", m->qid);
		msg_remove(m);
		return 1;
	}
	return 0;
abort:
	spool_txn_abort(qmgr.spool, txn);
fail:
	/* the DSN and removal events go with the attempt that failed */
	m->trace.len = tracelen;
	buf_free(&content);
	buf_free(&to);
	for (k = 0; k < 3; k++)
		sched_msg_free(bs[k]);
	m->dirty = 1;
	qmgr_spool_failed(m->qid);
	return -1;
}

void
sched_result(struct ipc_msg *msg)
{
	struct qjob	 key, *j;
	struct qmsg	*m;
	struct qdest	*d;
	struct unpack	 u;
	uint32_t	 n, n2, i, *status = NULL, *flags = NULL;
	char		**reply = NULL, **relay = NULL, dsn[16];
	uint64_t	 now = (uint64_t)time(NULL);
	int		 valid = 0, all_temp = 1;

	key.id = msg->id;
	if ((j = RB_FIND(jobs, &sched_jobs, &key)) == NULL) {
		log_warn("deliver: result for unknown job %u, ignored", msg->id);
		return;
	}
	m = j->m;
	d = j->dest;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &n) == 0 && n == j->nrcpt &&
	    (status = calloc(n, sizeof(*status))) != NULL &&
	    (flags = calloc(n, sizeof(*flags))) != NULL &&
	    (reply = calloc(n, sizeof(*reply))) != NULL &&
	    (relay = calloc(n, sizeof(*relay))) != NULL) {
		for (i = 0; i < n; i++) {
			unpack_u32(&u, &status[i]);
			unpack_str(&u, &reply[i], RECORD_MAX_REPLY);
			unpack_str(&u, &relay[i], RECORD_MAX_ADDR);
			if (u.err || status[i] > RCPT_PERMFAIL)
				break;
		}
		valid = i == n;
		/* the optional flags extension (lib/ipc.h) */
		if (valid && u.off < msg->len) {
			if (unpack_u32(&u, &n2) == -1 || n2 != n)
				valid = 0;
			for (i = 0; valid && i < n; i++)
				if (unpack_u32(&u, &flags[i]) == -1)
					valid = 0;
		}
		valid = valid && unpack_done(&u) == 0;
	}
	if (!valid)
		log_err("%s: malformed result from deliver for job %u; "
		    "treated as a temporary failure", m->qid, j->id);

	for (i = 0; i < j->nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[j->idx[i]];

		r->inflight = 0;
		if (!valid) {
			rcpt_tempfail(m, r, "none",
			    "451 4.3.0 Malformed result from deliver", now);
			continue;
		}
		if (strcmp(relay[i], "none") != 0 &&
		    set_str(&r->last_relay, relay[i], RECORD_MAX_ADDR) == -1)
			log_errno("%s: recording relay", m->qid);
		switch (status[i]) {
		case RCPT_OK:
			all_temp = 0;
			r->state = QRCPT_DELIVERED;
			if (flags[i] & RESULT_F_RELAYED)
				r->flags |= QRCPT_F_RELAYED;
			if (r->notify & DSN_NOTIFY_SUCCESS)
				r->report |= REPORT_DELIVERED;
			if (set_reply(r, reply[i]) == -1)
				log_errno("%s: recording reply", m->qid);
			sched_dsn(reply[i], RCPT_OK, dsn);
			log_rcpt(m, r, relay[i], dsn, "sent", reply[i]);
			break;
		case RCPT_TEMPFAIL:
			rcpt_tempfail(m, r, relay[i], reply[i], now);
			break;
		default:
			all_temp = 0;
			rcpt_bounced(r);
			if (set_reply(r, reply[i]) == -1)
				log_errno("%s: recording reply", m->qid);
			sched_dsn(reply[i], RCPT_PERMFAIL, dsn);
			log_rcpt(m, r, relay[i], dsn, "bounced", reply[i]);
			break;
		}
	}
	if (reply != NULL || relay != NULL)
		for (i = 0; i < j->nrcpt; i++) {
			if (reply != NULL)
				free(reply[i]);
			if (relay != NULL)
				free(relay[i]);
		}
	free(status);
	free(flags);
	free(reply);
	free(relay);
	RB_REMOVE(jobs, &sched_jobs, j);
	job_free(j);
	sched_njobs--;
	m->njobs--;
	/* a malformed result is our fault, not the destination's */
	if (dest_result(qmgr.conf, d, valid && all_temp, now))
		dest_park(d);
	if (sched_persist(m) != 1)
		msg_due_update(m);
	sched_run();
}

/* A job that will get no result: its recipients wait a little, then go
 * again (not an attempt: deliver failed, not the peer). */
static void
job_forget(struct qjob *j, uint64_t soon)
{
	uint32_t i;

	RB_REMOVE(jobs, &sched_jobs, j);
	for (i = 0; i < j->nrcpt; i++) {
		struct qrcpt *r = &j->m->env.rcpts[j->idx[i]];

		r->inflight = 0;
		r->next_try = soon;
	}
	if (j->dest->active > 0)
		j->dest->active--;
	j->m->njobs--;
	if (sched_njobs > 0)
		sched_njobs--;
	msg_due_update(j->m);
	job_free(j);
}

void
sched_deliver_lost(void)
{
	struct qjob	*j, *next;
	uint64_t	 soon = (uint64_t)time(NULL) + SCHED_LOST_RETRY;
	uint32_t	 n = 0;

	RB_FOREACH_SAFE(j, jobs, &sched_jobs, next) {
		job_forget(j, soon);
		n++;
	}
	sched_njobs = 0;
	if (n)
		log_warn("deliver went away with %u jobs; tried again in %ds",
		    n, SCHED_LOST_RETRY);
	sched_run();
}

/* Makes m's waiting recipients (those whose domain matches, if match is
 * not NULL) due now, and forgets their destinations' failures. */
static int
msg_make_due(struct qmsg *m, uint64_t now,
    int (*match)(const char *, const char *), const char *arg)
{
	struct qdest	*d;
	char		*owned;
	const char	*dom;
	uint32_t	 i;
	int		 any = 0;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[i];

		if (!rcpt_due_candidate(r))
			continue;
		dom = job_domain_of(r->addr, &owned);
		if (match == NULL || match(dom, arg)) {
			/* the backoff timer, not the attempt count, is reset */
			r->next_try = now;
			if ((d = dest_find(dom)) != NULL)
				dest_reset(d);
			any = 1;
		}
		free(owned);
	}
	if (any)
		msg_due_update(m);
	return any;
}

int
sched_flush(const char *qid)
{
	struct qmsg	*m, *next;
	uint64_t	 now = (uint64_t)time(NULL);
	int		 n = 0;

	if (qid[0] != '\0') {
		if ((m = sched_find(qid)) == NULL)
			return -1;
		if (!msg_held(m))
			n = msg_make_due(m, now, NULL, NULL);
	} else {
		/* the admin overrides every destination's backoff */
		dest_reset_all();
		RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next)
			if (!msg_held(m))
				n += msg_make_due(m, now, NULL, NULL);
	}
	sched_run();
	return n;
}

/* "example.com" names itself; "@example.com" also its subdomains (RFC 1985). */
static int
etrn_match(const char *dom, const char *arg)
{
	size_t	 dl, al;

	if (arg[0] != '@')
		return strcasecmp(dom, arg) == 0;
	arg++;
	if (strcasecmp(dom, arg) == 0)
		return 1;
	dl = strlen(dom);
	al = strlen(arg);
	return dl > al + 1 && dom[dl - al - 1] == '.' &&
	    strcasecmp(dom + dl - al, arg) == 0;
}

int
sched_etrn(const char *domain)
{
	struct qmsg	*m, *next;
	uint64_t	 now = (uint64_t)time(NULL);
	int		 n = 0;

	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next)
		if (!msg_held(m))
			n += msg_make_due(m, now, etrn_match, domain);
	sched_run();
	return n;
}

int
sched_hold(const char *qid)
{
	struct qmsg	*m;
	uint32_t	 i;

	if ((m = sched_find(qid)) == NULL)
		return -1;
	if (msg_held(m))
		return 1;
	m->env.flags |= QENV_F_HELD;
	trace_add(&m->trace, "held", NULL, 0);
	/* ready entries naming it go stale; jobs at deliver finish */
	for (i = 0; i < m->env.nrcpt; i++)
		m->env.rcpts[i].ready = 0;
	msg_due_update(m);
	/* stored before the admin is told so */
	if (sched_persist(m) == -1)
		log_warn("%s: hold not stored yet; retried", m->qid);
	else
		commit_flush();
	log_info("%s: held by the admin", qid);
	return 0;
}

int
sched_release(const char *qid)
{
	struct qmsg	*m;
	uint32_t	 i;
	uint64_t	 now = (uint64_t)time(NULL);

	if ((m = sched_find(qid)) == NULL)
		return -1;
	if (!msg_held(m))
		return 1;
	m->env.flags &= ~QENV_F_HELD;
	trace_add(&m->trace, "released", NULL, 0);
	for (i = 0; i < m->env.nrcpt; i++)
		if (rcpt_due_candidate(&m->env.rcpts[i]))
			m->env.rcpts[i].next_try = now;
	if (sched_persist(m) == -1)
		log_warn("%s: release not stored yet; retried", m->qid);
	else
		commit_flush();
	log_info("%s: released by the admin", qid);
	msg_due_update(m);
	sched_run();
	return 0;
}

/* posternctl delete (silently) and bounce (a DSN to the sender, as expiry
 * makes): every waiting recipient is finished and the message removed. The
 * caller flushes the commit and runs the scheduler (once for many). */
int
sched_admin_remove(const char *qid, int bounce)
{
	struct qmsg	*m;
	uint32_t	 i;

	if ((m = sched_find(qid)) == NULL)
		return -1;
	/* its jobs point at it: wait until deliver has answered */
	if (m->njobs > 0)
		return -2;
	trace_add(&m->trace, bounce ? "bounced" : "deleted", NULL, 0);
	for (i = 0; i < m->env.nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[i];

		if (!bounce)
			r->report = 0;
		if (r->state != QRCPT_PENDING)
			continue;
		r->ready = 0;
		if (!bounce) {
			r->state = QRCPT_BOUNCED;
			continue;
		}
		if (set_reply(r, "550 5.0.0 Message deleted by the "
		    "administrator") == -1)
			log_errno("%s: recording the bounce", m->qid);
		rcpt_bounced(r);
		log_rcpt(m, r, "none", "5.0.0", "bounced", r->last_reply);
	}
	if (!bounce)
		log_info("%s: removed by the admin", qid);
	else
		log_info("%s: bounced by the admin", qid);
	if (sched_persist(m) == -1) {
		msg_due_update(m);
		return -3;
	}
	return 0;
}

/* Route m again: its waiting recipients start over with the current config. */
static int
msg_requeue(struct qmsg *m, uint64_t now)
{
	struct qdest	*d;
	char		*owned;
	uint32_t	 i;
	int		 any = 0;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[i];

		/* a recipient at deliver now finishes on its old route */
		if (r->state != QRCPT_PENDING || r->inflight)
			continue;
		/* its ready entry goes stale; it is queued again below */
		r->ready = 0;
		r->next_try = now;
		r->attempts = 0;
		if ((d = dest_find(job_domain_of(r->addr, &owned))) != NULL)
			dest_reset(d);
		free(owned);
		any = 1;
	}
	if (!any)
		return 0;
	trace_add(&m->trace, "requeued", NULL, 0);
	if (sched_persist(m) == -1)
		log_warn("%s: requeue not stored yet; retried", m->qid);
	msg_due_update(m);
	log_info("%s: requeued by the admin", m->qid);
	return 1;
}

int
sched_requeue(const char *qid)
{
	struct qmsg	*m, *next;
	uint64_t	 now = (uint64_t)time(NULL);
	int		 n = 0;

	if (qid[0] != '\0') {
		if ((m = sched_find(qid)) == NULL)
			return -1;
		if (msg_held(m))
			return -2;
		n = msg_requeue(m, now);
	} else {
		RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next)
			if (!msg_held(m))
				n += msg_requeue(m, now);
	}
	/* durable before the admin hears it; one sync for them all */
	commit_flush();
	sched_run();
	return n;
}

int
sched_pause(int on)
{
	int	 was = sched_paused;

	sched_paused = on != 0;
	if (was == sched_paused)
		return 1;
	log_info("outgoing delivery %s by the admin", on ? "paused" : "resumed");
	if (!on)
		sched_run();
	return 0;
}

void
sched_maintain(void)
{
	struct qmsg	*m, *next;

	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next) {
		if (m->dirty && sched_persist(m) == 0)
			msg_due_update(m);
	}
	dest_gc((uint64_t)time(NULL));
}

uint32_t
sched_msg_state(const struct qmsg *m)
{
	if (msg_held(m))
		return QSTATE_HELD;
	return m->njobs > 0 ? QSTATE_ACTIVE : QSTATE_DEFERRED;
}

uint64_t
sched_msg_next_try(const struct qmsg *m)
{
	return m->in_due ? m->due : 0;
}

const char *
sched_msg_last_error(const struct qmsg *m)
{
	return record_last_error(&m->env);
}

/*
 * deliver promises one result per job; a job it has not answered within
 * delivery_job_timeout means a deliver bug or hang, and its recipients
 * must not wait for a restart. They are tried again; a late result for
 * the forgotten job is then ignored (a duplicate is possible, a loss is
 * not).
 */
static struct event	*sched_watch_ev;

static void
sched_watch_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qjob	*j, *next;
	struct timeval	 tv;
	uint64_t	 now = (uint64_t)time(NULL), limit, every;
	uint32_t	 n = 0;

	(void)fd;
	(void)ev;
	(void)arg;
	limit = qmgr.conf->delivery_job_timeout;
	RB_FOREACH_SAFE(j, jobs, &sched_jobs, next) {
		if (now < j->sent + limit)
			continue;
		log_err("%s: deliver gave no answer for job %u in %llus; its %u "
		    "recipient%s will be tried again", j->m->qid, j->id,
		    (unsigned long long)(now - j->sent), j->nrcpt,
		    j->nrcpt == 1 ? "" : "s");
		job_forget(j, now + SCHED_LOST_RETRY);
		n++;
	}
	/* look a few times per timeout, at least once a minute */
	every = limit / 4 < 1 ? 1 : limit / 4 > 60 ? 60 : limit / 4;
	tv.tv_sec = (time_t)every;
	tv.tv_usec = 0;
	evtimer_add(sched_watch_ev, &tv);
	if (n > 0)
		sched_run();
}

void
sched_watch_start(void)
{
	if (sched_watch_ev == NULL &&
	    (sched_watch_ev = evtimer_new(qmgr.base, sched_watch_cb,
	    NULL)) == NULL) {
		log_err("scheduler: no watchdog for unanswered jobs");
		return;
	}
	sched_watch_cb(-1, 0, NULL);
}

void
sched_shutdown(void)
{
	struct qmsg	*m, *mnext;
	struct qjob	*j, *jnext;
	struct qdest	*d;

	RB_FOREACH_SAFE(j, jobs, &sched_jobs, jnext) {
		RB_REMOVE(jobs, &sched_jobs, j);
		job_free(j);
	}
	sched_njobs = 0;
	while ((d = TAILQ_FIRST(&sched_active)) != NULL)
		dest_deactivate(d);
	dest_shutdown();
	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, mnext)
		msg_remove(m);
	if (sched_ev != NULL) {
		event_free(sched_ev);
		sched_ev = NULL;
	}
	if (sched_watch_ev != NULL) {
		event_free(sched_watch_ev);
		sched_watch_ev = NULL;
	}
	sched_policy_free(&sched_pol);
}
