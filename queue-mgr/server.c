/* queue-mgr's event loop and its channels: master, smtpd transactions, deliver. */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "daemon.h"
#include "log.h"
#include "pack.h"
#include "qmgr.h"

/* How often the log is checkpointed (and old log files removed). */
#define QMGR_CHECKPOINT_SECS	60
/* Transactions one smtpd may have open, and bytes all of them may hold. */
#define QMGR_MAX_TX		4096
#define QMGR_MAX_BUFFERED	(1024ULL * 1024 * 1024)
/* At SIGTERM, how long queued replies may take to reach smtpd. */
#define QMGR_STOP_DRAIN_MS	2000
/* An arrival time this far from our clock is smtpd's mistake: ours is used. */
#define QMGR_ARRIVAL_SKEW	86400

struct qmgr qmgr;

struct qtx {
	RB_ENTRY(qtx)	 entry;
	uint32_t	 reqid;
	char		 qid[QID_SIZE];
	struct qenv	 env;
	struct buf	 data;
	int		 overflow;	/* beyond max_data or memory: fails at END */
};

static int
qtx_cmp(struct qtx *a, struct qtx *b)
{
	return a->reqid < b->reqid ? -1 : a->reqid > b->reqid;
}

RB_HEAD(qtxs, qtx);
QMGR_RB_GENERATE_STATIC(qtxs, qtx, entry, qtx_cmp)

static struct qtxs	 qmgr_txs = RB_INITIALIZER(&qmgr_txs);
static size_t		 qmgr_ntx;
static uint64_t		 qmgr_buffered;
static struct event	*qmgr_ckpt_ev, *qmgr_stop_ev, *qmgr_sigterm_ev,
			*qmgr_sigint_ev;
static uint64_t		 qmgr_stop_deadline;

uint64_t
qmgr_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const char *
qmgr_write_error_reply(void)
{
	return spool_nospace(qmgr.spool) ? QMGR_REPLY_NOSPACE :
	    QMGR_REPLY_WRITE_ERROR;
}

void
qmgr_spool_failed(const char *what)
{
	log_err("%s: SPOOL WRITE FAILED (%s): new mail gets a temporary "
	    "failure, queued mail is untouched", what,
	    spool_nospace(qmgr.spool) ? "disk full" : "database error");
	if (spool_panicked(qmgr.spool)) {
		/* nothing more can be done in this process: the master
		 * restarts us and DB_RECOVER repairs the environment */
		log_err("spool: the environment needs recovery; exiting");
		exit(1);
	}
}

static uint64_t
qmgr_max_data(const struct config *c)
{
	uint64_t	 max = 0;
	size_t		 i;

	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].max_message_size > max)
			max = c->listeners[i].max_message_size;
	if (max == 0)
		max = 35ULL * 1024 * 1024;
	if (max > RECORD_MAX_SIZE - 65536)
		max = RECORD_MAX_SIZE - 65536;
	/* room for the Received header smtpd adds */
	return max + 65536;
}

static void
send_str(struct ipc_chan *c, uint32_t type, uint32_t id, const char *s)
{
	struct buf	 b;

	buf_init(&b);
	if (pack_str(&b, s) == -1 || ipc_send_buf(c, type, id, -1, &b) == -1)
		log_err("cannot send %s", ipc_type_name(type));
	buf_free(&b);
}

static void
qtx_free(struct qtx *t)
{
	RB_REMOVE(qtxs, &qmgr_txs, t);
	qmgr_ntx--;
	qmgr_buffered -= t->data.len;
	record_env_free(&t->env);
	buf_free(&t->data);
	free(t);
}

static void
qtx_free_all(void)
{
	struct qtx	*t, *next;

	RB_FOREACH_SAFE(t, qtxs, &qmgr_txs, next)
		qtx_free(t);
}

static struct qtx *
qtx_find(uint32_t reqid)
{
	struct qtx	 key;

	key.reqid = reqid;
	return RB_FIND(qtxs, &qmgr_txs, &key);
}

