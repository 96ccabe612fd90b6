/* Simple non-delivery notices ("bounces") to the sender; RFC 3464 DSNs come later. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "log.h"
#include "qmgr.h"

/* The original's header block quoted in a bounce is cut here. */
#define BOUNCE_MAX_HEADERS	(64 * 1024)
/* A diagnostic line stays well under the SMTP line limit. */
#define BOUNCE_MAX_LINE		900

struct hdr_reader {
	struct buf	*out;
	int		 done;
};

static int
hdr_cb(const void *p, size_t len, void *arg)
{
	struct hdr_reader	*h = arg;
	const char		*end;
	size_t			 before = h->out->len, room;

	room = BOUNCE_MAX_HEADERS - h->out->len;
	if (buf_append(h->out, p, len < room ? len : room) == -1)
		return -1;
	/* the empty line may straddle two chunks: look back 3 bytes */
	before = before > 3 ? before - 3 : 0;
	end = memmem(h->out->p + before, h->out->len - before, "\r\n\r\n", 4);
	if (end != NULL) {
		h->out->len = (size_t)(end - h->out->p) + 2;
		h->done = 1;
		return -1;
	}
	if (h->out->len >= BOUNCE_MAX_HEADERS) {
		h->done = 1;
		return -1;
	}
	return 0;
}

int
bounce_headers(const char *qid, const struct qenv *e, struct buf *out)
{
	struct hdr_reader	 h = { out, 0 };

	if (spool_read_content(qmgr.spool, qid, e->size, hdr_cb, &h) == -1 &&
	    !h.done)
		return -1;
	return 0;
}

/* Appends s with every bare CR or LF dropped and a CRLF at the end. */
static int
append_line(struct buf *out, const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i < max; i++)
		if (s[i] != '\r' && s[i] != '\n' && buf_appendc(out, s[i]) == -1)
			return -1;
	return buf_append(out, "\r\n", 2);
}

int
bounce_build(struct buf *out, const char *hostname, const char *bqid,
    const char *qid, const struct qenv *orig, const char *headers,
    size_t headerslen, time_t now)
{
	struct tm	 tm;
	char		 date[64];
	uint32_t	 i;
	size_t		 off;
	int		 r = 0;

	gmtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return -1;
	r |= buf_appendf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    hostname);
	r |= buf_appendf(out, "To: <%s>\r\n", orig->sender);
	r |= buf_appends(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	r |= buf_appendf(out, "Date: %s\r\n", date);
	r |= buf_appendf(out, "Message-ID: <%s@%s>\r\n", bqid, hostname);
	r |= buf_appends(out, "Auto-Submitted: auto-replied\r\n");
	r |= buf_appends(out, "MIME-Version: 1.0\r\n");
	r |= buf_appends(out, "Content-Type: text/plain; charset=utf-8\r\n");
	r |= buf_appends(out, "Content-Transfer-Encoding: 8bit\r\n\r\n");
	r |= buf_appendf(out, "This is the mail system at host %s.\r\n\r\n", hostname);
	r |= buf_appends(out, "Your message could not be delivered to one or more "
	    "recipients.\r\nThe mail system gave these reasons:\r\n\r\n");
	for (i = 0; i < orig->nrcpt; i++) {
		const struct qrcpt *q = &orig->rcpts[i];
		struct buf line;

		if (!q->notify)
			continue;
		buf_init(&line);
		r |= buf_appendf(&line, "<%s>: %s", q->addr,
		    q->last_reply[0] ? q->last_reply : "undeliverable");
		if (buf_cstr(&line) == NULL)
			r = -1;
		else
			r |= append_line(out, line.p, BOUNCE_MAX_LINE);
		buf_free(&line);
	}
	r |= buf_appendf(out, "\r\n--- Headers of the original message "
	    "(queue id %s) follow ---\r\n\r\n", qid);
	/* quoted as stored (CRLF lines); cut at the last whole line */
	if (headerslen > 0) {
		off = headerslen;
		while (off > 0 && !(off >= 2 && headers[off - 2] == '\r' &&
		    headers[off - 1] == '\n'))
			off--;
		r |= buf_append(out, headers, off);
	}
	return r ? -1 : 0;
}

int
bounce_create(DB_TXN *txn, const char *qid, const struct qenv *orig,
    const struct buf *headers, struct qmsg **out)
{
	struct qmsg	*b;
	struct buf	 text;
	uint32_t	 i;
	int		 any = 0;

	*out = NULL;
	for (i = 0; i < orig->nrcpt; i++)
		any |= orig->rcpts[i].notify;
	if (!any || orig->sender[0] == '\0')
		return 0;
	buf_init(&text);
	if ((b = sched_msg_new()) == NULL)
		goto oom;
	qid_new(b->qid);
	b->env.arrival = (uint64_t)time(NULL);
	b->env.queued_us = qmgr_now_us();
	if ((b->env.sender = strdup("")) == NULL ||
	    (b->env.client = strdup("localhost")) == NULL ||
	    (b->env.helo = strdup(qmgr.conf->hostname)) == NULL ||
	    (b->env.rcpts = calloc(1, sizeof(*b->env.rcpts))) == NULL)
		goto oom;
	b->env.nrcpt = 1;
	if ((b->env.rcpts[0].addr = strdup(orig->sender)) == NULL ||
	    (b->env.rcpts[0].last_reply = strdup("")) == NULL)
		goto oom;
	if (bounce_build(&text, qmgr.conf->hostname, b->qid, qid, orig,
	    headers->p, headers->len, (time_t)b->env.arrival) == -1)
		goto oom;
	b->env.size = text.len;
	if (spool_put_envelope(qmgr.spool, txn, b->qid, &b->env, 1) == -1 ||
	    spool_put_content(qmgr.spool, txn, b->qid, text.p, text.len) == -1) {
		buf_free(&text);
		sched_msg_free(b);
		return -1;
	}
	buf_free(&text);
	*out = b;
	return 0;
oom:
	log_errno("%s: building a bounce", qid);
	buf_free(&text);
	sched_msg_free(b);
	return -1;
}
