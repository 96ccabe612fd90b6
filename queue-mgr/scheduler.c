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
	char		*domain;
	uint32_t	 nrcpt;
	uint32_t	*idx;		/* into m->env.rcpts */
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
static uint32_t		 sched_njobs;
static uint32_t		 sched_next_job_id = 1;
static struct event	*sched_ev;

static int	sched_persist(struct qmsg *);

uint64_t
sched_backoff(uint64_t min, uint64_t max, uint32_t attempts)
{
	uint64_t	 d = min;
	uint32_t	 i;

	for (i = 1; i < attempts && d < max; i++) {
		if (d > UINT64_MAX / 2) {
			d = max;
			break;
		}
		d *= 2;
	}
	return d < max ? d : max;
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
	return r->state == QRCPT_PENDING && !r->inflight;
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
sched_arm(uint64_t secs)
{
	struct timeval	 tv;

	if (sched_ev == NULL &&
	    (sched_ev = evtimer_new(qmgr.base, sched_timer_cb, NULL)) == NULL) {
		log_err("scheduler: cannot make a timer");
		return;
	}
	tv.tv_sec = secs > 86400 ? 86400 : (time_t)secs;
	tv.tv_usec = secs == 0 ? 1000 : 0;
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
log_rcpt(const struct qmsg *m, const struct qrcpt *r, const char *relay,
    const char *dsn, const char *status, const char *reply)
{
	log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)",
	    m->qid, r->addr, relay, delay_secs(m), dsn, status, reply);
}

static int
set_reply(struct qrcpt *r, const char *reply)
{
	char	*s;

	if ((s = strndup(reply, RECORD_MAX_REPLY)) == NULL)
		return -1;
	free(r->last_reply);
	r->last_reply = s;
	return 0;
}

static int
msg_expired(const struct qmsg *m, uint64_t now)
{
	uint64_t	 life = qmgr.conf->max_queue_lifetime;

	if (m->env.arrival > UINT64_MAX - life)
		return 0;
	return now >= m->env.arrival + life;
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
	r->state = QRCPT_BOUNCED;
	r->notify = 1;
	log_rcpt(m, r, "none", "4.4.7", "bounced", r->last_reply);
}

static void
rcpt_tempfail(struct qmsg *m, struct qrcpt *r, const char *relay,
    const char *reply, uint64_t now)
{
	uint64_t	 wait, expire;
	char		 dsn[16];

	if (r->attempts < UINT32_MAX)
		r->attempts++;
	if (set_reply(r, reply) == -1)
		log_errno("%s: recording reply", m->qid);
	if (msg_expired(m, now)) {
		sched_dsn(reply, RCPT_TEMPFAIL, dsn);
		log_rcpt(m, r, relay, dsn, "deferred", reply);
		rcpt_expire(m, r);
		return;
	}
	wait = sched_backoff(qmgr.conf->queue_min_backoff,
	    qmgr.conf->queue_max_backoff, r->attempts);
	r->next_try = now + wait;
	/* examine it again when its lifetime ends, to bounce it on time */
	expire = m->env.arrival > UINT64_MAX - qmgr.conf->max_queue_lifetime ?
	    UINT64_MAX : m->env.arrival + qmgr.conf->max_queue_lifetime;
	if (r->next_try > expire)
		r->next_try = expire;
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
	free(j->domain);
	free(j->idx);
	free(j);
}