static void
smtpd_begin(struct ipc_msg *msg)
{
	struct unpack	 u;
	struct qtx	*t;
	struct qenv	*e;
	uint64_t	 now = (uint64_t)time(NULL);
	uint32_t	 i;

	if (qmgr.stopping) {
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id,
		    "451 4.3.2 Queue shutting down, try again later");
		return;
	}
	if ((t = qtx_find(msg->id)) != NULL) {
		log_err("smtpd: transaction %u begun twice; dropping it", msg->id);
		qtx_free(t);
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, QMGR_REPLY_WRITE_ERROR);
		return;
	}
	if (qmgr_ntx >= QMGR_MAX_TX) {
		log_warn("smtpd: %zu transactions open; refusing another", qmgr_ntx);
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id,
		    "451 4.3.2 Queue busy, try again later");
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_errno("smtpd: transaction");
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, QMGR_REPLY_WRITE_ERROR);
		return;
	}
	t->reqid = msg->id;
	buf_init(&t->data);
	e = &t->env;
	unpack_init(&u, msg->data, msg->len);
	unpack_u64(&u, &e->arrival);
	unpack_str(&u, &e->client, RECORD_MAX_STR);
	unpack_str(&u, &e->helo, RECORD_MAX_STR);
	unpack_str(&u, &e->sender, RECORD_MAX_ADDR);
	unpack_u32(&u, &e->nrcpt);
	if (u.err || e->nrcpt == 0 || e->nrcpt > RECORD_MAX_RCPT ||
	    e->nrcpt > (msg->len - u.off) / 4 ||
	    (e->rcpts = calloc(e->nrcpt, sizeof(*e->rcpts))) == NULL)
		goto bad;
	for (i = 0; i < e->nrcpt; i++) {
		if (unpack_str(&u, &e->rcpts[i].addr, RECORD_MAX_ADDR) == -1 ||
		    e->rcpts[i].addr[0] == '\0' ||
		    (e->rcpts[i].last_reply = strdup("")) == NULL ||
		    (e->rcpts[i].last_relay = strdup("")) == NULL)
			goto bad;
	}
	/* the optional DSN extension (lib/ipc.h); absent = defaults */
	if (u.off < msg->len) {
		uint32_t n2;

		unpack_u32(&u, &e->ret);
		unpack_str(&u, &e->envid, RECORD_MAX_ENVID);
		unpack_u32(&u, &e->body);
		unpack_u32(&u, &e->smtputf8);
		unpack_u32(&u, &n2);
		if (u.err || n2 != e->nrcpt ||
		    !record_dsn_valid(e->ret, e->body, e->smtputf8))
			goto bad;
		for (i = 0; i < e->nrcpt; i++) {
			unpack_u32(&u, &e->rcpts[i].notify);
			unpack_str(&u, &e->rcpts[i].orcpt, RECORD_MAX_ADDR);
			if (u.err || !record_notify_valid(e->rcpts[i].notify))
				goto bad;
		}
	} else if ((e->envid = strdup("")) == NULL)
		goto bad;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].orcpt == NULL &&
		    (e->rcpts[i].orcpt = strdup("")) == NULL)
			goto bad;
	if (unpack_done(&u) == -1)
		goto bad;
	if (e->arrival + QMGR_ARRIVAL_SKEW < now || e->arrival > now + QMGR_ARRIVAL_SKEW)
		e->arrival = now;
	e->queued_us = qmgr_now_us();
	qid_new(t->qid);
	RB_INSERT(qtxs, &qmgr_txs, t);
	qmgr_ntx++;
	send_str(qmgr.smtpd, IPC_MSG_BEGIN_OK, msg->id, t->qid);
	return;
bad:
	log_err("smtpd: malformed MSG_BEGIN for transaction %u", msg->id);
	record_env_free(e);
	free(t);
	send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, QMGR_REPLY_WRITE_ERROR);
}

static void
smtpd_data(struct ipc_msg *msg)
{
	struct qtx	*t;

	if ((t = qtx_find(msg->id)) == NULL) {
		log_debug("smtpd: data for unknown transaction %u", msg->id);
		return;
	}
	if (t->overflow)
		return;
	if (msg->len > qmgr.max_data - t->data.len ||
	    qmgr_buffered + msg->len > QMGR_MAX_BUFFERED) {
		log_warn("%s: more than %" PRIu64 " bytes; the transaction "
		    "will fail", t->qid, qmgr.max_data);
		t->overflow = 1;
	} else if (buf_append(&t->data, msg->data, msg->len) == -1) {
		log_errno("%s: buffering content", t->qid);
		t->overflow = 1;
	} else {
		qmgr_buffered += msg->len;
		return;
	}
	qmgr_buffered -= t->data.len;
	buf_free(&t->data);
	buf_init(&t->data);
}

