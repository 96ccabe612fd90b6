/* Group commit: many NOSYNC commits made durable by one log flush before any is acknowledged. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "pack.h"
#include "qmgr.h"

/*
 * Invariant: IPC_MSG_COMMITTED for a message is sent only after a
 * log_flush that began after that message's commit returned. The flush
 * writes the log in order, so the content and envelope records (which
 * precede the commit record of their own txn) are on disk with it.
 */

struct commit_waiter {
	TAILQ_ENTRY(commit_waiter)	 entry;
	struct qmsg			*m;
	uint32_t			 smtpd_gen;
	uint32_t			 reqid;
	int				 pickup;	/* the master asked, not smtpd */
};

static TAILQ_HEAD(, commit_waiter) commit_waiters =
    TAILQ_HEAD_INITIALIZER(commit_waiters);
static struct event	*commit_ev, *commit_check_ev;
static int		 commit_pending;	/* NOSYNC commits not yet flushed */
static uint64_t		 commit_nflush, commit_nmsgs;
static uint64_t		 commit_nwait;		/* waiters in commit_waiters */
static uint64_t		 commit_last_batch;	/* waiters in the last flush */

static void
commit_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	commit_flush();
}

/*
 * Runs once the input that was ready has been handled (a 0 s timer fires
 * after the I/O events of its loop turn). When as many sessions wait as
 * the last flush served, the crowd is back: waiting longer would only add
 * latency, so flush now. Otherwise commit_wait bounds the wait. A single
 * session thus never waits; 20 sessions in step share one flush.
 */
static void
commit_check_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (commit_pending && commit_nwait > 0 && commit_nwait >= commit_last_batch)
		commit_flush();
}

static void
commit_schedule(void)
{
	struct timeval	 tv;
	uint64_t	 ms = qmgr.conf->commit_wait;

	commit_pending = 1;
	if (ms == 0 || qmgr.base == NULL) {
		commit_flush();
		return;
	}
	if (commit_ev == NULL &&
	    (commit_ev = evtimer_new(qmgr.base, commit_timer_cb, NULL)) == NULL) {
		log_err("commit: cannot make a timer; flushing at once");
		commit_flush();
		return;
	}
	if (commit_nwait > 0 && (commit_check_ev != NULL || (commit_check_ev =
	    evtimer_new(qmgr.base, commit_check_cb, NULL)) != NULL) &&
	    !evtimer_pending(commit_check_ev, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		evtimer_add(commit_check_ev, &tv);
	}
	/* the first commit of a batch starts the clock; later ones ride along */
	if (evtimer_pending(commit_ev, NULL))
		return;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(commit_ev, &tv);
}

/*
 * Tells whoever asked: smtpd (COMMITTED, or TEMPFAIL with reply), or the
 * master for a pickup file (PICKUP_DONE: OK, or LATER with reply).
 */
static void
waiter_reply(const struct commit_waiter *w, int durable, const char *reply)
{
	struct buf b;

	buf_init(&b);
	if (w->pickup) {
		if (qmgr.master != NULL && pack_u32(&b, durable ? PICKUP_OK :
		    PICKUP_LATER) == 0 && pack_str(&b, durable ? w->m->qid :
		    reply) == 0)
			ipc_send_buf(qmgr.master, IPC_PICKUP_DONE, w->reqid, -1, &b);
	} else if (qmgr.smtpd != NULL && qmgr.smtpd_gen == w->smtpd_gen &&
	    pack_str(&b, durable ? w->m->qid : reply) == 0)
		ipc_send_buf(qmgr.smtpd, durable ? IPC_MSG_COMMITTED :
		    IPC_MSG_TEMPFAIL, w->reqid, -1, &b);
	buf_free(&b);
}

static void
enqueue(struct qmsg *m, uint32_t smtpd_gen, uint32_t reqid, int pickup)
{
	struct commit_waiter	*w, tmp;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		/* cannot wait for it: make it durable now instead */
		log_errno("commit: waiter");
		tmp.m = m;
		tmp.smtpd_gen = smtpd_gen;
		tmp.reqid = reqid;
		tmp.pickup = pickup;
		if (spool_flush(qmgr.spool) == 0)
			waiter_reply(&tmp, 1, NULL);
		else
			qmgr_spool_failed(m->qid);
		sched_add(m);	/* it is in the spool either way; deliver it */
		return;
	}
	w->m = m;
	w->smtpd_gen = smtpd_gen;
	w->reqid = reqid;
	w->pickup = pickup;
	TAILQ_INSERT_TAIL(&commit_waiters, w, entry);
	commit_nwait++;
	commit_schedule();
}

