/*
 * One SMTP or LMTP client session: connect, greeting, EHLO/LHLO/HELO,
 * STARTTLS and a fresh EHLO, AUTH, MAIL, RCPT, DATA or BDAT (pipelined
 * when offered), the body in wire form, then QUIT or a place in the idle
 * cache for the next message to the same destination (RSET first).
 * Non-blocking on the job's event loop; every wait has a timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/sys/queue.h>

#include "deliver.h"
#include "ipc.h"
#include "log.h"

#define SMTP_READ_CHUNK		4096
#define SMTP_BODY_CHUNK		(64 * 1024)
#define SMTP_QUIT_TIMEOUT	10	/* s to wait for 221 after QUIT */
/* our diagnostics: a reply, the relay and some words */
#define SMTP_WHY_MAX		(DELIVER_MAX_REPLY + DELIVER_HOST_MAX + 64 + 256)

enum smtp_state {
	S_CONNECT,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,	/* waiting for 220 to STARTTLS */
	S_TLS,		/* the TLS handshake */
	S_AUTH,		/* AUTH PLAIN or LOGIN exchange */
	S_RSET,		/* a cached session: RSET before the next message */
	S_TXN,		/* replies to MAIL, RCPT..., DATA, in that order */
	S_BODY,		/* content going out, then the final reply(ies) */
	S_IDLE,		/* in the idle cache */
	S_QUIT,		/* decided; waiting for QUIT to go and its reply */
};

struct smtp_sess {
	struct event_base	*base;
	int			 sock;
	int			 state;
	struct event		*rev;
	struct event		*wev;
	struct event		*tev;
	struct buf		 in;
	struct buf		 out;
	size_t			 out_off;
	struct smtp_reply	 rep;
	struct smtp_params	 p;
	char			 qid[64];
	char			 relay[DELIVER_HOST_MAX + 64];
	int			*accepted;	/* per recipient: 2xx to RCPT */
	size_t			 naccepted;
	size_t			 stage;		/* next reply in S_TXN: 0 MAIL,
						 * 1..n RCPT, n+1 DATA */
	int			 mail_ok;
	int			 pipelining;
	uint64_t		 size_limit;	/* from EHLO SIZE; 0 none */
	int			 offers_size;
	struct body_enc		 enc;
	off_t			 body_off;
	int			 body_eof;
	int			 body_sent;	/* the final dot is on the wire */
	smtp_done_cb		 cb;		/* NULL once called */
	void			*arg;
	int			 busy;		/* inside one of our callbacks */
	int			 dead;		/* freed once the callback returns */
	SSL			*ssl;
	int			 tls_active;
	int			 offers_starttls, offers_8bit, offers_dsn;
	int			 offers_utf8, offers_chunking, offers_binary;
	int			 auth_plain, auth_login;
	int			 auth_done, auth_step;
	int			 use_bdat;	/* BDAT n LAST, the content raw */
	size_t			 lmtp_next;	/* next recipient's final reply */
	char			 tls_name[DELIVER_HOST_MAX];
	char			 key[DELIVER_HOST_MAX * 2 + 128];
	TAILQ_ENTRY(smtp_sess)	 centry;	/* in the idle cache */
	int			 cached;
};

static TAILQ_HEAD(, smtp_sess) idle_cache = TAILQ_HEAD_INITIALIZER(idle_cache);
static size_t nidle;

static void	sess_read_cb(evutil_socket_t, short, void *);
static void	sess_write_cb(evutil_socket_t, short, void *);
static void	sess_timer_cb(evutil_socket_t, short, void *);
static int	sess_flush(struct smtp_sess *);

static void
sess_destroy(struct smtp_sess *s)
{
	if (s->cached) {
		TAILQ_REMOVE(&idle_cache, s, centry);
		s->cached = 0;
		nidle--;
	}
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->rev)
		event_free(s->rev);
	if (s->wev)
		event_free(s->wev);
	if (s->tev)
		event_free(s->tev);
	if (s->sock != -1)
		close(s->sock);
	buf_free(&s->in);
	buf_free(&s->out);
	reply_free(&s->rep);
	free(s->accepted);
	free(s);
}

/*
 * Ends the session. Inside one of its own callbacks the memory stays until
 * the callback returns (sess_leave), so no caller up the stack is left
 * holding a dangling pointer.
 */
static void
sess_free(struct smtp_sess *s)
{
	if (s->dead)
		return;
	s->dead = 1;
	if (s->busy) {
		event_del(s->rev);
		event_del(s->wev);
		event_del(s->tev);
		return;
	}
	sess_destroy(s);
}

static void
sess_enter(struct smtp_sess *s)
{
	s->busy++;
}

static void
sess_leave(struct smtp_sess *s)
{
	if (--s->busy == 0 && s->dead)
		sess_destroy(s);
}

void
smtp_abort(struct smtp_sess *s)
{
	if (s != NULL)
		sess_free(s);
}

static void
arm_timer(struct smtp_sess *s, int secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_add(s->tev, &tv);
}

static int
rcpt_class(int code)
{
	if (code >= 200 && code < 300)
		return RCPT_OK;
	if (code >= 500)
		return RCPT_PERMFAIL;
	/* 4xx, and a 3xx where none belongs */
	return RCPT_TEMPFAIL;
}

/* A recipient's result; a delivery notes TLS and, without DSN, "relayed". */
static void
rcpt_result(struct smtp_sess *s, struct dl_rcpt *r, int status,
    const char *text)
{
	dl_rcpt_set(r, status, text, s->relay);
	r->flags = 0;
	if (status == RCPT_OK) {
		if (s->tls_active)
			r->flags |= RESULT_F_TLS;
		if (!s->offers_dsn && !s->p.lmtp)
			r->flags |= RESULT_F_RELAYED;
	}
}

/* Every recipient of the session without a result gets why, temporarily. */
static void
fail_pending(struct smtp_sess *s, const char *why)
{
	size_t i;

	for (i = 0; i < s->p.nrcpt; i++)
		if (!s->p.rcpt[i]->final)
			dl_rcpt_set(s->p.rcpt[i], RCPT_TEMPFAIL, why, s->relay);
}

/* Every recipient of the session gets the same result. */
static void
fail_all(struct smtp_sess *s, int status, const char *why)
{
	size_t i;

	for (i = 0; i < s->p.nrcpt; i++)
		rcpt_result(s, s->p.rcpt[i], status, why);
}