/* Envelope and content in one txn; durable at the next group flush. */
static void
smtpd_end(struct ipc_msg *msg)
{
	struct qtx	*t;
	struct qmsg	*m;
	DB_TXN		*txn;

	if ((t = qtx_find(msg->id)) == NULL) {
		log_err("smtpd: end of unknown transaction %u", msg->id);
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, QMGR_REPLY_WRITE_ERROR);
		return;
	}
	if (t->overflow || qmgr.stopping) {
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, t->overflow ?
		    "451 4.3.0 Message too large for the queue" :
		    "451 4.3.2 Queue shutting down, try again later");
		qtx_free(t);
		return;
	}
	t->env.size = t->data.len;
	if ((m = sched_msg_new()) == NULL) {
		log_errno("%s: message", t->qid);
		send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, QMGR_REPLY_WRITE_ERROR);
		qtx_free(t);
		return;
	}
	if (spool_txn_begin(qmgr.spool, &txn) == -1)
		goto fail;
	if (spool_put_envelope(qmgr.spool, txn, t->qid, &t->env, 1) == -1 ||
	    spool_put_content(qmgr.spool, txn, t->qid, t->data.p, t->data.len) == -1 ||
	    trace_received(txn, t->qid, &t->env, "smtp") == -1) {
		spool_txn_abort(qmgr.spool, txn);
		goto fail;
	}
	if (spool_txn_commit(qmgr.spool, txn) == -1)
		goto fail;
	strlcpy(m->qid, t->qid, sizeof(m->qid));
	m->env = t->env;
	memset(&t->env, 0, sizeof(t->env));
	commit_enqueue(m, qmgr.smtpd_gen, msg->id);
	qtx_free(t);
	return;
fail:
	send_str(qmgr.smtpd, IPC_MSG_TEMPFAIL, msg->id, qmgr_write_error_reply());
	sched_msg_free(m);
	qmgr_spool_failed(t->qid);
	qtx_free(t);
}

/* ETRN: the matching domain's waiting mail is tried now. */
static void
smtpd_etrn(struct ipc_msg *msg)
{
	struct unpack	 u;
	struct buf	 b;
	char		*domain = NULL;
	int		 n;

	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &domain, RECORD_MAX_ADDR) == -1 ||
	    unpack_done(&u) == -1 || domain[0] == '\0') {
		log_err("smtpd: malformed ETRN %u, ignored", msg->id);
		free(domain);
		return;
	}
	n = sched_etrn(domain);
	log_info("etrn: %s: %d message%s scheduled", domain, n, n == 1 ? "" : "s");
	buf_init(&b);
	if (pack_u32(&b, (uint32_t)n) == -1 ||
	    ipc_send_buf(qmgr.smtpd, IPC_ETRN_REPLY, msg->id, -1, &b) == -1)
		log_err("cannot send ETRN_REPLY");
	buf_free(&b);
	free(domain);
}

static void	smtpd_stats(struct ipc_msg *);

static void
smtpd_msg_cb(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	struct qtx	*t;

	(void)c;
	(void)arg;
	switch (msg->type) {
	case IPC_MSG_BEGIN:
		smtpd_begin(msg);
		break;
	case IPC_MSG_DATA:
		smtpd_data(msg);
		break;
	case IPC_MSG_END:
		smtpd_end(msg);
		break;
	case IPC_MSG_ABORT:
		if ((t = qtx_find(msg->id)) != NULL)
			qtx_free(t);
		break;
	case IPC_ETRN:
		smtpd_etrn(msg);
		break;
	case IPC_SMTPD_STATS:
		smtpd_stats(msg);
		break;
	default:
		log_warn("smtpd: unexpected %s, ignored", ipc_type_name(msg->type));
		break;
	}
}

/* Tells smtpd whether to take new mail. */
static void
smtpd_send_pause(void)
{
	struct buf	 b;

	buf_init(&b);
	if (pack_u32(&b, qmgr.incoming_paused ? 1 : 0) == -1 ||
	    ipc_send_buf(qmgr.smtpd, IPC_SMTPD_PAUSE, 0, -1, &b) == -1)
		log_err("cannot send SMTPD_PAUSE");
	buf_free(&b);
}

