/* Message tracking: each event of a message in trace.db, swept trace_retention after it left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "qmgr.h"

/* Records one sweep looks at (it ends a message's records it started). */
#define TRACE_SWEEP_BUDGET	5000
#define TRACE_SWEEP_SECS	60
/* A sweep with more to do comes back this soon. */
#define TRACE_SWEEP_AGAIN_MS	200
/* Never purged younger than this: a message between its commit and the
 * group flush is not in the index yet. */
#define TRACE_MIN_AGE_US	(10ULL * 1000000)
#define TRACE_MAX_GROUPS	TRACE_SWEEP_BUDGET

static struct event	*trace_ev;
static char		 trace_resume[QID_SIZE];	/* the next sweep starts here */
/* Keys are unique within one microsecond of our clock, and across restarts
 * because the clock moves on. */
static uint32_t		 trace_seq;

int
trace_add(struct buf *pending, const char *event, const char *const *kv,
    size_t npairs)
{
	size_t		 start = pending->len, i;
	uint8_t		*p;
	uint32_t	 len;
	int		 r = 0;

	/* u32 length of the record (host order, memory only), then it */
	r |= pack_u32(pending, 0);
	r |= pack_u64(pending, qmgr_now_us());
	r |= pack_str(pending, event);
	r |= pack_u32(pending, (uint32_t)npairs);
	for (i = 0; i < npairs * 2 && r == 0; i++)
		r |= pack_str(pending, kv[i] != NULL ? kv[i] : "");
	if (r != 0 || pending->len - start - 4 > IPC_MAX_PAYLOAD) {
		log_err("trace: event %s too large or out of memory; not "
		    "recorded", event);
		pending->len = start;
		return -1;
	}
	len = (uint32_t)(pending->len - start - 4);
	p = (uint8_t *)pending->p + start;
	memcpy(p, &len, sizeof(len));
	return 0;
}