/* Groups m's due recipients by domain into jobs; -1 on a local failure. */
static int
dispatch_msg(struct qmsg *m, uint64_t now)
{
	struct qjob	*j;
	struct qrcpt	*r;
	struct buf	 b;
	char		*owned, *owned2;
	const char	*dom, *dom2;
	size_t		 size;
	uint32_t	 i, k;
	int		 fd, rv = 0, changed = 0;

	buf_init(&b);
	for (i = 0; i < m->env.nrcpt; i++) {
		r = &m->env.rcpts[i];
		if (!rcpt_due_candidate(r) || r->next_try > now)
			continue;
		if (sched_njobs >= qmgr.conf->delivery_concurrency)
			break;
		if ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->idx = calloc(m->env.nrcpt, sizeof(*j->idx))) == NULL) {
			log_errno("%s: job", m->qid);
			free(j);
			rv = -1;
			break;
		}
		dom = job_domain_of(r->addr, &owned);
		if ((j->domain = strdup(dom)) == NULL) {
			free(owned);
			job_free(j);
			rv = -1;
			break;
		}
		free(owned);
		size = 3 * 4 + strlen(m->qid) + strlen(m->env.sender) +
		    strlen(j->domain) + 4;
		/* same domain, due, and room in the frame */
		for (k = i; k < m->env.nrcpt; k++) {
			struct qrcpt *q = &m->env.rcpts[k];

			if (!rcpt_due_candidate(q) || q->next_try > now)
				continue;
			dom2 = job_domain_of(q->addr, &owned2);
			if (strcasecmp(dom2, j->domain) == 0 &&
			    j->nrcpt < IPC_JOB_MAX_RCPT &&
			    size + 4 + strlen(q->addr) < SCHED_JOB_MAX_PAYLOAD) {
				j->idx[j->nrcpt++] = k;
				size += 4 + strlen(q->addr);
			}
			free(owned2);
		}
		buf_reset(&b);
		if (pack_str(&b, m->qid) == -1 || pack_str(&b, m->env.sender) == -1 ||
		    pack_str(&b, j->domain) == -1 || pack_u32(&b, j->nrcpt) == -1) {
			job_free(j);
			rv = -1;
			break;
		}
		for (k = 0; k < j->nrcpt; k++)
			if (pack_str(&b, m->env.rcpts[j->idx[k]].addr) == -1)
				break;
		if (k < j->nrcpt) {
			job_free(j);
			rv = -1;
			break;
		}
		if ((fd = content_memfd(m)) < 0) {
			if (fd == -2) {
				/* counted as a try: this cannot fix itself quickly */
				for (k = 0; k < j->nrcpt; k++)
					rcpt_tempfail(m, &m->env.rcpts[j->idx[k]],
					    "none", "451 4.3.0 Queue file unreadable", now);
				changed = 1;
				job_free(j);
				continue;
			}
			job_free(j);
			rv = -1;
			break;
		}
		j->id = sched_next_job_id++;
		if (sched_next_job_id == 0)
			sched_next_job_id = 1;
		j->m = m;
		if (ipc_send_buf(qmgr.deliver, IPC_DELIVER_JOB, j->id, fd, &b) == -1) {
			log_err("%s: cannot send a job to deliver", m->qid);
			job_free(j);
			rv = -1;
			break;
		}
		for (k = 0; k < j->nrcpt; k++)
			m->env.rcpts[j->idx[k]].inflight = 1;
		RB_INSERT(jobs, &sched_jobs, j);
		sched_njobs++;
		m->njobs++;
		log_debug("%s: job %u to %s, %u recipients", m->qid, j->id,
		    j->domain, j->nrcpt);
	}
	buf_free(&b);
	if (changed && sched_persist(m) == 1)
		return rv;
	msg_due_update(m);
	return rv;
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
	uint64_t	 now = (uint64_t)time(NULL);

	if (qmgr.stopping)
		return;
	while ((m = RB_MIN(msg_dues, &sched_dues)) != NULL && m->due <= now) {
		if (msg_expired(m, now) && expire_msg(m))
			continue;
		if (qmgr.deliver == NULL ||
		    sched_njobs >= qmgr.conf->delivery_concurrency)
			return;		/* a result or a new deliver runs us again */
		if (dispatch_msg(m, now) == -1) {
			sched_arm(SCHED_LOCAL_RETRY);
			return;
		}
		/* unchanged head: the concurrency limit stopped it */
		if (RB_MIN(msg_dues, &sched_dues) == m && m->due <= now)
			return;
	}
	if (m != NULL)
		sched_arm(m->due - now);
}

/* Writes m's state (and a bounce of its newly bounced recipients) in one
 * txn, or removes m when every recipient is done. 1 when m was freed. */
static int
sched_persist(struct qmsg *m)
{
	struct qmsg	*b = NULL;
	struct buf	 hdr;
	DB_TXN		*txn;
	uint32_t	 i;
	int		 done, notify = 0;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct qrcpt *r = &m->env.rcpts[i];

		if (!r->notify)
			continue;
		if (m->env.sender[0] == '\0') {
			/* never bounce a bounce */
			log_info("%s: undeliverable bounce to=<%s> dropped",
			    m->qid, r->addr);
			r->notify = 0;
		} else
			notify = 1;
	}
	buf_init(&hdr);
	/* before the txn: a read outside it would wait on its own locks */
	if (notify && bounce_headers(m->qid, &m->env, &hdr) == -1)
		buf_reset(&hdr);
	done = msg_all_done(m);
	if (spool_txn_begin(qmgr.spool, &txn) == -1)
		goto fail;
	if (notify && bounce_create(txn, m->qid, &m->env, &hdr, &b) == -1)
		goto abort;
	if (done) {
		if (spool_delete(qmgr.spool, txn, m->qid) == -1)
			goto abort;
	} else if (spool_put_envelope(qmgr.spool, txn, m->qid, &m->env, 0) == -1)
		goto abort;
	if (spool_txn_commit(qmgr.spool, txn) == -1)
		goto fail;
	/* NOSYNC: a lost update repeats a delivery or a bounce, never loses one */
	commit_dirty();
	buf_free(&hdr);
	for (i = 0; i < m->env.nrcpt; i++)
		m->env.rcpts[i].notify = 0;
	m->dirty = 0;
	if (b != NULL) {
		log_info("%s: sender non-delivery notification: %s", m->qid, b->qid);
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
	buf_free(&hdr);
	sched_msg_free(b);
	m->dirty = 1;
	qmgr_spool_failed(m->qid);
	return -1;
}