int
qmgr_pause_incoming(int on)
{
	on = on != 0;
	if (qmgr.incoming_paused == on)
		return 1;
	qmgr.incoming_paused = on;
	log_info("incoming mail %s by the admin%s", on ? "paused" : "resumed",
	    qmgr.smtpd == NULL ? " (smtpd is told when it is back)" : "");
	if (qmgr.smtpd != NULL)
		smtpd_send_pause();
	return 0;
}

int
qmgr_send_master(uint32_t type, const struct buf *b)
{
	if (qmgr.master == NULL)
		return -1;
	return ipc_send(qmgr.master, type, 0, -1, b ? b->p : NULL,
	    b ? b->len : 0);
}

int
qmgr_smtpd_test_session(int fd, const struct buf *payload)
{
	if (qmgr.smtpd == NULL) {
		close(fd);
		return -1;
	}
	return ipc_send_buf(qmgr.smtpd, IPC_SMTPD_TEST_SESSION, 0, fd, payload);
}

static void
smtpd_drop(void)
{
	/* waiters keep their commit but no longer answer this channel */
	qmgr.smtpd_gen++;
	qtx_free_all();
	ipc_chan_free(qmgr.smtpd);
	qmgr.smtpd = NULL;
	memset(&qmgr.smtpd_stats, 0, sizeof(qmgr.smtpd_stats));
}

/* IPC_SMTPD_STATS: kept for posternctl stats. */
static void
smtpd_stats(struct ipc_msg *msg)
{
	struct unpack	 u;
	uint32_t	 open;
	uint64_t	 conns, refused;

	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &open) == -1 || unpack_u64(&u, &conns) == -1 ||
	    unpack_u64(&u, &refused) == -1 || unpack_done(&u) == -1) {
		log_warn("smtpd: malformed SMTPD_STATS, ignored");
		return;
	}
	qmgr.smtpd_stats.reported = 1;
	qmgr.smtpd_stats.sessions = open;
	qmgr.smtpd_stats.connections = conns;
	qmgr.smtpd_stats.refused = refused;
}

static void
smtpd_close_cb(struct ipc_chan *c, void *arg)
{
	(void)c;
	(void)arg;
	log_warn("smtpd channel closed; open transactions dropped");
	smtpd_drop();
}

static void
deliver_msg_cb(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	(void)c;
	(void)arg;
	if (msg->type == IPC_DELIVER_RESULT)
		sched_result(msg);
	else
		log_warn("deliver: unexpected %s, ignored", ipc_type_name(msg->type));
}

static void
deliver_drop(void)
{
	ipc_chan_free(qmgr.deliver);
	qmgr.deliver = NULL;
	sched_deliver_lost();
}

static void
deliver_close_cb(struct ipc_chan *c, void *arg)
{
	(void)c;
	(void)arg;
	log_warn("deliver channel closed");
	deliver_drop();
}

static void
master_peer(struct ipc_msg *msg)
{
	struct unpack	 u;
	uint32_t	 kind;

	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &kind) == -1 || unpack_done(&u) == -1 || msg->fd == -1) {
		log_err("master: malformed PEER, ignored");
		return;
	}
	switch (kind) {
	case PROC_SMTPD:
		if (qmgr.smtpd != NULL)
			smtpd_drop();
		if ((qmgr.smtpd = ipc_chan_new(qmgr.base, msg->fd, "smtpd",
		    smtpd_msg_cb, smtpd_close_cb, NULL)) == NULL) {
			log_errno("smtpd channel");
			return;
		}
		msg->fd = -1;
		qmgr.smtpd_gen++;
		log_debug("smtpd channel up");
		/* always: a restarted smtpd starts taking mail, and one that
		 * outlived a queue-mgr restart may still be paused by the
		 * queue-mgr that died (the pause does not survive us) */
		smtpd_send_pause();
		break;
	case PROC_DELIVER:
		if (qmgr.deliver != NULL)
			deliver_drop();
		if ((qmgr.deliver = ipc_chan_new(qmgr.base, msg->fd, "deliver",
		    deliver_msg_cb, deliver_close_cb, NULL)) == NULL) {
			log_errno("deliver channel");
			return;
		}
		msg->fd = -1;
		log_debug("deliver channel up");
		sched_run();
		break;
	default:
		log_warn("master: PEER of kind %u is not ours, ignored", kind);
		break;
	}
}