/*
 * Hands the outcome to the job. Afterwards the session touches nothing of
 * the job's; it only says goodbye (QUIT) when the connection is sound.
 */
static void
sess_report(struct smtp_sess *s, int outcome, const char *why)
{
	smtp_done_cb cb = s->cb;

	if (cb == NULL)
		return;
	s->cb = NULL;
	if (outcome == SMTP_DONE)
		fail_pending(s, why ? why : "451 4.4.2 session ended early");
	s->p.rcpt = NULL;
	s->p.nrcpt = 0;
	cb(s->arg, outcome, why);
}

/* Connection unusable: report and free. */
static void
sess_drop(struct smtp_sess *s, const char *why)
{
	int outcome = s->state >= S_TXN ? SMTP_DONE : SMTP_NEXT;

	/* a cached connection that died while idle is no verdict on the host */
	if (s->state == S_RSET)
		outcome = SMTP_STALE;
	sess_report(s, outcome, why);
	sess_free(s);
}

/* Decided: report, then QUIT politely on the side. */
static void
sess_quit(struct smtp_sess *s, int outcome, const char *why)
{
	sess_report(s, outcome, why);
	s->state = S_QUIT;
	buf_reset(&s->out);
	s->out_off = 0;
	if (buf_appends(&s->out, "QUIT\r\n") == -1) {
		sess_free(s);
		return;
	}
	arm_timer(s, SMTP_QUIT_TIMEOUT);
	if (sess_flush(s) != 0)
		sess_free(s);
}

static void
idle_timeout_quit(struct smtp_sess *s)
{
	if (s->cached) {
		TAILQ_REMOVE(&idle_cache, s, centry);
		s->cached = 0;
		nidle--;
	}
	sess_quit(s, SMTP_DONE, NULL);
}

/*
 * The transaction is over and the connection sound: keep it for the next
 * message to the same destination, or say goodbye.
 */
static void
sess_finish(struct smtp_sess *s)
{
	struct smtp_sess	*old;
	struct timeval		 tv = { s->p.cache_time, 0 };

	sess_report(s, SMTP_DONE, NULL);
	if (s->key[0] == '\0' || s->p.cache_max == 0 || s->dead) {
		sess_quit(s, SMTP_DONE, NULL);
		return;
	}
	while (nidle >= s->p.cache_max &&
	    (old = TAILQ_FIRST(&idle_cache)) != NULL)
		idle_timeout_quit(old);
	s->state = S_IDLE;
	s->cb = NULL;
	buf_reset(&s->out);
	s->out_off = 0;
	TAILQ_INSERT_TAIL(&idle_cache, s, centry);
	s->cached = 1;
	nidle++;
	evtimer_add(s->tev, &tv);
	log_debug("%s: session with %s kept for reuse", s->qid, s->relay);
}

void
smtp_cache_flush(void)
{
	struct smtp_sess *s;

	while ((s = TAILQ_FIRST(&idle_cache)) != NULL)
		idle_timeout_quit(s);
}

static void
why_reply(char *why, size_t whysz, const struct smtp_sess *s,
    const struct smtp_reply *r, const char *cmd)
{
	char sum[DELIVER_MAX_REPLY];

	reply_summary(r, sum, sizeof(sum));
	/* keep a reply's own code so the class of the failure stays known */
	snprintf(why, whysz, "%s (host %s said, in reply to %s)", sum,
	    s->relay, cmd);
}

/* "VERB arg" CRLF; arg is an envelope address or our own name */
static int
queue_cmd(struct smtp_sess *s, const char *verb, const char *arg,
    const char *close)
{
	return buf_appendf(&s->out, "%s%s%s\r\n", verb, arg, close);
}

int
smtp_xtext(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
			if (buf_appendc(out, (char)*p) == -1)
				return -1;
		} else if (buf_appendc(out, '+') == -1 ||
		    buf_appendc(out, hex[*p >> 4]) == -1 ||
		    buf_appendc(out, hex[*p & 15]) == -1)
			return -1;
	}
	return 0;
}

int
smtp_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static int
send_mail_from(struct smtp_sess *s)
{
	if (buf_appendf(&s->out, "MAIL FROM:<%s>", s->p.sender) == -1)
		return -1;
	if (s->offers_size && buf_appendf(&s->out, " SIZE=%llu",
	    (unsigned long long)s->p.size) == -1)
		return -1;
	if (s->p.body == BODY_TYPE_8BITMIME && s->offers_8bit &&
	    buf_appends(&s->out, " BODY=8BITMIME") == -1)
		return -1;
	if (s->p.body == BODY_TYPE_BINARYMIME && s->use_bdat &&
	    buf_appends(&s->out, " BODY=BINARYMIME") == -1)
		return -1;
	if (s->p.smtputf8 && s->offers_utf8 &&
	    buf_appends(&s->out, " SMTPUTF8") == -1)
		return -1;
	if (s->offers_dsn && !s->p.lmtp) {
		if (s->p.ret == DSN_RET_FULL &&
		    buf_appends(&s->out, " RET=FULL") == -1)
			return -1;
		if (s->p.ret == DSN_RET_HDRS &&
		    buf_appends(&s->out, " RET=HDRS") == -1)
			return -1;
		if (s->p.envid != NULL && s->p.envid[0] != '\0' &&
		    (buf_appends(&s->out, " ENVID=") == -1 ||
		    smtp_xtext(&s->out, s->p.envid) == -1))
			return -1;
	}
	return buf_appends(&s->out, "\r\n");
}

static int
send_rcpt_to(struct smtp_sess *s, const struct dl_rcpt *r)
{
	const char	*semi;
	int		 comma = 0;

	if (buf_appendf(&s->out, "RCPT TO:<%s>", r->addr) == -1)
		return -1;
	if (s->offers_dsn && !s->p.lmtp) {
		if (r->notify & DSN_NOTIFY_NEVER) {
			if (buf_appends(&s->out, " NOTIFY=NEVER") == -1)
				return -1;
		} else if (r->notify != 0) {
			if (buf_appends(&s->out, " NOTIFY=") == -1)
				return -1;
			if ((r->notify & DSN_NOTIFY_SUCCESS) && (comma = 1) &&
			    buf_appends(&s->out, "SUCCESS") == -1)
				return -1;
			if ((r->notify & DSN_NOTIFY_FAILURE) &&
			    buf_appends(&s->out, comma ? ",FAILURE" :
			    "FAILURE") == -1)
				return -1;
			if (r->notify & DSN_NOTIFY_FAILURE)
				comma = 1;
			if ((r->notify & DSN_NOTIFY_DELAY) &&
			    buf_appends(&s->out, comma ? ",DELAY" :
			    "DELAY") == -1)
				return -1;
		}
		if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL &&
		    semi > r->orcpt) {
			if (buf_appends(&s->out, " ORCPT=") == -1 ||
			    buf_append(&s->out, r->orcpt,
			    (size_t)(semi - r->orcpt)) == -1 ||
			    buf_appendc(&s->out, ';') == -1 ||
			    smtp_xtext(&s->out, semi + 1) == -1)
				return -1;
		}
	}
	return buf_appends(&s->out, "\r\n");
}