void
sched_result(struct ipc_msg *msg)
{
	struct qjob	 key, *j;
	struct qmsg	*m;
	struct unpack	 u;
	uint32_t	 n, i, *status = NULL;
	char		**reply = NULL, **relay = NULL, dsn[16];
	uint64_t	 now = (uint64_t)time(NULL);
	int		 valid = 0;

	key.id = msg->id;
	if ((j = RB_FIND(jobs, &sched_jobs, &key)) == NULL) {
		log_warn("deliver: result for unknown job %u, ignored", msg->id);
		return;
	}
	m = j->m;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &n) == 0 && n == j->nrcpt &&
	    (status = calloc(n, sizeof(*status))) != NULL &&
	    (reply = calloc(n, sizeof(*reply))) != NULL &&
	    (relay = calloc(n, sizeof(*relay))) != NULL) {
		for (i = 0; i < n; i++) {
			unpack_u32(&u, &status[i]);
			unpack_str(&u, &reply[i], RECORD_MAX_REPLY);
			unpack_str(&u, &relay[i], RECORD_MAX_ADDR);
			if (u.err || status[i] > RCPT_PERMFAIL)
				break;
		}
		valid = i == n && unpack_done(&u) == 0;
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
		switch (status[i]) {
		case RCPT_OK:
			r->state = QRCPT_DELIVERED;
			if (set_reply(r, reply[i]) == -1)
				log_errno("%s: recording reply", m->qid);
			sched_dsn(reply[i], RCPT_OK, dsn);
			log_rcpt(m, r, relay[i], dsn, "sent", reply[i]);
			break;
		case RCPT_TEMPFAIL:
			rcpt_tempfail(m, r, relay[i], reply[i], now);
			break;
		default:
			r->state = QRCPT_BOUNCED;
			r->notify = 1;
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
	free(reply);
	free(relay);
	RB_REMOVE(jobs, &sched_jobs, j);
	job_free(j);
	sched_njobs--;
	m->njobs--;
	if (sched_persist(m) != 1)
		msg_due_update(m);
	sched_run();
}

void
sched_deliver_lost(void)
{
	struct qjob	*j, *next;
	uint64_t	 soon = (uint64_t)time(NULL) + SCHED_LOST_RETRY;
	uint32_t	 i, n = 0;

	RB_FOREACH_SAFE(j, jobs, &sched_jobs, next) {
		RB_REMOVE(jobs, &sched_jobs, j);
		for (i = 0; i < j->nrcpt; i++) {
			struct qrcpt *r = &j->m->env.rcpts[j->idx[i]];

			r->inflight = 0;
			r->next_try = soon;	/* not an attempt: deliver failed, not the peer */
		}
		j->m->njobs--;
		msg_due_update(j->m);
		job_free(j);
		n++;
	}
	sched_njobs = 0;
	if (n)
		log_warn("deliver went away with %u jobs; tried again in %ds",
		    n, SCHED_LOST_RETRY);
	sched_run();
}

int
sched_flush(const char *qid)
{
	struct qmsg	*m, *next;
	uint64_t	 now = (uint64_t)time(NULL);
	uint32_t	 i;
	int		 n = 0;

	if (qid[0] != '\0' && sched_find(qid) == NULL)
		return -1;
	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next) {
		if (qid[0] != '\0' && strcmp(m->qid, qid) != 0)
			continue;
		/* the backoff timer, not the attempt count, is reset */
		for (i = 0; i < m->env.nrcpt; i++)
			if (rcpt_due_candidate(&m->env.rcpts[i]))
				m->env.rcpts[i].next_try = now;
		msg_due_update(m);
		n++;
	}
	sched_run();
	return n;
}

void
sched_maintain(void)
{
	struct qmsg	*m, *next;

	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, next) {
		if (m->dirty && sched_persist(m) == 0)
			msg_due_update(m);
	}
}

uint32_t
sched_msg_state(const struct qmsg *m)
{
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
	uint32_t	 i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == QRCPT_PENDING &&
		    m->env.rcpts[i].last_reply[0] != '\0')
			return m->env.rcpts[i].last_reply;
	return "";
}

void
sched_shutdown(void)
{
	struct qmsg	*m, *mnext;
	struct qjob	*j, *jnext;

	RB_FOREACH_SAFE(j, jobs, &sched_jobs, jnext) {
		RB_REMOVE(jobs, &sched_jobs, j);
		job_free(j);
	}
	sched_njobs = 0;
	RB_FOREACH_SAFE(m, msg_ids, &sched_ids, mnext)
		msg_remove(m);
	if (sched_ev != NULL) {
		event_free(sched_ev);
		sched_ev = NULL;
	}
}