static void
master_config(struct ipc_msg *msg)
{
	struct unpack	 u;
	struct config	*c;
	struct buf	 err;
	char		*path = NULL;
	const void	*text;
	size_t		 len;

	/* str path, then the text as bytes (lib/ipc.h) */
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &path, 4096) == -1 ||
	    unpack_bytes(&u, &text, &len, IPC_MAX_PAYLOAD) == -1 ||
	    unpack_done(&u) == -1) {
		log_err("master: malformed CONFIG, ignored");
		control_reload_done(0, "queue-mgr got a malformed config");
		free(path);
		return;
	}
	buf_init(&err);
	if ((c = config_parse_buf(path, text, len, &err)) == NULL) {
		log_err("reload: %s; keeping the old config",
		    buf_cstr(&err) ? err.p : "error");
		control_reload_done(0, "queue-mgr refused the new config (see "
		    "the mail log)");
		buf_free(&err);
		free(path);
		return;
	}
	buf_free(&err);
	free(path);
	if (sched_configure(c) == -1) {
		log_err("reload: bad retry policy; keeping the old config");
		control_reload_done(0, "queue-mgr refused the new config: bad "
		    "retry policy (see the mail log)");
		config_free(c);
		return;
	}
	if (strcmp(c->spool, qmgr.conf->spool) != 0)
		log_warn("reload: spool changed; takes effect at restart");
	if (strcmp(c->admin_group, qmgr.conf->admin_group) != 0)
		log_warn("reload: admin_group changed; takes effect at restart");
	if (strcmp(c->ctl_read_group, qmgr.conf->ctl_read_group) != 0)
		log_warn("reload: ctl_read_group changed; takes effect at "
		    "restart");
	config_free(qmgr.conf);
	qmgr.conf = c;
	qmgr.max_data = qmgr_max_data(c);
	log_set_level((enum log_level)c->log_level);
	log_info("reload: config applied");
	control_reload_done(1, "reload done: new config applied");
	sched_run();
}

static void
master_msg_cb(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	(void)c;
	(void)arg;
	switch (msg->type) {
	case IPC_PEER:
		master_peer(msg);
		break;
	case IPC_CONTROL_LISTENER:
		if (msg->fd == -1 || msg->len != 0) {
			log_err("master: malformed CONTROL_LISTENER, ignored");
			break;
		}
		control_listen(msg->fd);
		msg->fd = -1;
		break;
	case IPC_CONFIG:
		master_config(msg);
		break;
	case IPC_START:
		log_info("queue-mgr started");
		sched_run();
		break;
	case IPC_PICKUP:
		pickup_import(msg);
		break;
	case IPC_LOG_LEVEL: {
		struct unpack	 u;
		uint32_t	 lvl;

		/* the master echoes what posternctl log-level set */
		unpack_init(&u, msg->data, msg->len);
		if (unpack_u32(&u, &lvl) == -1 || unpack_done(&u) == -1 ||
		    lvl > LOG_LVL_DEBUG) {
			log_err("master: malformed LOG_LEVEL, ignored");
			break;
		}
		log_set_level((enum log_level)lvl);
		break;
	}
	default:
		log_warn("master: unexpected %s, ignored", ipc_type_name(msg->type));
		break;
	}
}

static void
master_close_cb(struct ipc_chan *c, void *arg)
{
	(void)c;
	(void)arg;
	ipc_chan_free(qmgr.master);
	qmgr.master = NULL;
	log_info("master went away; stopping");
	qmgr_stop();
}

static void
ckpt_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (spool_checkpoint(qmgr.spool) == -1)
		qmgr_spool_failed("checkpoint");
	sched_maintain();
}

/* Waits (bounded) until the last COMMITTED replies are written. */
static void
stop_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv = { 0, 10000 };

	(void)fd;
	(void)ev;
	(void)arg;
	if ((qmgr.smtpd == NULL || ipc_pending(qmgr.smtpd) == 0) ||
	    qmgr_now_us() > qmgr_stop_deadline) {
		event_base_loopbreak(qmgr.base);
		return;
	}
	evtimer_add(qmgr_stop_ev, &tv);
}