/* 1 when the envelope is ASCII only (SMTPUTF8 is then not needed). */
static int
envelope_ascii(const struct smtp_sess *s)
{
	size_t i;

	if (!smtp_ascii(s->p.sender))
		return 0;
	for (i = 0; i < s->p.nrcpt; i++)
		if (!smtp_ascii(s->p.rcpt[i]->addr))
			return 0;
	return 1;
}

/* What the message needs that the server lacks: a bounce text, or NULL. */
static const char *
txn_unsendable(struct smtp_sess *s, char *why, size_t whysz)
{
	if (s->size_limit > 0 && s->p.size > s->size_limit) {
		snprintf(why, whysz, "552 5.3.4 Message size exceeds "
		    "fixed limit of host %s (%llu > %llu)", s->relay,
		    (unsigned long long)s->p.size,
		    (unsigned long long)s->size_limit);
		return why;
	}
	if (s->p.body == BODY_TYPE_BINARYMIME && !s->use_bdat) {
		snprintf(why, whysz, "554 5.6.3 host %s does not support "
		    "BINARYMIME and CHUNKING: cannot send binary content",
		    s->relay);
		return why;
	}
	/* no conversion to 7 bits: the sender learns why at once */
	if (s->p.body == BODY_TYPE_8BITMIME && !s->offers_8bit &&
	    !s->use_bdat) {
		snprintf(why, whysz, "554 5.6.3 host %s does not support "
		    "8BITMIME and the message has 8-bit content", s->relay);
		return why;
	}
	if (s->p.smtputf8 && !s->offers_utf8 && !envelope_ascii(s)) {
		snprintf(why, whysz, "553 5.6.7 host %s does not support "
		    "SMTPUTF8 and the envelope has UTF-8 addresses", s->relay);
		return why;
	}
	return NULL;
}

/* After EHLO/HELO (and TLS, AUTH, or RSET): the transaction, pipelined
 * when the server allows it. */
