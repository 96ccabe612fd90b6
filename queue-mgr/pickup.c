/* Pickup: a file postern-sendmail dropped, handed over by the master as a descriptor, queued like any message. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "pickup.h"
#include "qmgr.h"

static void
answer(uint32_t id, uint32_t status, const char *text)
{
	struct buf b;

	buf_init(&b);
	if (qmgr.master != NULL && pack_u32(&b, status) == 0 &&
	    pack_str(&b, text) == 0)
		ipc_send_buf(qmgr.master, IPC_PICKUP_DONE, id, -1, &b);
	buf_free(&b);
}

void
pickup_import(struct ipc_msg *msg)
{
	struct pickup_env	 pe;
	struct unpack		 u;
	struct buf		 file, content;
	struct qenv		 e;
	struct qmsg		*m = NULL;
	DB_TXN			*txn;
	char			*user = NULL, qid[QID_LEN + 1], date[64];
	uint32_t		 uid, trusted, i;
	size_t			 off;
	time_t			 now = time(NULL);
	struct tm		 tm;

	buf_init(&file);
	buf_init(&content);
	memset(&e, 0, sizeof(e));
	memset(&pe, 0, sizeof(pe));
	unpack_init(&u, msg->data, msg->len);
	if (msg->fd == -1 || unpack_u32(&u, &uid) == -1 ||
	    unpack_str(&u, &user, 64) == -1 || unpack_u32(&u, &trusted) == -1 ||
	    unpack_done(&u) == -1 || trusted > 1) {
		log_err("master: malformed PICKUP, ignored");
		goto out;
	}
	if (qmgr.stopping) {
		answer(msg->id, PICKUP_LATER, "queue shutting down");
		goto out;
	}
	/* the whole file, bounded: it comes from any local user */
	if (buf_read_fd(&file, msg->fd, qmgr.max_data + PICKUP_MAX_HEADER) == -1) {
		answer(msg->id, errno == EFBIG ? PICKUP_BAD : PICKUP_LATER,
		    errno == EFBIG ? "larger than the queue takes" : strerror(errno));
		goto out;
	}
	if (pickup_decode(file.p, file.len, &pe, &off) == -1) {
		answer(msg->id, PICKUP_BAD, "not a pickup file (malformed envelope)");
		goto out;
	}
	qid_new(qid);
	/*
	 * Only root and submit_trusted_group (the master looked) choose the
	 * sender; for anyone else it is their login, whatever the file says.
	 */
	if (trusted)
		e.sender = strdup(pe.sender);
	else if (asprintf(&e.sender, "%s@%s", user, qmgr.conf->hostname) == -1)
		e.sender = NULL;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (e.sender == NULL ||
	    buf_appendf(&content, "Received: by %s (postern, from userid %u)\r\n"
	    "\tid %s; %s\r\n", qmgr.conf->hostname, uid, qid, date) == -1 ||
	    buf_append(&content, file.p + off, file.len - off) == -1 ||
	    (e.client = strdup("local")) == NULL ||
	    (e.helo = strdup(user)) == NULL || (e.envid = strdup("")) == NULL ||
	    (e.rcpts = calloc(pe.nrcpt, sizeof(*e.rcpts))) == NULL) {
		answer(msg->id, PICKUP_LATER, "out of memory");
		goto out;
	}
	e.nrcpt = pe.nrcpt;
	for (i = 0; i < pe.nrcpt; i++) {
		if ((e.rcpts[i].addr = strdup(pe.rcpt[i])) == NULL ||
		    (e.rcpts[i].last_reply = strdup("")) == NULL ||
		    (e.rcpts[i].last_relay = strdup("")) == NULL ||
		    (e.rcpts[i].orcpt = strdup("")) == NULL) {
			answer(msg->id, PICKUP_LATER, "out of memory");
			goto out;
		}
	}
	e.arrival = (uint64_t)now;
	e.queued_us = (uint64_t)now * 1000000;
	e.size = content.len;
	if ((m = sched_msg_new()) == NULL) {
		answer(msg->id, PICKUP_LATER, "out of memory");
		goto out;
	}
	if (spool_txn_begin(qmgr.spool, &txn) == -1)
		goto fail;
	if (spool_put_envelope(qmgr.spool, txn, qid, &e, 1) == -1 ||
	    spool_put_content(qmgr.spool, txn, qid, content.p, content.len) == -1 ||
	    trace_received(txn, qid, &e, "local") == -1) {
		spool_txn_abort(qmgr.spool, txn);
		goto fail;
	}
	if (spool_txn_commit(qmgr.spool, txn) == -1)
		goto fail;
	log_info("%s: pickup from uid %u (%s)", qid, uid, user);
	strlcpy(m->qid, qid, sizeof(m->qid));
	m->env = e;
	memset(&e, 0, sizeof(e));
	/* the master removes the file only after the flush: see commit.c */
	commit_enqueue_pickup(m, msg->id);
	m = NULL;
	goto out;
fail:
	answer(msg->id, PICKUP_LATER, qmgr_write_error_reply());
	qmgr_spool_failed(qid);
out:
	if (m != NULL)
		sched_msg_free(m);
	record_env_free(&e);
	pickup_env_free(&pe);
	buf_free(&file);
	buf_free(&content);
	free(user);
}