void
commit_enqueue(struct qmsg *m, uint32_t smtpd_gen, uint32_t reqid)
{
	enqueue(m, smtpd_gen, reqid, 0);
}

void
commit_enqueue_pickup(struct qmsg *m, uint32_t reqid)
{
	enqueue(m, 0, reqid, 1);
}

void
commit_dirty(void)
{
	if (!commit_pending)
		commit_schedule();
}

/* The flush failed: the messages may not be on disk, so they are taken
 * back and smtpd's client is told to try again. */
static void
commit_take_back(struct commit_waiter *w, const char *reply)
{
	DB_TXN		*txn;
	const char	*kv[2] = { "reason", "not acknowledged: the log flush "
			    "failed" };
	int		 gone = 0;

	if (spool_txn_begin(qmgr.spool, &txn) == 0) {
		/* a failed commit frees the txn handle too: no abort then */
		if (spool_delete(qmgr.spool, txn, w->m->qid) == 0 &&
		    trace_now(txn, w->m->qid, "removed", kv, 1) == 0)
			gone = spool_txn_commit(qmgr.spool, txn) == 0;
		else
			spool_txn_abort(qmgr.spool, txn);
	}
	waiter_reply(w, 0, reply);
	log_err("%s: not acknowledged: the log flush failed", w->m->qid);
	if (gone) {
		sched_msg_free(w->m);
		return;
	}
	/*
	 * It could not be taken back (the disk is full for that too): its
	 * commit waits in the log buffer and reaches the disk with a later
	 * flush, so it is delivered like any other. The client, told 4xx,
	 * may send it again: a duplicate, never a loss.
	 */
	log_warn("%s: kept in the queue; the client may send it again", w->m->qid);
	sched_add(w->m);
}

void
commit_flush(void)
{
	TAILQ_HEAD(, commit_waiter)	 batch = TAILQ_HEAD_INITIALIZER(batch);
	struct commit_waiter		*w;
	uint64_t			 n = 0;
	const char			*reply;

	if (commit_ev != NULL)
		evtimer_del(commit_ev);
	if (commit_check_ev != NULL)
		evtimer_del(commit_check_ev);
	if (!commit_pending)
		return;
	commit_pending = 0;
	/* the batch is fixed before the flush: later commits wait for the next */
	TAILQ_CONCAT(&batch, &commit_waiters, entry);
	if (commit_nwait > 0)
		commit_last_batch = commit_nwait;
	commit_nwait = 0;
	if (spool_flush(qmgr.spool) == -1) {
		reply = qmgr_write_error_reply();
		while ((w = TAILQ_FIRST(&batch)) != NULL) {
			TAILQ_REMOVE(&batch, w, entry);
			commit_take_back(w, reply);
			free(w);
		}
		qmgr_spool_failed("log flush");
		return;
	}
	commit_nflush++;
	while ((w = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, w, entry);
		n++;
		/* durable now: only after this may smtpd say 250, or the
		 * master remove the pickup file */
		waiter_reply(w, 1, NULL);
		log_info("%s: from=<%s>, size=%" PRIu64 ", nrcpt=%u (queue active)",
		    w->m->qid, w->m->env.sender, w->m->env.size, w->m->env.nrcpt);
		sched_add(w->m);
		free(w);
	}
	commit_nmsgs += n;
	if (n > 0)
		log_debug("commit: %" PRIu64 " messages in one flush "
		    "(%" PRIu64 " flushes, %" PRIu64 " messages so far)",
		    n, commit_nflush, commit_nmsgs);
}

void
commit_shutdown(void)
{
	commit_pending = 1;	/* flush whatever the log buffer holds */
	commit_flush();
	if (commit_ev != NULL) {
		event_free(commit_ev);
		commit_ev = NULL;
	}
	if (commit_check_ev != NULL) {
		event_free(commit_check_ev);
		commit_check_ev = NULL;
	}
}