static void
trace_key(uint8_t k[TRACE_KEY_LEN], const char *qid, uint64_t t)
{
	uint32_t	 seq = trace_seq++;
	int		 i;

	memcpy(k, qid, QID_LEN);
	for (i = 0; i < 8; i++)
		k[QID_LEN + i] = (uint8_t)(t >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		k[QID_LEN + 8 + i] = (uint8_t)(seq >> (24 - 8 * i));
}

/*
 * One record per transaction: the key has the first event's time, the
 * value holds every event of that write as u32 length (host order: one
 * machine) + IPC_CTL_TRACE_EVENT payload. A result and the removal that
 * follows it cost one B-tree item, not one each.
 */
int
trace_write(DB_TXN *txn, const char *qid, const struct buf *pending)
{
	uint8_t		 k[TRACE_KEY_LEN];
	struct unpack	 u;
	uint32_t	 len;
	uint64_t	 t;

	if (pending->len == 0)
		return 0;
	if (pending->len < 4)
		return -1;
	memcpy(&len, pending->p, sizeof(len));
	if (len > pending->len - 4)
		return -1;
	unpack_init(&u, (const uint8_t *)pending->p + 4, len);
	if (unpack_u64(&u, &t) == -1)
		return -1;
	trace_key(k, qid, t);
	return spool_put_trace(qmgr.spool, txn, k, sizeof(k), pending->p,
	    pending->len);
}

int
trace_record_each(const void *val, size_t vlen,
    int (*cb)(const void *, size_t, void *), void *arg)
{
	const uint8_t	*p = val;
	size_t		 off = 0;
	uint32_t	 len;
	int		 r;

	while (off < vlen) {
		if (vlen - off < 4)
			return -1;
		memcpy(&len, p + off, sizeof(len));
		off += 4;
		if (len > vlen - off)
			return -1;
		if ((r = cb(p + off, len, arg)) != 0)
			return r;
		off += len;
	}
	return 0;
}

int
trace_now(DB_TXN *txn, const char *qid, const char *event,
    const char *const *kv, size_t npairs)
{
	struct buf	 b;
	int		 r;

	buf_init(&b);
	r = trace_add(&b, event, kv, npairs);
	if (r == 0)
		r = trace_write(txn, qid, &b);
	buf_free(&b);
	return r;
}

/* ---- the sweep ---- */

struct trace_group {
	char		 qid[QID_SIZE];
	uint64_t	 last;		/* time of its latest event */
};

struct sweep_ctx {
	struct trace_group	*groups;
	size_t			 ngroups;
	size_t			 seen;
	int			 more;	/* stopped on the budget */
	int			 cut;	/* the last group may be incomplete */
};

static uint64_t
key_time(const uint8_t *k)
{
	uint64_t	 t = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		t = (t << 8) | k[QID_LEN + i];
	return t;
}

static int
sweep_scan_cb(DBC *c, const uint8_t *k, size_t klen, const void *v,
    size_t vlen, void *arg)
{
	struct sweep_ctx	*sc = arg;
	struct trace_group	*g;

	(void)c;
	(void)v;
	(void)vlen;
	if (klen != TRACE_KEY_LEN || !qid_valid((const char *)k, QID_LEN))
		return 0;	/* not ours: left alone */
	g = sc->ngroups > 0 ? &sc->groups[sc->ngroups - 1] : NULL;
	if (g == NULL || memcmp(g->qid, k, QID_LEN) != 0) {
		/* a message's records are finished before the budget stops us */
		if (sc->seen >= TRACE_SWEEP_BUDGET ||
		    sc->ngroups >= TRACE_MAX_GROUPS) {
			sc->more = 1;
			return 1;
		}
		g = &sc->groups[sc->ngroups++];
		memcpy(g->qid, k, QID_LEN);
		g->qid[QID_LEN] = '\0';
		g->last = 0;
	}
	if (key_time(k) > g->last)
		g->last = key_time(k);
	sc->seen++;
	return 0;
}

static int
sweep_del_cb(DBC *c, const uint8_t *k, size_t klen, const void *v,
    size_t vlen, void *arg)
{
	const char	*qid = arg;
	int		 ret;

	(void)v;
	(void)vlen;
	if (klen != TRACE_KEY_LEN || memcmp(k, qid, QID_LEN) != 0)
		return 1;
	if ((ret = c->del(c, 0)) != 0) {
		log_err("trace: deleting %s: %s", qid, db_strerror(ret));
		return -1;
	}
	return 0;
}

int
trace_sweep(uint64_t now_us)
{
	struct sweep_ctx	 sc;
	DB_TXN			*txn;
	uint64_t		 ret_us, cutoff;
	size_t			 i, npurged = 0;
	int			 r;

	ret_us = qmgr.conf->trace_retention * 1000000ULL;
	if (ret_us < TRACE_MIN_AGE_US)
		ret_us = TRACE_MIN_AGE_US;
	cutoff = now_us > ret_us ? now_us - ret_us : 0;
	memset(&sc, 0, sizeof(sc));
	if ((sc.groups = reallocarray(NULL, TRACE_MAX_GROUPS,
	    sizeof(*sc.groups))) == NULL) {
		log_errno("trace: sweep");
		return 0;
	}
	r = spool_trace_walk(qmgr.spool, NULL, (const uint8_t *)trace_resume,
	    strlen(trace_resume), sweep_scan_cb, &sc);
	if (r < 0) {
		free(sc.groups);
		return 0;
	}
	if (spool_txn_begin(qmgr.spool, &txn) == -1) {
		free(sc.groups);
		return 0;
	}
	for (i = 0; i < sc.ngroups; i++) {
		struct trace_group *g = &sc.groups[i];

		/* kept while queued, and trace_retention after its last event */
		if (g->last >= cutoff || sched_find(g->qid) != NULL)
			continue;
		if (spool_trace_walk(qmgr.spool, txn, (const uint8_t *)g->qid,
		    QID_LEN, sweep_del_cb, g->qid) < 0) {
			spool_txn_abort(qmgr.spool, txn);
			qmgr_spool_failed("trace sweep");
			free(sc.groups);
			return 0;
		}
		npurged++;
	}
	if (spool_txn_commit(qmgr.spool, txn) == -1) {
		qmgr_spool_failed("trace sweep");
		free(sc.groups);
		return 0;
	}
	if (npurged > 0) {
		commit_dirty();
		log_debug("trace: %zu message traces older than %llus purged",
		    npurged, (unsigned long long)qmgr.conf->trace_retention);
	}
	/* the next sweep goes on after the last message looked at */
	if (sc.more && sc.ngroups > 0) {
		strlcpy(trace_resume, sc.groups[sc.ngroups - 1].qid,
		    sizeof(trace_resume));
		/* one past it: the id with a byte above any key suffix */
		if (strlen(trace_resume) == QID_LEN)
			trace_resume[QID_LEN - 1]++;
	} else
		trace_resume[0] = '\0';
	free(sc.groups);
	return sc.more;
}

static void
trace_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 again = { 0, TRACE_SWEEP_AGAIN_MS * 1000 };
	struct timeval	 later = { TRACE_SWEEP_SECS, 0 };

	(void)fd;
	(void)ev;
	(void)arg;
	if (qmgr.stopping)
		return;
	evtimer_add(trace_ev, trace_sweep(qmgr_now_us()) ? &again : &later);
}

void
trace_start(void)
{
	struct timeval	 later = { TRACE_SWEEP_SECS, 0 };

	if (trace_ev == NULL &&
	    (trace_ev = evtimer_new(qmgr.base, trace_timer_cb, NULL)) == NULL) {
		log_err("trace: cannot make the sweep timer");
		return;
	}
	evtimer_add(trace_ev, &later);
}

void
trace_shutdown(void)
{
	if (trace_ev != NULL) {
		event_free(trace_ev);
		trace_ev = NULL;
	}
}

int
trace_received(DB_TXN *txn, const char *qid, const struct qenv *e,
    const char *source)
{
	const char	*kv[14];
	char		 size[32], nrcpt[16];

	snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
	snprintf(nrcpt, sizeof(nrcpt), "%u", e->nrcpt);
	kv[0] = "source";	kv[1] = source;
	kv[2] = "client";	kv[3] = e->client;
	kv[4] = "helo";		kv[5] = e->helo;
	kv[6] = "from";		kv[7] = e->sender;
	kv[8] = "size";		kv[9] = size;
	kv[10] = "nrcpt";	kv[11] = nrcpt;
	kv[12] = "queue_id";	kv[13] = qid;
	return trace_now(txn, qid, "received", kv, 7);
}
