/*
 * One SMTP client session: connect, greeting, EHLO/HELO, MAIL, RCPT, DATA
 * (pipelined when offered), the body in wire form, QUIT. Non-blocking on
 * the job's event loop; every wait has a timeout.
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
#include <unistd.h>

#include <event2/event.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

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
	S_TXN,		/* replies to MAIL, RCPT..., DATA, in that order */
	S_BODY,		/* content going out, then the final reply */
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
};

static void	sess_read_cb(evutil_socket_t, short, void *);
static void	sess_write_cb(evutil_socket_t, short, void *);
static void	sess_timer_cb(evutil_socket_t, short, void *);
static int	sess_flush(struct smtp_sess *);

static void
sess_destroy(struct smtp_sess *s)
{
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

/* Every recipient of the session without a result gets why, temporarily. */
static void
fail_pending(struct smtp_sess *s, const char *why)
{
	size_t i;

	for (i = 0; i < s->p.nrcpt; i++)
		if (!s->p.rcpt[i]->final)
			dl_rcpt_set(s->p.rcpt[i], RCPT_TEMPFAIL, why, s->relay);
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

static int
send_mail_from(struct smtp_sess *s)
{
	if (buf_appendf(&s->out, "MAIL FROM:<%s>", s->p.sender) == -1)
		return -1;
	if (s->offers_size && buf_appendf(&s->out, " SIZE=%llu",
	    (unsigned long long)s->p.size) == -1)
		return -1;
	return buf_appends(&s->out, "\r\n");
}

/* After EHLO/HELO: the transaction, pipelined when the server allows it. */
static void
start_txn(struct smtp_sess *s)
{
	char	 why[SMTP_WHY_MAX];
	size_t	 i;

	if (s->size_limit > 0 && s->p.size > s->size_limit) {
		snprintf(why, sizeof(why), "552 5.3.4 Message size exceeds "
		    "fixed limit of host %s (%llu > %llu)", s->relay,
		    (unsigned long long)s->p.size,
		    (unsigned long long)s->size_limit);
		for (i = 0; i < s->p.nrcpt; i++)
			dl_rcpt_set(s->p.rcpt[i], RCPT_PERMFAIL, why, s->relay);
		log_info("%s: %s: message too big for the server's SIZE",
		    s->qid, s->relay);
		s->state = S_TXN;
		sess_quit(s, SMTP_DONE, why);
		return;
	}
	s->state = S_TXN;
	s->stage = 0;
	if (send_mail_from(s) == -1)
		goto oom;
	if (s->pipelining) {
		for (i = 0; i < s->p.nrcpt; i++)
			if (queue_cmd(s, "RCPT TO:<",
			    s->p.rcpt[i]->addr, ">") == -1)
				goto oom;
		if (buf_appends(&s->out, "DATA\r\n") == -1)
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
		if (n == 0) {
			/* the tail and the final dot leave in one write */
			if (body_enc_finish(&s->enc, &s->out) == -1)
				return -1;
			s->body_eof = 1;
			break;
		}
		if (body_enc_feed(&s->enc, chunk, (size_t)n, &s->out) == -1)
			return -1;
		s->body_off += n;
	}
	return 0;
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
		n = send(s->sock, s->out.p + s->out_off, s->out.len - s->out_off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(s->wev, NULL);
			return 0;
		}
		if (n == -1)
			return -1;
		s->out_off += (size_t)n;
		/* a slow but moving reader is not a timeout */
		if (s->state == S_BODY)
			arm_timer(s, s->p.timeout);
	}
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
	s->state = S_EHLO;
	if (queue_cmd(s, "EHLO ", s->p.helo, "") == -1) {
		sess_drop(s, "451 4.3.0 out of memory");
		return;
	}
	arm_timer(s, s->p.timeout);
	if (sess_flush(s) != 0)
		sess_drop(s, "451 4.4.2 lost connection sending EHLO");
}

static void
parse_ehlo(struct smtp_sess *s, struct smtp_reply *r)
{
	const char	*param, *errstr;
	size_t		 plen;
	char		 num[24];

	s->pipelining = reply_ehlo_has(r, "PIPELINING", NULL, NULL);
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

static void
on_ehlo(struct smtp_sess *s, struct smtp_reply *r)
{
	char why[SMTP_WHY_MAX];

	if (r->code / 100 == 2) {
		parse_ehlo(s, r);
		start_txn(s);
		return;
	}
	if (s->state == S_EHLO && r->code / 100 == 5) {
		/* an old server: fall back to HELO, no extensions */
		s->state = S_HELO;
		if (queue_cmd(s, "HELO ", s->p.helo, "") == -1) {
			sess_drop(s, "451 4.3.0 out of memory");
			return;
		}
		arm_timer(s, s->p.timeout);
		if (sess_flush(s) != 0)
			sess_drop(s, "451 4.4.2 lost connection sending HELO");
		return;
	}
	why_reply(why, sizeof(why), s, r, s->state == S_EHLO ? "EHLO" : "HELO");
	log_info("%s: %s: %s", s->qid, s->relay, why);
	sess_quit(s, SMTP_NEXT, why);
}

/* Next command when not pipelining; 0, or -1 when the session ended. */
static int
txn_next_cmd(struct smtp_sess *s)
{
	size_t n = s->p.nrcpt;

	if (s->pipelining)
		return 0;
	if (s->stage >= 1 && s->stage <= n) {
		if (queue_cmd(s, "RCPT TO:<",
		    s->p.rcpt[s->stage - 1]->addr, ">") == -1)
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
	for (i = 0; i < s->p.nrcpt; i++) {
		if (!s->accepted[i])
			continue;
		/* "accepted" before it had the whole message is no delivery */
		if (!s->body_sent && r->code / 100 == 2)
			dl_rcpt_set(s->p.rcpt[i], RCPT_TEMPFAIL, "451 4.5.0 "
			    "server replied before the end of the message",
			    s->relay);
		else
			dl_rcpt_set(s->p.rcpt[i], rcpt_class(r->code), sum,
			    s->relay);
	}
	if (!s->body_sent) {
		/* it will not read the rest; the connection is spent */
		sess_report(s, SMTP_DONE, NULL);
		sess_free(s);
		return;
	}
	sess_quit(s, SMTP_DONE, NULL);
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
	case S_TXN:
		on_txn(s, r);
		break;
	case S_BODY:
		on_final(s, r);
		break;
	case S_QUIT:
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

	if (buf_reserve(&s->in, SMTP_READ_CHUNK) == -1) {
		sess_drop(s, "451 4.3.0 out of memory");
		return;
	}
	n = recv(s->sock, s->in.p + s->in.len, SMTP_READ_CHUNK, 0);
	if (n == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		if (s->state == S_QUIT) {
			sess_free(s);
			return;
		}
		snprintf(why, sizeof(why), "451 4.4.2 lost connection with "
		    "%s while %s%s%s", s->relay, state_name(s->state),
		    n == -1 ? ": " : "", n == -1 ? strerror(errno) : "");
		log_info("%s: %s", s->qid, why + 10);
		sess_drop(s, why);
		return;
	}
	s->in.len += (size_t)n;
	while (!s->dead) {
		r = reply_take(&s->in, &s->rep);
		if (r == 0)
			return;
		if (r == -1) {
			if (s->state == S_QUIT) {
				sess_free(s);
				return;
			}
			snprintf(why, sizeof(why), "451 4.5.0 malformed reply "
			    "from %s while %s", s->relay, state_name(s->state));
			log_warn("%s: %s", s->qid, why + 10);
			sess_drop(s, why);
			return;
		}
		on_reply(s, &s->rep);
	}
}

static void
sess_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtp_sess *s = arg;

	sess_enter(s);
	sess_read(s);
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
	r = sess_flush(s);
	if (r == 0)
		return;
	if (s->state == S_QUIT) {
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

struct smtp_sess *
smtp_start(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
    const struct smtp_params *p, smtp_done_cb cb, void *arg)
{
	struct smtp_sess	*s;
	int			 saved;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sock = -1;
	s->base = base;
	s->p = *p;
	s->cb = cb;
	s->arg = arg;
	strlcpy(s->qid, p->qid, sizeof(s->qid));
	strlcpy(s->relay, p->relay, sizeof(s->relay));
	s->p.relay = s->relay;
	s->p.qid = s->qid;
	buf_init(&s->in);
	buf_init(&s->out);
	reply_init(&s->rep);
	if ((s->accepted = calloc(p->nrcpt ? p->nrcpt : 1,
	    sizeof(*s->accepted))) == NULL)
		goto fail;
	s->sock = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->sock == -1)
		goto fail;
	s->rev = event_new(base, s->sock, EV_READ | EV_PERSIST, sess_read_cb, s);
	s->wev = event_new(base, s->sock, EV_WRITE, sess_write_cb, s);
	s->tev = evtimer_new(base, sess_timer_cb, s);
	if (s->rev == NULL || s->wev == NULL || s->tev == NULL)
		goto fail;
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
