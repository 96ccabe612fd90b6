/* Delivery status notifications (RFC 3464 multipart/report) to the sender or the postmaster. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
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

static int
full_cb(const void *p, size_t len, void *arg)
{
	return buf_append(arg, p, len);
}

int
bounce_content(const char *qid, const struct qenv *e, struct buf *out)
{
	if (e->size > BOUNCE_MAX_FULL)
		return -1;
	return spool_read_content(qmgr.spool, qid, e->size, full_cb, out);
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

/* Appends s, printable ASCII only (anything else becomes '?'), cut at
 * max bytes, and a CRLF: no text from a peer can start a header or a part. */
static int
append_line(struct buf *out, const char *s, size_t max)
{
	size_t	 i;
	char	 c;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			c = c == '\t' ? ' ' : '?';
		if (buf_appendc(out, c) == -1)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

static int
append_field(struct buf *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "Name: value" with the value cleaned by append_line. */
static int
append_field(struct buf *out, const char *name, const char *fmt, ...)
{
	struct buf	 v;
	va_list		 ap;
	int		 r;

	buf_init(&v);
	va_start(ap, fmt);
	r = buf_vappendf(&v, fmt, ap);
	va_end(ap);
	if (r == 0 && buf_cstr(&v) == NULL)
		r = -1;
	if (r == 0)
		r = buf_appendf(out, "%s: ", name) == -1 ||
		    append_line(out, v.p, BOUNCE_MAX_LINE) == -1 ? -1 : 0;
	buf_free(&v);
	return r;
}

/* RFC 3461 xtext: '+', '=', controls and non-ASCII as "+XX". */
static int
append_xtext(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=') {
			if (buf_appendc(out, '+') == -1 ||
			    buf_appendc(out, hex[*p >> 4]) == -1 ||
			    buf_appendc(out, hex[*p & 15]) == -1)
				return -1;
		} else if (buf_appendc(out, (char)*p) == -1)
			return -1;
	}
	return 0;
}

static int
rfc822_date(time_t t, char *out, size_t outsz)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	return strftime(out, outsz, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0 ?
	    -1 : 0;
}

/* "mx.example.com[192.0.2.1]:25" -> "mx.example.com"; 0 when there is none. */
static int
remote_mta(const char *relay, char *out, size_t outsz)
{
	size_t	 n = strcspn(relay, "[:");

	if (relay[0] == '\0' || strcmp(relay, "none") == 0 || n == 0 ||
	    n >= outsz)
		return 0;
	memcpy(out, relay, n);
	out[n] = '\0';
	return 1;
}

static const char *
action_of(const struct qrcpt *q, int kind)
{
	switch (kind) {
	case REPORT_FAILED:
		return "failed";
	case REPORT_DELAYED:
		return "delayed";
	default:
		return (q->flags & QRCPT_F_RELAYED) ? "relayed" : "delivered";
	}
}