static void
start_txn(struct smtp_sess *s)
{
	char	 why[SMTP_WHY_MAX];
	size_t	 i;

	s->use_bdat = s->p.body == BODY_TYPE_BINARYMIME && s->offers_chunking &&
	    s->offers_binary;
	if (txn_unsendable(s, why, sizeof(why)) != NULL) {
		fail_all(s, RCPT_PERMFAIL, why);
		log_info("%s: %s", s->qid, why + 10);
		s->state = S_TXN;
		sess_quit(s, SMTP_DONE, why);
		return;
	}
	s->state = S_TXN;
	s->stage = 0;
	s->mail_ok = 0;
	s->naccepted = 0;
	s->lmtp_next = 0;
	s->body_sent = 0;
	memset(s->accepted, 0, s->p.nrcpt * sizeof(*s->accepted));
	if (send_mail_from(s) == -1)
		goto oom;
	if (s->pipelining) {
		for (i = 0; i < s->p.nrcpt; i++)
			if (send_rcpt_to(s, s->p.rcpt[i]) == -1)
				goto oom;
		if (!s->use_bdat && buf_appends(&s->out, "DATA\r\n") == -1)
			goto oom;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection sending MAIL FROM");
	return;
oom:
	sess_drop(s, "451 4.3.0 out of memory");
}

static void
start_body(struct smtp_sess *s)
{
	s->state = S_BODY;
	body_enc_init(&s->enc);
	s->body_off = 0;
	s->body_eof = 0;
	s->body_sent = 0;
	buf_reset(&s->out);
	s->out_off = 0;
	/* binary content goes as it is, in one chunk of its exact size */
	if (s->use_bdat && buf_appendf(&s->out, "BDAT %llu LAST\r\n",
	    (unsigned long long)s->p.size) == -1) {
		sess_drop(s, "451 4.3.0 out of memory");
		return;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection sending the message");
}

/* Refills the output with encoded content once it has drained. */
static int
body_refill(struct smtp_sess *s)
{
	uint8_t	 chunk[16384];
	ssize_t	 n;

	if (s->out_off == s->out.len) {
		buf_reset(&s->out);
		s->out_off = 0;
	}
	while (!s->body_eof && s->out.len - s->out_off < SMTP_BODY_CHUNK) {
		n = pread(s->p.fd, chunk, sizeof(chunk), s->body_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_errno("%s: reading the message content", s->qid);
			return -1;
		}
		if (n == 0 || (s->use_bdat &&
		    (uint64_t)s->body_off >= s->p.size)) {
			/* the tail and the final dot leave in one write */
			if (!s->use_bdat &&
			    body_enc_finish(&s->enc, &s->out) == -1)
				return -1;
			if (s->use_bdat && (uint64_t)s->body_off != s->p.size) {
				log_err("%s: the content shrank", s->qid);
				return -1;
			}
			s->body_eof = 1;
			break;
		}
		if (s->use_bdat) {
			/* exactly the announced size, whatever happens */
			if ((uint64_t)s->body_off + (uint64_t)n > s->p.size)
				n = (ssize_t)(s->p.size - (uint64_t)s->body_off);
			if (buf_append(&s->out, chunk, (size_t)n) == -1)
				return -1;
		} else if (body_enc_feed(&s->enc, chunk, (size_t)n,
		    &s->out) == -1)
			return -1;
		s->body_off += n;
	}
	return 0;
}

/* ---- transport: plain socket or TLS ---- */

/* >0 bytes, 0 at EOF, -1 error (errno), -2 try again later */
static ssize_t
io_recv(struct smtp_sess *s, void *p, size_t n)
{
	ssize_t	 r;
	int	 e;

	if (s->ssl == NULL) {
		r = recv(s->sock, p, n, 0);
		if (r == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			return -2;
		return r;
	}
	ERR_clear_error();
	r = SSL_read(s->ssl, p, (int)(n > INT_MAX ? INT_MAX : n));
	if (r > 0)
		return r;
	e = SSL_get_error(s->ssl, (int)r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -2;
	case SSL_ERROR_WANT_WRITE:
		event_add(s->wev, NULL);
		return -2;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
io_send(struct smtp_sess *s, const void *p, size_t n)
{
	ssize_t	 r;
	int	 e;

	if (s->ssl == NULL) {
		r = send(s->sock, p, n, MSG_NOSIGNAL);
		if (r == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK)) {
			if (errno != EINTR)
				event_add(s->wev, NULL);
			return -2;
		}
		return r;
	}
	ERR_clear_error();
	r = SSL_write(s->ssl, p, (int)(n > INT_MAX ? INT_MAX : n));
	if (r > 0)
		return r;
	e = SSL_get_error(s->ssl, (int)r);
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(s->wev, NULL);
		return -2;
	}
	if (e == SSL_ERROR_WANT_READ)
		return -2;	/* the persistent read event calls us again */
	if (e != SSL_ERROR_SYSCALL || errno == 0)
		errno = EPROTO;
	return -1;
}

/* Writes what is queued; 0 when done or waiting for writability, -1 on error. */
static int
sess_flush(struct smtp_sess *s)
{
	ssize_t	 n;

	for (;;) {
		if (s->state == S_BODY && !s->body_sent &&
		    s->out.len - s->out_off < SMTP_BODY_CHUNK / 2 &&
		    !s->body_eof && body_refill(s) == -1)
			return -2;
		if (s->out_off == s->out.len) {
			if (s->state == S_BODY && s->body_eof)
				s->body_sent = 1;
			return 0;
		}
		n = io_send(s, s->out.p + s->out_off, s->out.len - s->out_off);
		if (n == -2)
			return 0;
		if (n <= 0)
			return -1;
		s->out_off += (size_t)n;
		/* a slow but moving reader is not a timeout */
		if (s->state == S_BODY)
			arm_timer(s, s->p.timeout);
	}
}

/* ---- greeting, EHLO, STARTTLS, AUTH ---- */

static void
send_hello(struct smtp_sess *s, int state)
{
	const char *verb = state == S_HELO ? "HELO " :
	    s->p.lmtp ? "LHLO " : "EHLO ";

	s->state = state;
	if (queue_cmd(s, verb, s->p.helo, "") == -1) {
		sess_drop(s, "451 4.3.0 out of memory");
		return;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection sending EHLO");
}

static void
on_greeting(struct smtp_sess *s, struct smtp_reply *r)
{
	char why[SMTP_WHY_MAX];

	if (r->code != 220) {
		why_reply(why, sizeof(why), s, r, "the greeting");
		log_info("%s: %s refused to talk to me: %s", s->qid, s->relay,
		    why);
		sess_quit(s, SMTP_NEXT, why);
		return;
	}
	send_hello(s, S_EHLO);
}

static void
parse_ehlo(struct smtp_sess *s, struct smtp_reply *r)
{
	const char	*param, *errstr, *p, *end;
	size_t		 plen, wl;
	char		 num[24];

	s->pipelining = reply_ehlo_has(r, "PIPELINING", NULL, NULL);
	s->offers_starttls = reply_ehlo_has(r, "STARTTLS", NULL, NULL);
	s->offers_8bit = reply_ehlo_has(r, "8BITMIME", NULL, NULL);
	s->offers_dsn = reply_ehlo_has(r, "DSN", NULL, NULL);
	s->offers_utf8 = reply_ehlo_has(r, "SMTPUTF8", NULL, NULL);
	s->offers_chunking = reply_ehlo_has(r, "CHUNKING", NULL, NULL);
	s->offers_binary = reply_ehlo_has(r, "BINARYMIME", NULL, NULL);
	s->auth_plain = s->auth_login = 0;
	if (reply_ehlo_has(r, "AUTH", &param, &plen)) {
		/* the reply text is not NUL-terminated: bounded scans only */
		for (p = param, end = param + plen; p < end; p += wl + 1) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			wl = (size_t)((sp ? sp : end) - p);
			if (wl == 5 && strncasecmp(p, "PLAIN", 5) == 0)
				s->auth_plain = 1;
			if (wl == 5 && strncasecmp(p, "LOGIN", 5) == 0)
				s->auth_login = 1;
		}
	}
	s->offers_size = reply_ehlo_has(r, "SIZE", &param, &plen);
	s->size_limit = 0;
	if (s->offers_size && plen > 0 && plen < sizeof(num)) {
		memcpy(num, param, plen);
		num[plen] = '\0';
		s->size_limit = (uint64_t)strtonum(num, 0, LLONG_MAX, &errstr);
		if (errstr)
			s->size_limit = 0;	/* unreadable: no limit known */
	}
}

static int
b64_append(struct buf *out, const void *in, size_t len)
{
	size_t	 need;
	int	 n;

	if (len > 3 * 1024)
		return -1;
	need = (len + 2) / 3 * 4 + 1;
	if (buf_reserve(out, need) == -1)
		return -1;
	n = EVP_EncodeBlock((unsigned char *)out->p + out->len, in, (int)len);
	if (n < 0)
		return -1;
	out->len += (size_t)n;
	return 0;
}

static void
start_auth(struct smtp_sess *s)
{
	struct buf	 cred;
	int		 e = 0;

	s->state = S_AUTH;
	s->auth_step = 0;
	if (s->auth_plain) {
		/* authzid NUL authcid NUL passwd */
		buf_init(&cred);
		e |= buf_appendc(&cred, '\0');
		e |= buf_appends(&cred, s->p.auth_user);
		e |= buf_appendc(&cred, '\0');
		e |= buf_appends(&cred, s->p.auth_pass);
		e |= buf_appends(&s->out, "AUTH PLAIN ");
		e |= b64_append(&s->out, cred.p, cred.len);
		e |= buf_appends(&s->out, "\r\n");
		explicit_bzero(cred.p, cred.cap);
		buf_free(&cred);
		s->auth_step = 2;
	} else {
		e |= buf_appends(&s->out, "AUTH LOGIN\r\n");
	}
	if (e) {
		sess_drop(s, "451 4.3.0 out of memory");
		return;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection sending AUTH");
}

static void
on_auth(struct smtp_sess *s, struct smtp_reply *r)
{
	char		 why[SMTP_WHY_MAX];
	const char	*v;

	if (r->code == 334 && s->auth_step < 2) {
		v = s->auth_step == 0 ? s->p.auth_user : s->p.auth_pass;
		s->auth_step++;
		if (b64_append(&s->out, v, strlen(v)) == -1 ||
		    buf_appends(&s->out, "\r\n") == -1) {
			sess_drop(s, "451 4.3.0 out of memory");
			return;
		}
		arm_timer(s, s->p.timeout);
		if (sess_flush(s) != 0)
			sess_drop(s, "451 4.4.2 lost connection in AUTH");
		return;
	}
	if (r->code == 235) {
		s->auth_done = 1;
		log_debug("%s: authenticated to %s as %s", s->qid, s->relay,
		    s->p.auth_user);
		start_txn(s);
		return;
	}
	/* a refused password is the admin's to fix: defer, never bounce */
	why_reply(why, sizeof(why), s, r, "AUTH");
	why[0] = '4';
	log_warn("%s: %s: authentication as %s failed: %s", s->qid, s->relay,
	    s->p.auth_user, why);
	sess_quit(s, SMTP_NEXT, why);
}

/* The server's EHLO is in: STARTTLS, AUTH or the transaction. */
static void
after_hello(struct smtp_sess *s)
{
	char	 why[SMTP_WHY_MAX];
	int	 must = s->p.tls == RTLS_ENCRYPT || s->p.tls == RTLS_VERIFY ||
		    (s->p.tls == RTLS_DANE && s->p.ntlsa > 0);

	if (!s->tls_active && s->offers_starttls && s->p.tls != RTLS_NONE &&
	    s->p.ssl_ctx != NULL) {
		s->state = S_STARTTLS;
		if (buf_appends(&s->out, "STARTTLS\r\n") == -1) {
			sess_drop(s, "451 4.3.0 out of memory");
			return;
		}
		arm_timer(s, s->p.timeout);
		if (sess_flush(s) != 0)
			sess_drop(s, "451 4.4.2 lost connection sending "
			    "STARTTLS");
		return;
	}
	if (!s->tls_active && must) {
		snprintf(why, sizeof(why), "451 4.7.4 TLS is required, but "
		    "was not offered by host %s", s->relay);
		log_info("%s: %s", s->qid, why + 10);
		sess_quit(s, SMTP_NEXT, why);
		return;
	}
	if (s->p.auth_user != NULL && !s->auth_done) {
		if (!s->tls_active) {
			snprintf(why, sizeof(why), "451 4.7.0 not sending "
			    "credentials to %s without TLS", s->relay);
			log_warn("%s: %s", s->qid, why + 10);
			sess_quit(s, SMTP_NEXT, why);
			return;
		}
		if (!s->auth_plain && !s->auth_login) {
			snprintf(why, sizeof(why), "451 4.7.0 host %s offers "
			    "no AUTH PLAIN or LOGIN", s->relay);
			log_warn("%s: %s", s->qid, why + 10);
			sess_quit(s, SMTP_NEXT, why);
			return;
		}
		start_auth(s);
		return;
	}
	start_txn(s);
}

static void
on_ehlo(struct smtp_sess *s, struct smtp_reply *r)
{
	char why[SMTP_WHY_MAX];

	if (r->code / 100 == 2) {
		parse_ehlo(s, r);
		after_hello(s);
		return;
	}
	if (s->state == S_EHLO && r->code / 100 == 5 && !s->p.lmtp &&
	    !s->tls_active) {
		/* an old server: fall back to HELO, no extensions */
		send_hello(s, S_HELO);
		return;
	}
	why_reply(why, sizeof(why), s, r, s->state == S_EHLO ?
	    (s->p.lmtp ? "LHLO" : "EHLO") : "HELO");
	log_info("%s: %s: %s", s->qid, s->relay, why);
	sess_quit(s, SMTP_NEXT, why);
}

static void	tls_step(struct smtp_sess *);

static void
on_starttls(struct smtp_sess *s, struct smtp_reply *r)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 why[SMTP_WHY_MAX];

	if (r->code != 220) {
		why_reply(why, sizeof(why), s, r, "STARTTLS");
		log_info("%s: %s", s->qid, why);
		s->offers_starttls = 0;
		if (s->p.tls == RTLS_MAY ||
		    (s->p.tls == RTLS_DANE && s->p.ntlsa == 0)) {
			after_hello(s);
			return;
		}
		sess_quit(s, SMTP_NEXT, why);
		return;
	}
	/* what came with or after the 220 was sent before the handshake:
	 * a man in the middle's injection (CVE-2021-38371), never a reply */
	if (s->in.len > 0) {
		log_warn("%s: %s sent %zu octet(s) after 220 to STARTTLS; "
		    "discarded", s->qid, s->relay, s->in.len);
		buf_reset(&s->in);
	}
	if ((s->ssl = SSL_new(s->p.ssl_ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->sock) != 1) {
		sess_drop(s, "451 4.7.5 cannot start TLS");
		return;
	}
	SSL_set_connect_state(s->ssl);
	/* SNI names a host, never an address (RFC 6066 3) */
	if (s->tls_name[0] != '\0' && !route_ip_literal(s->tls_name, &ss, &sl))
		SSL_set_tlsext_host_name(s->ssl, s->tls_name);
	if (s->p.tls == RTLS_VERIFY && s->tls_name[0] != '\0') {
		SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(s->ssl, s->tls_name) != 1) {
			sess_drop(s, "451 4.7.5 cannot start TLS");
			return;
		}
	}
	if (s->p.tls == RTLS_DANE && s->p.ntlsa > 0) {
		size_t	 i;
		int	 usable = 0;

		if (SSL_dane_enable(s->ssl, s->tls_name) <= 0) {
			sess_drop(s, "451 4.7.5 cannot start DANE");
			return;
		}
		/* RFC 7672 3.1.1: a DANE-EE match stands without names */
		SSL_dane_set_flags(s->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		/* RFC 7672 3.1.3: PKIX-TA/EE (0, 1) are not used for SMTP */
		for (i = 0; i < s->p.ntlsa; i++)
			if (s->p.tlsa[i].usage >= 2 &&
			    SSL_dane_tlsa_add(s->ssl, s->p.tlsa[i].usage,
			    s->p.tlsa[i].selector, s->p.tlsa[i].mtype,
			    s->p.tlsa[i].data, s->p.tlsa[i].dlen) > 0)
				usable++;
		if (usable == 0) {
			snprintf(why, sizeof(why), "451 4.7.5 no usable TLSA "
			    "records for %s", s->relay);
			sess_quit(s, SMTP_NEXT, why);
			return;
		}
	}
	s->state = S_TLS;
	arm_timer(s, s->p.timeout);
	tls_step(s);
}

/* The handshake under way; a failed one under "may" retries in plain. */
static void
tls_step(struct smtp_sess *s)
{
	char		 why[SMTP_WHY_MAX];
	const char	*trust = "Untrusted";
	long		 vr;
	int		 r, e;

	ERR_clear_error();
	r = SSL_connect(s->ssl);
	if (r != 1) {
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return;
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(s->wev, NULL);
			return;
		}
		snprintf(why, sizeof(why), "451 4.7.5 TLS handshake with %s "
		    "failed: %s", s->relay, ERR_reason_error_string(
		    ERR_peek_last_error()) ? ERR_reason_error_string(
		    ERR_peek_last_error()) : "connection closed");
		log_info("%s: %s", s->qid, why + 10);
		sess_report(s, s->p.tls == RTLS_MAY ||
		    (s->p.tls == RTLS_DANE && s->p.ntlsa == 0) ? SMTP_PLAIN :
		    SMTP_NEXT, why);
		sess_free(s);
		return;
	}
	vr = SSL_get_verify_result(s->ssl);
	if (s->p.tls == RTLS_DANE && s->p.ntlsa > 0) {
		if (vr != X509_V_OK || SSL_get0_dane_authority(s->ssl, NULL,
		    NULL) < 0) {
			snprintf(why, sizeof(why), "451 4.7.5 DANE: the "
			    "certificate of %s matches no TLSA record (%s)",
			    s->relay, X509_verify_cert_error_string(vr));
			log_warn("%s: %s", s->qid, why + 10);
			sess_quit(s, SMTP_NEXT, why);
			return;
		}
		trust = "Verified";
	} else if (s->p.tls == RTLS_VERIFY) {
		if (vr != X509_V_OK) {
			snprintf(why, sizeof(why), "451 4.7.5 Server "
			    "certificate not verified: host %s: %s", s->relay,
			    X509_verify_cert_error_string(vr));
			log_warn("%s: %s", s->qid, why + 10);
			sess_quit(s, SMTP_NEXT, why);
			return;
		}
		trust = "Verified";
	} else if (vr == X509_V_OK)
		trust = "Trusted";
	s->tls_active = 1;
	log_info("%s: %s TLS connection established to %s: %s with cipher %s",
	    s->qid, trust, s->relay, SSL_get_version(s->ssl),
	    SSL_get_cipher_name(s->ssl));
	/* everything learnt before the handshake is void (RFC 3207 4.2) */
	buf_reset(&s->in);
	s->pipelining = s->offers_size = 0;
	s->size_limit = 0;
	send_hello(s, S_EHLO);
}

/* ---- the transaction ---- */

/* Next command when not pipelining; 0, or -1 when the session ended. */
static int
txn_next_cmd(struct smtp_sess *s)
{
	size_t n = s->p.nrcpt;

	if (s->pipelining)
		return 0;
	if (s->stage >= 1 && s->stage <= n) {
		if (send_rcpt_to(s, s->p.rcpt[s->stage - 1]) == -1)
			goto oom;
	} else if (s->stage == n + 1) {
		if (s->naccepted == 0) {
			sess_quit(s, SMTP_DONE, NULL);
			return -1;
		}
		if (buf_appends(&s->out, "DATA\r\n") == -1)
			goto oom;
	}
	if (sess_flush(s) != 0) {
		sess_drop(s, "451 4.4.2 lost connection in the transaction");
		return -1;
	}
	return 0;
oom:
	sess_drop(s, "451 4.3.0 out of memory");
	return -1;
}

static void
on_txn(struct smtp_sess *s, struct smtp_reply *r)
{
	char	 why[SMTP_WHY_MAX], sum[DELIVER_MAX_REPLY];
	size_t	 n = s->p.nrcpt, i, st = s->stage++;

	reply_summary(r, sum, sizeof(sum));
	arm_timer(s, s->p.timeout);
	if (st == 0) {				/* MAIL FROM */
		if (r->code / 100 == 2)
			s->mail_ok = 1;
		else {
			why_reply(why, sizeof(why), s, r, "MAIL FROM");
			log_info("%s: %s", s->qid, why);
			for (i = 0; i < n; i++)
				dl_rcpt_set(s->p.rcpt[i], rcpt_class(r->code),
				    sum, s->relay);
			if (!s->pipelining) {
				sess_quit(s, SMTP_DONE, NULL);
				return;
			}
		}
	} else if (st <= n) {			/* RCPT TO */
		if (s->mail_ok) {
			if (r->code / 100 == 2) {
				s->accepted[st - 1] = 1;
				s->naccepted++;
			} else
				dl_rcpt_set(s->p.rcpt[st - 1],
				    rcpt_class(r->code), sum, s->relay);
		}
		if (st == n && s->use_bdat) {
			/* BDAT is never pipelined behind the recipients:
			 * without one, no content may leave */
			if (!s->mail_ok || s->naccepted == 0) {
				sess_quit(s, SMTP_DONE, NULL);
				return;
			}
			start_body(s);
			return;
		}
	} else {				/* DATA */
		if (r->code == 354) {
			if (s->naccepted == 0 || !s->mail_ok) {
				/* pipelined DATA accepted without recipients:
				 * sending nothing is the only safe answer */
				log_info("%s: %s accepted DATA without "
				    "recipients; closing", s->qid, s->relay);
				sess_report(s, SMTP_DONE, NULL);
				sess_free(s);
				return;
			}
			start_body(s);
			return;
		}
		if (s->mail_ok && s->naccepted > 0) {
			why_reply(why, sizeof(why), s, r, "DATA");
			log_info("%s: %s", s->qid, why);
			for (i = 0; i < n; i++)
				if (s->accepted[i])
					dl_rcpt_set(s->p.rcpt[i],
					    rcpt_class(r->code), sum, s->relay);
		}
		sess_quit(s, SMTP_DONE, NULL);
		return;
	}
	(void)txn_next_cmd(s);
}

static void
on_final(struct smtp_sess *s, struct smtp_reply *r)
{
	char	 sum[DELIVER_MAX_REPLY];
	size_t	 i;

	if (!s->body_sent)
		log_info("%s: %s replied before the end of the message",
		    s->qid, s->relay);
	reply_summary(r, sum, sizeof(sum));
	for (i = s->p.lmtp ? s->lmtp_next : 0; i < s->p.nrcpt; i++) {
		if (!s->accepted[i])
			continue;
		/* "accepted" before it had the whole message is no delivery */
		if (!s->body_sent && r->code / 100 == 2)
			dl_rcpt_set(s->p.rcpt[i], RCPT_TEMPFAIL, "451 4.5.0 "
			    "server replied before the end of the message",
			    s->relay);
		else
			rcpt_result(s, s->p.rcpt[i], rcpt_class(r->code), sum);
		if (s->p.lmtp && s->body_sent) {
			/* RFC 2033 4.2: one reply per accepted recipient */
			s->lmtp_next = i + 1;
			for (i++; i < s->p.nrcpt && !s->accepted[i]; i++)
				;
			if (i < s->p.nrcpt) {
				arm_timer(s, s->p.timeout);
				return;
			}
			break;
		}
	}
	if (!s->body_sent) {
		/* it will not read the rest; the connection is spent */
		sess_report(s, SMTP_DONE, NULL);
		sess_free(s);
		return;
	}
	sess_finish(s);
}

static void
on_rset(struct smtp_sess *s, struct smtp_reply *r)
{
	if (r->code / 100 != 2) {
		sess_report(s, SMTP_STALE, "451 4.4.2 RSET refused");
		sess_quit(s, SMTP_STALE, NULL);
		return;
	}
	start_txn(s);
}

/* One whole reply; the session may be dead afterwards. */
static void
on_reply(struct smtp_sess *s, struct smtp_reply *r)
{
	switch (s->state) {
	case S_GREETING:
		on_greeting(s, r);
		break;
	case S_EHLO:
	case S_HELO:
		on_ehlo(s, r);
		break;
	case S_STARTTLS:
		on_starttls(s, r);
		break;
	case S_AUTH:
		on_auth(s, r);
		break;
	case S_RSET:
		on_rset(s, r);
		break;
	case S_TXN:
		on_txn(s, r);
		break;
	case S_BODY:
		on_final(s, r);
		break;
	case S_QUIT:
	case S_IDLE:
		/* a 421 or noise while idle: the connection is done */
		sess_free(s);
		break;
	default:
		sess_drop(s, "451 4.5.0 reply from the server out of turn");
		break;
	}
}

static const char *
state_name(int st)
{
	switch (st) {
	case S_CONNECT:
		return "connecting";
	case S_GREETING:
		return "waiting for the greeting";
	case S_EHLO:
		return "sending EHLO";
	case S_HELO:
		return "sending HELO";
	case S_STARTTLS:
		return "sending STARTTLS";
	case S_TLS:
		return "in the TLS handshake";
	case S_AUTH:
		return "authenticating";
	case S_RSET:
		return "sending RSET";
	case S_TXN:
		return "sending MAIL FROM/RCPT TO/DATA";
	case S_BODY:
		return "sending the message";
	default:
		return "ending the session";
	}
}

static void
sess_read(struct smtp_sess *s)
{
	char			 why[SMTP_WHY_MAX];
	ssize_t			 n;
	int			 r;

	if (s->state == S_TLS) {
		tls_step(s);
		return;
	}
	for (;;) {
		if (buf_reserve(&s->in, SMTP_READ_CHUNK) == -1) {
			sess_drop(s, "451 4.3.0 out of memory");
			return;
		}
		n = io_recv(s, s->in.p + s->in.len, SMTP_READ_CHUNK);
		if (n == -2)
			return;
		if (n <= 0) {
			if (s->state == S_QUIT || s->state == S_IDLE) {
				sess_free(s);
				return;
			}
			snprintf(why, sizeof(why), "451 4.4.2 lost connection "
			    "with %s while %s%s%s", s->relay,
			    state_name(s->state), n == -1 ? ": " : "",
			    n == -1 ? strerror(errno) : "");
			log_info("%s: %s", s->qid, why + 10);
			sess_drop(s, why);
			return;
		}
		s->in.len += (size_t)n;
		while (!s->dead) {
			r = reply_take(&s->in, &s->rep);
			if (r == 0)
				break;
			if (r == -1) {
				if (s->state == S_QUIT || s->state == S_IDLE) {
					sess_free(s);
					return;
				}
				snprintf(why, sizeof(why), "451 4.5.0 "
				    "malformed reply from %s while %s",
				    s->relay, state_name(s->state));
				log_warn("%s: %s", s->qid, why + 10);
				sess_drop(s, why);
				return;
			}
			on_reply(s, &s->rep);
			/* the handshake reads its own bytes from now on */
			if (!s->dead && s->state == S_TLS)
				return;
		}
		if (s->dead)
			return;
	}
}

static void
sess_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtp_sess *s = arg;

	sess_enter(s);
	sess_read(s);
	/* a TLS write that waited for the peer's bytes may go on now */
	if (!s->dead && s->ssl != NULL && s->state != S_TLS &&
	    s->out_off < s->out.len && sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection");
	sess_leave(s);
}

static void
on_connected(struct smtp_sess *s)
{
	int one = 1;

	/* commands are whole writes and the body is coalesced: no Nagle */
	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->state = S_GREETING;
	event_add(s->rev, NULL);
	arm_timer(s, s->p.timeout);
	log_debug("%s: connected to %s", s->qid, s->relay);
}

static void
sess_write(struct smtp_sess *s)
{
	char			 why[SMTP_WHY_MAX];
	socklen_t		 sl = sizeof(int);
	int			 err = 0, r;

	if (s->state == S_CONNECT) {
		if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
			err = errno;
		if (err != 0) {
			snprintf(why, sizeof(why), "451 4.4.1 connect to %s: %s",
			    s->relay, strerror(err));
			log_info("%s: %s", s->qid, why + 10);
			sess_drop(s, why);
			return;
		}
		on_connected(s);
		return;
	}
	if (s->state == S_TLS) {
		tls_step(s);
		return;
	}
	if (s->ssl != NULL && s->in.len == 0)
		/* a TLS read may have wanted to write: look again */
		sess_read(s);
	if (s->dead)
		return;
	r = sess_flush(s);
	if (r == 0)
		return;
	if (s->state == S_QUIT || s->state == S_IDLE) {
		sess_free(s);
		return;
	}
	if (r == -2)
		snprintf(why, sizeof(why), "451 4.3.0 cannot read the queued "
		    "message");
	else
		snprintf(why, sizeof(why), "451 4.4.2 lost connection with %s "
		    "while %s: %s", s->relay, state_name(s->state),
		    strerror(errno));
	log_info("%s: %s", s->qid, why + 10);
	sess_drop(s, why);
}

static void
sess_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtp_sess *s = arg;

	sess_enter(s);
	sess_write(s);
	sess_leave(s);
}

static void
sess_timer(struct smtp_sess *s)
{
	char why[SMTP_WHY_MAX];

	if (s->state == S_QUIT) {
		sess_free(s);
		return;
	}
	if (s->state == S_IDLE) {
		idle_timeout_quit(s);
		return;
	}
	if (s->state == S_CONNECT)
		snprintf(why, sizeof(why), "451 4.4.1 connect to %s: timed out",
		    s->relay);
	else
		snprintf(why, sizeof(why), "451 4.4.2 conversation with %s "
		    "timed out while %s", s->relay, state_name(s->state));
	log_info("%s: %s", s->qid, why + 10);
	sess_drop(s, why);
}

static void
sess_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtp_sess *s = arg;

	sess_enter(s);
	sess_timer(s);
	sess_leave(s);
}

/* Copies the job's parameters (strings the session keeps are its own). */
static int
sess_params(struct smtp_sess *s, const struct smtp_params *p,
    smtp_done_cb cb, void *arg)
{
	int *acc;

	s->p = *p;
	s->cb = cb;
	s->arg = arg;
	strlcpy(s->qid, p->qid, sizeof(s->qid));
	strlcpy(s->relay, p->relay, sizeof(s->relay));
	s->p.relay = s->relay;
	s->p.qid = s->qid;
	if ((acc = reallocarray(s->accepted, p->nrcpt ? p->nrcpt : 1,
	    sizeof(*acc))) == NULL)
		return -1;
	s->accepted = acc;
	memset(acc, 0, (p->nrcpt ? p->nrcpt : 1) * sizeof(*acc));
	return 0;
}

static struct smtp_sess *
sess_new(struct event_base *base, const struct smtp_params *p,
    smtp_done_cb cb, void *arg)
{
	struct smtp_sess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sock = -1;
	s->base = base;
	buf_init(&s->in);
	buf_init(&s->out);
	reply_init(&s->rep);
	if (sess_params(s, p, cb, arg) == -1) {
		sess_destroy(s);
		return NULL;
	}
	if (p->tls_name != NULL)
		strlcpy(s->tls_name, p->tls_name, sizeof(s->tls_name));
	if (p->cache_key != NULL)
		strlcpy(s->key, p->cache_key, sizeof(s->key));
	s->p.tls_name = s->tls_name;
	s->p.cache_key = s->key;
	return s;
}

static int
sess_events(struct smtp_sess *s)
{
	s->rev = event_new(s->base, s->sock, EV_READ | EV_PERSIST,
	    sess_read_cb, s);
	s->wev = event_new(s->base, s->sock, EV_WRITE, sess_write_cb, s);
	s->tev = evtimer_new(s->base, sess_timer_cb, s);
	return s->rev == NULL || s->wev == NULL || s->tev == NULL ? -1 : 0;
}

struct smtp_sess *
smtp_start(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
    const struct smtp_params *p, smtp_done_cb cb, void *arg)
{
	struct smtp_sess	*s;
	int			 saved;

	if ((s = sess_new(base, p, cb, arg)) == NULL)
		return NULL;
	s->sock = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->sock == -1 || sess_events(s) == -1)
		goto fail;
	if (p->src != NULL && p->src->sa_family == sa->sa_family &&
	    bind(s->sock, p->src, p->srclen) == -1) {
		log_errno("%s: binding the source address for %s", s->qid,
		    s->relay);
		goto fail;
	}
	s->state = S_CONNECT;
	if (connect(s->sock, sa, salen) == 0) {
		on_connected(s);
		return s;
	}
	if (errno != EINPROGRESS)
		goto fail;
	event_add(s->wev, NULL);
	arm_timer(s, s->p.connect_timeout);
	return s;
fail:
	saved = errno;
	sess_destroy(s);
	errno = saved;
	return NULL;
}