void
qmgr_stop(void)
{
	if (qmgr.stopping)
		return;
	qmgr.stopping = 1;
	/* acknowledge what is committed before anything goes down */
	commit_shutdown();
	qmgr_stop_deadline = qmgr_now_us() + QMGR_STOP_DRAIN_MS * 1000;
	if (qmgr_stop_ev == NULL &&
	    (qmgr_stop_ev = evtimer_new(qmgr.base, stop_cb, NULL)) == NULL) {
		event_base_loopbreak(qmgr.base);
		return;
	}
	stop_cb(-1, 0, NULL);
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	log_info("signal %d: stopping", (int)sig);
	qmgr_stop();
}

int
qmgr_main(struct config *conf)
{
	struct timeval	 ckpt = { QMGR_CHECKPOINT_SECS, 0 };
	struct event_config *evcfg;

	umask(077);
	qmgr.conf = conf;
	qmgr.max_data = qmgr_max_data(conf);
	if (sched_configure(conf) == -1)
		log_fatal("bad retry policy in %s", conf->path);
	/*
	 * Precise timers: libevent otherwise reads CLOCK_MONOTONIC_COARSE,
	 * which advances by whole ticks (and, in some VMs, not at all while
	 * idle), so commit_wait's 2 ms could become a long, unbounded wait.
	 */
	if ((evcfg = event_config_new()) == NULL ||
	    event_config_set_flag(evcfg, EVENT_BASE_FLAG_PRECISE_TIMER) == -1 ||
	    (qmgr.base = event_base_new_with_config(evcfg)) == NULL)
		log_fatal("event_base_new");
	event_config_free(evcfg);
	/*
	 * After chroot the environment's home is the root, the current
	 * directory. Named "." because Berkeley DB strips a trailing slash
	 * and would make "/" the empty path.
	 */
	if ((qmgr.spool = spool_open(".")) == NULL)
		log_fatal("cannot open the spool");
	if (sched_load() == -1)
		log_fatal("cannot read the spool");
	sched_watch_start();
	if ((qmgr.master = ipc_chan_new(qmgr.base, DAEMON_MASTER_FD, "master",
	    master_msg_cb, master_close_cb, NULL)) == NULL)
		log_fatal("master channel");
	qmgr_sigterm_ev = evsignal_new(qmgr.base, SIGTERM, signal_cb, NULL);
	qmgr_sigint_ev = evsignal_new(qmgr.base, SIGINT, signal_cb, NULL);
	qmgr_ckpt_ev = event_new(qmgr.base, -1, EV_PERSIST, ckpt_cb, NULL);
	if (qmgr_sigterm_ev == NULL || qmgr_sigint_ev == NULL ||
	    qmgr_ckpt_ev == NULL || evsignal_add(qmgr_sigterm_ev, NULL) == -1 ||
	    evsignal_add(qmgr_sigint_ev, NULL) == -1 ||
	    evtimer_add(qmgr_ckpt_ev, &ckpt) == -1)
		log_fatal("events");
	if (ipc_send(qmgr.master, IPC_READY, 0, -1, NULL, 0) == -1)
		log_fatal("cannot tell the master we are ready");
	trace_start();

	event_base_dispatch(qmgr.base);

	commit_shutdown();
	control_shutdown();
	trace_shutdown();
	if (qmgr.smtpd != NULL)
		smtpd_drop();
	if (qmgr.deliver != NULL) {
		ipc_chan_free(qmgr.deliver);
		qmgr.deliver = NULL;
	}
	sched_shutdown();
	if (spool_checkpoint(qmgr.spool) == -1)
		log_err("spool: final checkpoint failed; recovery at next start");
	spool_close(qmgr.spool);
	qmgr.spool = NULL;
	ipc_chan_free(qmgr.master);
	event_free(qmgr_sigterm_ev);
	event_free(qmgr_sigint_ev);
	event_free(qmgr_ckpt_ev);
	if (qmgr_stop_ev != NULL)
		event_free(qmgr_stop_ev);
	event_base_free(qmgr.base);
	log_info("queue-mgr stopped");
	return 0;
}