static int
has_8bit(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

int
bounce_build(struct buf *out, const char *hostname, const char *bqid,
    const char *to, const char *qid, const struct qenv *orig, int kind,
    const char *content, size_t contentlen, int full, time_t now)
{
	char		 date[64], adate[64], until[64], mta[RECORD_MAX_ADDR + 1];
	char		 dsn[16], boundary[QID_SIZE + 300];
	const char	*subject, *intro, *reply, *semi;
	uint64_t	 life = qmgr.conf != NULL ? qmgr.conf->max_queue_lifetime : 0;
	uint32_t	 i;
	size_t		 off;
	int		 r = 0, eight = has_8bit(content, contentlen);

	if (rfc822_date(now, date, sizeof(date)) == -1 ||
	    rfc822_date((time_t)orig->arrival, adate, sizeof(adate)) == -1 ||
	    rfc822_date((time_t)(orig->arrival + life), until, sizeof(until)) == -1)
		return -1;
	/* the queue id is random: no original line can be the boundary */
	snprintf(boundary, sizeof(boundary), "%s/%s", bqid, hostname);
	switch (kind) {
	case REPORT_FAILED:
		subject = "Undelivered Mail Returned to Sender";
		intro = "Your message could not be delivered to one or more "
		    "recipients.\r\nThe mail system gave these reasons:";
		break;
	case REPORT_DELAYED:
		subject = "Delayed Mail (still being retried)";
		intro = "Your message could not be delivered yet to one or more "
		    "recipients.\r\nIt will be tried again until the time shown "
		    "below; you need not send it again.";
		break;
	default:
		subject = "Successful Mail Delivery Report";
		intro = "Your message was delivered to the recipients below, as "
		    "you asked.\r\n(\"relayed\": handed to a system that does "
		    "not report on delivery.)";
		break;
	}
	r |= buf_appendf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    hostname);
	r |= buf_appendf(out, "To: <%s>\r\n", to);
	r |= buf_appendf(out, "Subject: %s\r\n", subject);
	r |= buf_appendf(out, "Date: %s\r\n", date);
	r |= buf_appendf(out, "Message-ID: <%s@%s>\r\n", bqid, hostname);
	r |= buf_appends(out, "Auto-Submitted: auto-replied\r\n");
	r |= buf_appends(out, "MIME-Version: 1.0\r\n");
	r |= buf_appendf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n", boundary);
	if (eight)
		r |= buf_appends(out, "Content-Transfer-Encoding: 8bit\r\n");
	r |= buf_appends(out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	/* 1: for people */
	r |= buf_appendf(out, "--%s\r\n", boundary);
	r |= buf_appends(out, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	r |= buf_appendf(out, "This is the mail system at host %s.\r\n\r\n%s\r\n\r\n",
	    hostname, intro);
	for (i = 0; i < orig->nrcpt; i++) {
		const struct qrcpt *q = &orig->rcpts[i];
		struct buf line;

		if (!(q->report & kind))
			continue;
		buf_init(&line);
		r |= buf_appendf(&line, "<%s>: %s", q->addr,
		    q->last_reply[0] ? q->last_reply : action_of(q, kind));
		if (buf_cstr(&line) == NULL)
			r = -1;
		else
			r |= append_line(out, line.p, BOUNCE_MAX_LINE);
		buf_free(&line);
	}
	if (kind == REPORT_DELAYED)
		r |= buf_appendf(out, "\r\nIt will be tried until %s.\r\n", until);

	/* 2: for programs (RFC 3464) */
	r |= buf_appendf(out, "\r\n--%s\r\n", boundary);
	r |= buf_appends(out, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	r |= buf_appendf(out, "Reporting-MTA: dns; %s\r\n", hostname);
	r |= buf_appendf(out, "X-Postern-Queue-ID: %s\r\n", qid);
	if (orig->envid != NULL && orig->envid[0] != '\0') {
		r |= buf_appends(out, "Original-Envelope-Id: ");
		r |= append_xtext(out, orig->envid);
		r |= buf_appends(out, "\r\n");
	}
	r |= buf_appendf(out, "Arrival-Date: %s\r\n", adate);
	for (i = 0; i < orig->nrcpt; i++) {
		const struct qrcpt *q = &orig->rcpts[i];

		if (!(q->report & kind))
			continue;
		reply = q->last_reply[0] ? q->last_reply : "";
		r |= buf_appends(out, "\r\n");
		if (q->orcpt != NULL && q->orcpt[0] != '\0') {
			/* "rfc822;addr" as smtpd passed it (decoded) */
			if ((semi = strchr(q->orcpt, ';')) != NULL)
				r |= append_field(out, "Original-Recipient",
				    "%.*s; %s", (int)(semi - q->orcpt), q->orcpt,
				    semi + 1);
			else
				r |= append_field(out, "Original-Recipient",
				    "rfc822; %s", q->orcpt);
		}
		r |= append_field(out, "Final-Recipient", "rfc822; %s", q->addr);
		r |= buf_appendf(out, "Action: %s\r\n", action_of(q, kind));
		sched_dsn(reply, kind == REPORT_FAILED ? RCPT_PERMFAIL :
		    kind == REPORT_DELAYED ? RCPT_TEMPFAIL : RCPT_OK, dsn);
		/* as the last reply said: an expiry stays 4.4.7 (RFC 3463) */
		r |= buf_appendf(out, "Status: %s\r\n", dsn);
		if (remote_mta(q->last_relay != NULL ? q->last_relay : "", mta,
		    sizeof(mta)))
			r |= append_field(out, "Remote-MTA", "dns; %s", mta);
		if (reply[0] >= '2' && reply[0] <= '5' && reply[1] >= '0' &&
		    reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9')
			r |= append_field(out, "Diagnostic-Code", "smtp; %s", reply);
		else if (reply[0] != '\0')
			r |= append_field(out, "Diagnostic-Code", "X-Postern; %s",
			    reply);
		r |= buf_appendf(out, "Last-Attempt-Date: %s\r\n", date);
		if (kind == REPORT_DELAYED)
			r |= buf_appendf(out, "Will-Retry-Until: %s\r\n", until);
	}

	/* 3: the message, or its header block */
	r |= buf_appendf(out, "\r\n--%s\r\n", boundary);
	if (full) {
		r |= buf_appends(out, "Content-Description: Undelivered Message\r\n"
		    "Content-Type: message/rfc822\r\n");
	} else {
		r |= buf_appends(out, "Content-Description: Message Headers\r\n"
		    "Content-Type: text/rfc822-headers\r\n");
	}
	if (eight)
		r |= buf_appends(out, "Content-Transfer-Encoding: 8bit\r\n");
	r |= buf_appends(out, "\r\n");
	/* quoted as stored (CRLF lines); cut at the last whole line */
	off = contentlen;
	while (off > 0 && !(off >= 2 && content[off - 2] == '\r' &&
	    content[off - 1] == '\n'))
		off--;
	if (off > 0)
		r |= buf_append(out, content, off);
	r |= buf_appendf(out, "\r\n--%s--\r\n", boundary);
	return r ? -1 : 0;
}

int
bounce_create(DB_TXN *txn, const char *qid, const struct qenv *orig, int kind,
    const char *to, int double_bounce, const struct buf *content, int full,
    struct qmsg **out)
{
	struct qmsg	*b;
	struct buf	 text;
	const char	*p;

	*out = NULL;
	buf_init(&text);
	if ((b = sched_msg_new()) == NULL)
		goto oom;
	qid_new(b->qid);
	b->env.arrival = (uint64_t)time(NULL);
	b->env.queued_us = qmgr_now_us();
	if ((b->env.sender = strdup("")) == NULL ||
	    (b->env.client = strdup("localhost")) == NULL ||
	    (b->env.helo = strdup(qmgr.conf->hostname)) == NULL ||
	    (b->env.envid = strdup("")) == NULL ||
	    (b->env.rcpts = calloc(1, sizeof(*b->env.rcpts))) == NULL)
		goto oom;
	b->env.nrcpt = 1;
	if (double_bounce)
		b->env.flags |= QENV_F_DOUBLE_BOUNCE;
	if ((b->env.rcpts[0].addr = strdup(to)) == NULL ||
	    (b->env.rcpts[0].last_reply = strdup("")) == NULL ||
	    (b->env.rcpts[0].orcpt = strdup("")) == NULL ||
	    (b->env.rcpts[0].last_relay = strdup("")) == NULL)
		goto oom;
	if (bounce_build(&text, qmgr.conf->hostname, b->qid, to, qid, orig, kind,
	    content->p != NULL ? content->p : "", content->len, full,
	    (time_t)b->env.arrival) == -1)
		goto oom;
	/* the next hop must take 8-bit (and, for a UTF-8 address, SMTPUTF8) */
	if (has_8bit(text.p, text.len))
		b->env.body = BODY_TYPE_8BITMIME;
	for (p = to; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			b->env.smtputf8 = 1;
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
	log_errno("%s: building a notice", qid);
	buf_free(&text);
	sched_msg_free(b);
	return -1;
}