struct smtp_sess *
smtp_start_fd(struct event_base *base, int fd, const struct smtp_params *p,
    smtp_done_cb cb, void *arg)
{
	struct smtp_sess	*s;
	int			 saved;

	if ((s = sess_new(base, p, cb, arg)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	s->sock = fd;
	if (sess_events(s) == -1) {
		saved = errno;
		sess_destroy(s);
		errno = saved;
		return NULL;
	}
	s->state = S_GREETING;
	event_add(s->rev, NULL);
	arm_timer(s, s->p.timeout);
	return s;
}

struct smtp_sess *
smtp_reuse(const struct smtp_params *p, smtp_done_cb cb, void *arg)
{
	struct smtp_sess *s;

	if (p->cache_key == NULL || p->cache_key[0] == '\0')
		return NULL;
	TAILQ_FOREACH(s, &idle_cache, centry)
		if (!s->dead && strcmp(s->key, p->cache_key) == 0)
			break;
	if (s == NULL)
		return NULL;
	TAILQ_REMOVE(&idle_cache, s, centry);
	s->cached = 0;
	nidle--;
	if (sess_params(s, p, cb, arg) == -1) {
		s->cb = NULL;
		sess_quit(s, SMTP_DONE, NULL);
		return NULL;
	}
	s->p.tls_name = s->tls_name;
	s->p.cache_key = s->key;
	log_debug("%s: reusing the session with %s", s->qid, s->relay);
	s->state = S_RSET;
	buf_reset(&s->out);
	s->out_off = 0;
	if (buf_appends(&s->out, "RSET\r\n") == -1) {
		s->cb = NULL;
		sess_quit(s, SMTP_DONE, NULL);
		return NULL;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0) {
		/* no callback from here: the caller connects afresh */
		s->cb = NULL;
		sess_free(s);
		return NULL;
	}
	return s;
}
