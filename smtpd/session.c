/* One SMTP client session: I/O, the command state machine, the transaction. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/err.h>

#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "smtpd.h"
#include "tls.h"
#include "dnscheck.h"	/* issue 4b */

enum sess_state {
	S_CONNECTED = 0,	/* greeted, no HELO/EHLO yet */
	S_HELO,			/* HELO/EHLO done, no transaction */
	S_MAIL,			/* MAIL accepted */
	S_RCPT,			/* at least one RCPT accepted */
	S_BEGIN_WAIT,		/* DATA/BDAT: waiting for queue-mgr's BEGIN_OK */
	S_DATA,			/* 354 sent: content is arriving */
	S_BDAT,			/* a BDAT chunk's bytes are arriving */
	S_BDAT_NEXT,		/* a BDAT transaction between chunks */
	S_END_WAIT,		/* end of data: waiting for COMMITTED */
	S_GREET,		/* greeting_delay: not greeted yet */
	S_ETRN_WAIT,		/* ETRN: waiting for queue-mgr's reply */
	S_AUTH_WAIT,		/* AUTH: waiting for the master's verdict */
	S_RCPT_WAIT,		/* RCPT: waiting for the master's recipient check */
};

enum auth_step {
	AUTH_STEP_NONE = 0,
	AUTH_STEP_PLAIN,	/* 334 sent: the PLAIN response comes next */
	AUTH_STEP_LOGIN_USER,	/* 334 Username: */
	AUTH_STEP_LOGIN_PASS,	/* 334 Password: */
};

struct rcpt {
	char		*addr;
	unsigned	 notify;	/* DSN_NOTIFY_* */
	char		*orcpt;		/* "" = none */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct smtpd		*env;
	struct listener		*l;
	int			 fd;
	struct event		*rev;
	struct event		*wev;
	struct event		*tmo;
	struct sockaddr_storage	 ss;
	char			 addr[INET6_ADDRSTRLEN];

	struct buf		 in;		/* unprocessed client bytes */
	struct buf		 out;		/* replies not yet written */
	struct buf		 content;	/* content not yet sent to queue-mgr */

	enum sess_state		 state;
	int			 esmtp;
	int			 reading;	/* rev is armed */
	int			 closing;	/* last reply queued: close once sent */
	int			 broken;	/* out of memory or write error */
	int			 discarding;	/* skipping an over-long line */
	int			 counted;	/* limits_check counted the IP */
	int			 tls;		/* hooks for the Received protocol */
	SSL			*ssl;
	int			 tls_hs;	/* handshake running */
	int			 tls_pending;	/* 220 to STARTTLS not yet sent */
	int			 tls_greet;	/* implicit TLS: greet after it */
	char			 tls_info[160];	/* version and cipher */
	int			 auth;
	char			*auth_user;	/* who authenticated */
	const char		*auth_mech;	/* "PLAIN", "LOGIN" */
	enum auth_step		 auth_step;
	uint32_t		 auth_id;	/* IPC_AUTH_REQ waiting */
	char			 login_user[SMTPD_AUTH_USER_MAX + 1];
	int			 nerrors;
	uint64_t		 nmessages;	/* MAIL commands accepted */
	unsigned		 ncommands;
	const char		*last_verb;	/* for log lines */
	struct dnscheck		*dc;		/* issue 4b: DNS checks at connect */

	/* envelope */
	char			*helo;
	char			*sender;	/* "" for the null sender */
	struct rcpt		*rcpts;
	size_t			 nrcpt;
	size_t			 env_bytes;	/* IPC_MSG_BEGIN payload so far */
	enum body_type		 body;
	enum dsn_ret		 ret;
	int			 smtputf8;
	char			*envid;		/* "" = none */

	/* BDAT */
	int			 bdat;		/* this transaction uses BDAT */
	uint64_t		 chunk_left;	/* bytes of the chunk still to come */
	int			 chunk_last;
	const char		*chunk_err;	/* the chunk is refused: this reply */
	enum sess_state		 chunk_prev;	/* state to go back to then */

	/* recipient check (issue 4): the RCPT waiting for the master */
	uint32_t		 rcpt_id;
	enum sess_state		 rcpt_prev;	/* S_MAIL or S_RCPT */
	struct rcpt		 rcpt_wait;	/* addr NULL when none */
	size_t			 rcpt_len;	/* its IPC_MSG_BEGIN bytes */

	/* policy (issue 4) */
	int			 test;		/* IPC_SMTPD_TEST_SESSION */
	int			 discard;	/* sender_discard: never queued */

	/* ETRN */
	uint32_t		 etrn_id;
	char			*etrn_domain;

	/* transaction with queue-mgr */
	struct data_sm		 dsm;
	uint32_t		 txid;
	int			 tx_open;	/* queue-mgr holds it: ABORT on drop */
	int			 tx_failed;	/* queue-mgr gave up during content */
	char			 failtext[256];
	char			 qid[64];
	time_t			 arrival;
};

#define DEFAULT_TEMPFAIL	"451 4.3.0 Error: queue file write error"
#define NO_QUEUE_TEMPFAIL	"451 4.3.0 Error: queue service unavailable"

static void	session_read_cb(evutil_socket_t, short, void *);
static void	session_write_cb(evutil_socket_t, short, void *);
static void	session_timeout_cb(evutil_socket_t, short, void *);
static int	session_run(struct session *);
static int	session_flush(struct session *);
static void	tx_fail(struct session *, const char *);
static int	tls_handshake(struct session *);
static int	sender_refused(struct session *, const struct addr *,
		    const char *);
static void	rcpt_check_done(struct session *, uint32_t, const char *);

#define POLICY_TEST_NO_MAIL	"554 5.7.0 Policy test: no mail is accepted"

static void
reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reply(struct session *s, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_vappendf(&s->out, fmt, ap);
	va_end(ap);
	if (r == -1 || buf_append(&s->out, "\r\n", 2) == -1)
		s->broken = 1;
}

/* Counts a client mistake: too many of them and the client is cut off. */
static void
count_error(struct session *s)
{
	if ((uint64_t)++s->nerrors >= s->l->max_errors && !s->closing) {
		log_info("too many errors after %s from unknown[%s]",
		    s->last_verb, s->addr);
		reply(s, "421 4.7.0 %s Error: too many errors",
		    s->l->hostname);
		s->closing = 1;
	}
}

static void
reply_error(struct session *s, const char *text)
{
	reply(s, "%s", text);
	count_error(s);
}

static int
queue_send(struct session *s, uint32_t type, const struct buf *b)
{
	if (s->env->queue == NULL)
		return -1;
	return ipc_send(s->env->queue, type, s->txid, -1, b ? b->p : NULL,
	    b ? b->len : 0);
}

static void
tx_abort(struct session *s)
{
	if (s->tx_open) {
		(void)queue_send(s, IPC_MSG_ABORT, NULL);
		s->tx_open = 0;
	}
}

/* Forgets the envelope; back to the state after HELO/EHLO. */
static void
tx_reset(struct session *s)
{
	size_t i;

	tx_abort(s);
	free(s->sender);
	s->sender = NULL;
	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = 0;
	free(s->rcpt_wait.addr);
	free(s->rcpt_wait.orcpt);
	memset(&s->rcpt_wait, 0, sizeof(s->rcpt_wait));
	s->rcpt_id = 0;
	s->discard = 0;
	s->env_bytes = 0;
	free(s->envid);
	s->envid = NULL;
	s->body = BODY_TYPE_UNSPEC;
	s->ret = DSN_RET_UNSPEC;
	s->smtputf8 = 0;
	s->bdat = 0;
	buf_free(&s->content);
	s->tx_failed = 0;
	s->failtext[0] = '\0';
	s->qid[0] = '\0';
	s->state = s->helo ? S_HELO : S_CONNECTED;
}

static int
waiting(const struct session *s)
{
	return s->state == S_BEGIN_WAIT || s->state == S_END_WAIT ||
	    s->state == S_GREET || s->state == S_ETRN_WAIT ||
	    s->state == S_AUTH_WAIT || s->state == S_RCPT_WAIT;
}

/* Reads only when the session can use the bytes: see smtpd.h limits. */
static void
update_events(struct session *s)
{
	int want;

	want = !s->closing && !s->broken && !waiting(s) &&
	    !s->env->queue_full && s->out.len < SMTPD_OUT_HIGH &&
	    !s->tls_pending;
	if (s->tls_hs)
		want = 1;
	if (want && !s->reading)
		event_add(s->rev, NULL);
	else if (!want && s->reading)
		event_del(s->rev);
	s->reading = want;
	/* TLS may hold decrypted bytes the socket no longer signals */
	if (want && s->ssl != NULL && !s->tls_hs && SSL_pending(s->ssl) > 0)
		event_active(s->rev, EV_READ, 0);
	if (s->out.len > 0)
		event_add(s->wev, NULL);
}

/* RFC 5321 4.5.3.2: one timeout for commands, one for a block of data. */
static void
touch_timer(struct session *s)
{
	struct timeval tv = { 0, 0 };

	switch (s->state) {
	case S_GREET:
		tv.tv_sec = (time_t)(s->l->greeting_delay / 1000);
		tv.tv_usec = (suseconds_t)(s->l->greeting_delay % 1000) * 1000;
		break;
	case S_ETRN_WAIT:
		tv.tv_sec = SMTPD_ETRN_WAIT;
		break;
	case S_RCPT_WAIT:
		tv.tv_sec = SMTPD_RCPT_CHECK_WAIT;
		break;
	case S_DATA:
	case S_BDAT:
		tv.tv_sec = (time_t)s->l->data_timeout;
		break;
	default:
		tv.tv_sec = (time_t)s->l->command_timeout;
		break;
	}
	event_add(s->tmo, &tv);
}

void
session_client_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	const struct sockaddr_in6 *s6;
	struct in_addr a4;

	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, outsz);
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		/* an IPv4 client on a dual-stack socket is an IPv4 client */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(&a4, &s6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, out, outsz);
		} else
			inet_ntop(AF_INET6, &s6->sin6_addr, out, outsz);
	}
	if (out[0] == '\0')
		strlcpy(out, "unknown", outsz);
}

/*
 * The greeting, unless the client already talks: a client that sends
 * before it has seen the 220 is a pipelining violation (often a spam
 * engine that does not read). The socket is looked at right before the
 * greeting is written, so with greeting_delay the check has teeth.
 */
static void
greet(struct session *s)
{
	char c;

	/* issue 4b: the greeting waits for the DNS checks (their timer
	 * bounds the wait), which may refuse the client */
	if (dnscheck_busy(s->dc)) {
		s->state = S_GREET;
		event_del(s->tmo);
		return;
	}
	if (s->ssl == NULL &&
	    recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
		log_info("improper command pipelining before the greeting "
		    "from unknown[%s]", s->addr);
		reply(s, "554 5.5.0 %s Error: SMTP protocol synchronization",
		    s->l->hostname);
		s->closing = 1;
		return;
	}
	if (dnscheck_refusal(s->dc) != NULL) {	/* issue 4b */
		s->env->n_refused++;
		log_info("NOQUEUE: reject: CONNECT from unknown[%s]: %s",
		    s->addr, dnscheck_refusal(s->dc));
		reply(s, "%s", dnscheck_refusal(s->dc));
		s->closing = 1;
		return;
	}
	s->state = S_CONNECTED;
	reply(s, "220 %s ESMTP postern", s->l->hostname);
	touch_timer(s);
}

/* issue 4b: the DNS checks are done; greet now unless greeting_delay
 * still runs (its timer greets then). */
void
session_dns_ready(struct session *s)
{
	if (s->state != S_GREET || evtimer_pending(s->tmo, NULL))
		return;
	greet(s);
	if (s->closing)
		touch_timer(s);
	(void)session_flush(s);
}

/* ---- TLS ---- */

/* Logs OpenSSL's reasons (the error queue is per thread: drain it). */
static void
tls_log_errors(struct session *s, const char *what)
{
	unsigned long	 e;
	char		 text[256];
	int		 n = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		if (n++ < 4)
			log_info("%s from unknown[%s]: %s", what, s->addr, text);
	}
	if (n == 0)
		log_info("%s from unknown[%s]: %s", what, s->addr,
		    errno != 0 ? strerror(errno) : "connection closed");
}

/* The handshake starts; it runs as the client's bytes arrive. */
static int
tls_start(struct session *s)
{
	SSL_CTX *ctx = tls_ctx(s->l->index);

	if (ctx == NULL) {
		log_warn("listener %s: no certificate for TLS from "
		    "unknown[%s]", s->l->name, s->addr);
		return -1;
	}
	ERR_clear_error();
	if ((s->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1) {
		tls_log_errors(s, "SSL_new");
		return -1;
	}
	SSL_set_accept_state(s->ssl);
	s->tls_hs = 1;
	return 0;
}

/* One step of the handshake; -1 when the session is gone. */
static int
tls_handshake(struct session *s)
{
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(s->ssl);
	if (r != 1) {
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			update_events(s);
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(s->wev, NULL);
			return 0;
		}
		tls_log_errors(s, "SSL_accept error");
		s->broken = 1;
		session_free(s);
		return -1;
	}
	s->tls_hs = 0;
	s->tls = 1;
	tls_describe(s->ssl, s->tls_info, sizeof(s->tls_info));
	log_info("Anonymous TLS connection established from unknown[%s]: %s",
	    s->addr, s->tls_info);
	/* RFC 3207 4.2: forget all the client said before */
	tx_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	s->state = S_CONNECTED;
	s->auth = 0;
	free(s->auth_user);
	s->auth_user = NULL;
	s->auth_step = AUTH_STEP_NONE;
	buf_free(&s->in);
	if (s->tls_greet) {
		s->tls_greet = 0;
		greet(s);
	}
	touch_timer(s);
	return session_flush(s);
}

static struct session *
session_create(struct smtpd *env, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen, int counted, int test)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->env = env;
	s->l = l;
	s->fd = fd;
	s->counted = counted;
	s->test = test;
	s->last_verb = "CONNECT";
	if (salen > sizeof(s->ss))
		salen = sizeof(s->ss);
	memcpy(&s->ss, sa, salen);
	session_client_text((struct sockaddr *)&s->ss, s->addr, sizeof(s->addr));
	buf_init(&s->in);
	buf_init(&s->out);
	buf_init(&s->content);
	s->rev = event_new(env->base, fd, EV_READ | EV_PERSIST, session_read_cb, s);
	s->wev = event_new(env->base, fd, EV_WRITE, session_write_cb, s);
	s->tmo = evtimer_new(env->base, session_timeout_cb, s);
	if (s->rev == NULL || s->wev == NULL || s->tmo == NULL) {
		if (s->rev)
			event_free(s->rev);
		if (s->wev)
			event_free(s->wev);
		if (s->tmo)
			event_free(s->tmo);
		free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&env->sessions, s, entry);
	env->nsessions++;
	log_info("connect from unknown[%s]%s", s->addr,
	    test ? " (policy test)" : "");
	s->dc = dnscheck_start(env, l, (struct sockaddr *)&s->ss, s->addr,
	    s);	/* issue 4b */
	if (l->tls == TLS_IMPLICIT && !test) {
		/* RFC 8314: the handshake first, the greeting inside it */
		s->state = S_CONNECTED;
		s->tls_greet = 1;
		touch_timer(s);
		if (tls_start(s) == -1) {
			/* freed from the write callback: nothing to say */
			s->broken = 1;
			event_active(s->wev, EV_WRITE, 0);
			return s;
		}
		update_events(s);
		return s;
	}
	if (l->greeting_delay > 0) {
		s->state = S_GREET;
		touch_timer(s);
	} else
		greet(s);
	update_events(s);
	return s;
}

struct session *
session_new(struct smtpd *env, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen, int counted)
{
	return session_create(env, l, fd, sa, salen, counted, 0);
}

struct session *
session_new_test(struct smtpd *env, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen, int counted, const char *helo)
{
	char addr[INET6_ADDRSTRLEN];

	session_client_text(sa, addr, sizeof(addr));
	log_info("policy test session as unknown[%s] helo=<%s> on %s", addr,
	    helo, l->name);
	return session_create(env, l, fd, sa, salen, counted, 1);
}

void
session_free(struct session *s)
{
	struct smtpd	*env = s->env;
	char		 junk[4096];
	int		 i;

	tx_reset(s);
	/*
	 * Unread input makes close() send a reset, which can destroy our
	 * last reply before the client reads it: swallow what is there.
	 */
	for (i = 0; i < 16 && recv(s->fd, junk, sizeof(junk),
	    MSG_DONTWAIT) > 0; i++)
		;
	limits_release(env, s->l, (struct sockaddr *)&s->ss, s->counted);
	dnscheck_free(s->dc);	/* issue 4b */
	free(s->etrn_domain);
	free(s->auth_user);
	log_info("disconnect from unknown[%s] commands=%u errors=%d",
	    s->addr, s->ncommands, s->nerrors);
	TAILQ_REMOVE(&env->sessions, s, entry);
	env->nsessions--;
	event_free(s->rev);
	event_free(s->wev);
	event_free(s->tmo);
	if (s->ssl != NULL) {
		if (!s->tls_hs && !s->broken)
			(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	close(s->fd);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s->helo);
	free(s);
	server_session_gone(env);
}

/* ---- commands ---- */

static int
tls_offered(const struct session *s)
{
	return s->ssl == NULL && !s->test && (s->l->tls == TLS_MAY ||
	    s->l->tls == TLS_REQUIRED) && tls_ctx(s->l->index) != NULL;
}

/* RFC 4954: passwords only inside TLS unless the listener says so. */
static int
auth_offered(const struct session *s)
{
	return s->l->auth != AUTH_NO && !s->test &&
	    (s->tls || s->l->auth_plaintext);
}

/* Hands the credentials to the master; the verdict comes back later. */
static void
auth_check(struct session *s, const char *user, char *pass)
{
	static uint32_t	 seq;
	struct buf	 b;
	int		 r;

	buf_init(&b);
	r = pack_str(&b, s->addr) == -1 || pack_str(&b, s->auth_mech) == -1 ||
	    pack_str(&b, user) == -1 ||
	    pack_bytes(&b, pass, strlen(pass)) == -1 ? -1 : 0;
	explicit_bzero(pass, strlen(pass));
	s->auth_id = ++seq;
	if (r == 0 && s->env->master != NULL)
		r = ipc_send(s->env->master, IPC_AUTH_REQ, s->auth_id, -1, b.p,
		    b.len);
	else
		r = -1;
	if (b.p != NULL)
		explicit_bzero(b.p, b.len);
	buf_free(&b);
	if (r == -1) {
		reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	strlcpy(s->login_user, user, sizeof(s->login_user));
	s->state = S_AUTH_WAIT;
	touch_timer(s);
}

static void
auth_plain(struct session *s, const char *b64)
{
	unsigned char	 dec[2 * SMTPD_AUTH_USER_MAX + SMTPD_AUTH_PASS_MAX + 3];
	char		 user[SMTPD_AUTH_USER_MAX + 1];
	char		 pass[SMTPD_AUTH_PASS_MAX + 1];
	int		 n;

	if ((n = cmd_base64_decode(b64, dec, sizeof(dec))) == -1) {
		reply_error(s, "501 5.5.2 Error: cannot decode response");
		return;
	}
	if (cmd_auth_plain(dec, (size_t)n, user, sizeof(user), pass,
	    sizeof(pass)) == -1) {
		explicit_bzero(dec, sizeof(dec));
		log_info("unknown[%s]: malformed SASL PLAIN response", s->addr);
		reply_error(s, "535 5.7.8 Error: authentication failed");
		return;
	}
	explicit_bzero(dec, sizeof(dec));
	auth_check(s, user, pass);
}

/* A line after a 334: the client's next response. */
static void
auth_continue(struct session *s, const char *line)
{
	unsigned char	 dec[SMTPD_AUTH_PASS_MAX + 1];
	char		 pass[SMTPD_AUTH_PASS_MAX + 1];
	enum auth_step	 step = s->auth_step;
	int		 n;

	s->auth_step = AUTH_STEP_NONE;
	if (strcmp(line, "*") == 0) {
		reply_error(s, "501 5.7.0 Authentication aborted");
		return;
	}
	if (step == AUTH_STEP_PLAIN) {
		auth_plain(s, line);
		return;
	}
	if ((n = cmd_base64_decode(line, dec, sizeof(dec) - 1)) == -1) {
		reply_error(s, "501 5.5.2 Error: cannot decode response");
		return;
	}
	if (step == AUTH_STEP_LOGIN_USER) {
		if (!cmd_auth_user_valid((char *)dec, (size_t)n)) {
			reply_error(s, "535 5.7.8 Error: authentication failed");
			return;
		}
		memcpy(s->login_user, dec, (size_t)n);
		s->login_user[n] = '\0';
		s->auth_step = AUTH_STEP_LOGIN_PASS;
		reply(s, "334 UGFzc3dvcmQ6");
		return;
	}
	if (n == 0 || memchr(dec, '\0', (size_t)n) != NULL) {
		explicit_bzero(dec, sizeof(dec));
		reply_error(s, "535 5.7.8 Error: authentication failed");
		return;
	}
	memcpy(pass, dec, (size_t)n);
	pass[n] = '\0';
	explicit_bzero(dec, sizeof(dec));
	auth_check(s, s->login_user, pass);
}

static void
cmd_auth(struct session *s, const char *args)
{
	char		 mech[16];
	const char	*ir;
	size_t		 n;

	if (!auth_offered(s)) {
		if (s->l->auth != AUTH_NO && !s->test)
			reply_error(s, "538 5.7.11 Encryption required for "
			    "requested authentication mechanism");
		else
			reply_error(s, "503 5.5.1 Error: authentication not "
			    "enabled");
		return;
	}
	if (!s->esmtp) {
		reply_error(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->auth) {
		reply_error(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->state != S_HELO) {
		reply_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	n = strcspn(args, " ");
	if (n == 0 || n >= sizeof(mech)) {
		reply_error(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, args, n);
	mech[n] = '\0';
	ir = args[n] == ' ' ? args + n + 1 : NULL;
	if (strcasecmp(mech, "PLAIN") == 0) {
		s->auth_mech = "PLAIN";
		if (ir == NULL) {
			s->auth_step = AUTH_STEP_PLAIN;
			reply(s, "334 ");
		} else
			auth_plain(s, strcmp(ir, "=") == 0 ? "" : ir);
		return;
	}
	if (strcasecmp(mech, "LOGIN") == 0) {
		s->auth_mech = "LOGIN";
		if (ir == NULL) {
			s->auth_step = AUTH_STEP_LOGIN_USER;
			reply(s, "334 VXNlcm5hbWU6");
		} else {
			s->auth_step = AUTH_STEP_LOGIN_USER;
			auth_continue(s, ir);
		}
		return;
	}
	reply_error(s, "504 5.5.4 Unrecognized authentication type");
}

/* RFC 3207: the 220, then the handshake; pipelined bytes are dropped. */
static void
cmd_starttls(struct session *s, const char *args)
{
	if (*args != '\0') {
		reply_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->ssl != NULL) {
		reply_error(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if ((s->l->tls != TLS_MAY && s->l->tls != TLS_REQUIRED) || s->test) {
		reply_error(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (tls_ctx(s->l->index) == NULL) {
		reply(s, "454 4.7.0 TLS not available due to local problem");
		return;
	}
	if (s->state != S_CONNECTED && s->state != S_HELO) {
		reply_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->tls_pending = 1;
}

static void
cmd_helo(struct session *s, const char *args, int esmtp)
{
	const char	*host = s->l->hostname;
	unsigned	 ext = s->l->ext;

	if (!cmd_helo_valid(args)) {
		reply_error(s, esmtp ? "501 5.5.4 Syntax: EHLO hostname" :
		    "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	free(s->helo);
	if ((s->helo = strdup(args)) == NULL) {
		s->broken = 1;
		return;
	}
	s->esmtp = esmtp;
	tx_reset(s);
	if (!esmtp) {
		reply(s, "250 %s", host);
		return;
	}
	/* RFC 2034: no enhanced status codes in EHLO replies */
	reply(s, "250-%s", host);
	if (ext & EXT_PIPELINING)
		reply(s, "250-PIPELINING");
	if (ext & EXT_SIZE)
		reply(s, "250-SIZE %llu",
		    (unsigned long long)s->l->max_message_size);
	if ((ext & EXT_ETRN) && cidrlist_match(&s->l->etrn,
	    (struct sockaddr *)&s->ss))
		reply(s, "250-ETRN");
	if (ext & EXT_8BITMIME)
		reply(s, "250-8BITMIME");
	if (ext & EXT_CHUNKING)
		reply(s, "250-CHUNKING");
	if (ext & EXT_BINARYMIME)
		reply(s, "250-BINARYMIME");
	if (ext & EXT_DSN)
		reply(s, "250-DSN");
	if (ext & EXT_SMTPUTF8)
		reply(s, "250-SMTPUTF8");
	if (tls_offered(s))
		reply(s, "250-STARTTLS");
	if (auth_offered(s))
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

/* Only what EHLO offered: after HELO no extension exists. */
static unsigned
offered(const struct session *s)
{
	return s->esmtp ? s->l->ext : 0;
}

static void
cmd_mail(struct session *s, const char *args)
{
	struct mail_params	 mp;
	const char		*err;
	char			 text[ADDR_TEXT_MAX];

	if (s->state == S_CONNECTED) {
		reply_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->state != S_HELO) {
		reply_error(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	/* a policy test has no TLS to offer: it tests what follows it */
	if (s->l->tls == TLS_REQUIRED && !s->tls && !s->test) {
		reply_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->l->auth == AUTH_REQUIRED && !s->auth) {
		reply_error(s, "530 5.7.0 Authentication required");
		return;
	}
	if (s->nmessages >= s->l->max_messages) {
		log_info("too many messages from unknown[%s] (%llu)", s->addr,
		    (unsigned long long)s->nmessages);
		reply(s, "421 4.7.0 %s Error: too many messages in one "
		    "connection", s->l->hostname);
		s->closing = 1;
		return;
	}
	if (s->env->paused) {
		/* posternctl pause incoming: nothing new, nothing lost */
		reply(s, "451 4.3.2 Not accepting mail now, try again later");
		return;
	}
	if ((err = cmd_parse_mail(args, offered(s), &mp)) != NULL) {
		reply_error(s, err);
		return;
	}
	if (mp.has_size && mp.size > s->l->max_message_size) {
		reply_error(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (addr_format(&mp.from, text, sizeof(text)) == -1)
		text[0] = '\0';
	if (sender_refused(s, &mp.from, text))
		return;
	if (addr_format(&mp.from, text, sizeof(text)) == -1 ||
	    (s->sender = strdup(text)) == NULL ||
	    (s->envid = strdup(mp.envid)) == NULL) {
		s->broken = 1;
		return;
	}
	s->body = mp.body;
	s->ret = mp.ret;
	s->smtputf8 = mp.smtputf8;
	/*
	 * u64 arrival, str addr, str helo, str sender, u32 nrcpt; then the
	 * extension: u32 ret, str envid, u32 body, u32 smtputf8, u32 nrcpt
	 */
	s->env_bytes = 8 + 4 + strlen(s->addr) + 4 + strlen(s->helo) + 4 +
	    strlen(text) + 4 + 4 + 4 + strlen(s->envid) + 4 + 4 + 4;
	s->nmessages++;
	s->state = S_MAIL;
	reply(s, "250 2.1.0 Ok");
}

/* MAIL FROM's policy (issue 4); 1 when the sender was refused. */
static int
sender_refused(struct session *s, const struct addr *from, const char *text)
{
	const char		*why, *rule;
	enum sender_verdict	 v;

	v = policy_sender(s->env->conf, (struct sockaddr *)&s->ss,
	    s->auth ? s->auth_user : NULL, s->l->sender_login_match, from);
	switch (v) {
	case SENDER_OK:
		return 0;
	case SENDER_DISCARD:
		/* answered as usual, dropped after the data (Exchange's filter) */
		s->discard = 1;
		return 0;
	case SENDER_REJECT:
		why = "Access denied";
		rule = "sender_reject";
		break;
	case SENDER_NOT_OWNED:
		log_info("reject: MAIL from unknown[%s]: 553 5.7.1 <%s>: Sender "
		    "address rejected: not owned by user %s; from=<%s> "
		    "proto=ESMTP helo=<%s>", s->addr, text, s->auth_user, text,
		    s->helo);
		reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned "
		    "by user %s", text, s->auth_user);
		count_error(s);
		return 1;
	case SENDER_OWN_DOMAIN:
	default:
		why = "not logged in";
		rule = "reject_own_domain_sender";
		break;
	}
	log_info("reject: MAIL from unknown[%s]: 550 5.7.1 <%s>: Sender "
	    "address rejected: %s (%s); from=<%s> proto=%s helo=<%s>", s->addr,
	    text, why, rule, text, s->esmtp ? "ESMTP" : "SMTP", s->helo);
	reply(s, "550 5.7.1 <%s>: Sender address rejected: %s", text, why);
	count_error(s);
	return 1;
}

/* The recipient is in: into the envelope, and 250. */
static void
rcpt_add(struct session *s, char *addr, unsigned notify, char *orcpt,
    size_t len)
{
	struct rcpt *nv;

	if ((nv = reallocarray(s->rcpts, s->nrcpt + 1, sizeof(*nv))) == NULL) {
		free(addr);
		free(orcpt);
		s->broken = 1;
		return;
	}
	s->rcpts = nv;
	s->rcpts[s->nrcpt].addr = addr;
	s->rcpts[s->nrcpt].notify = notify;
	s->rcpts[s->nrcpt].orcpt = orcpt;
	s->nrcpt++;
	s->env_bytes += len;
	s->state = S_RCPT;
	reply(s, "250 2.1.5 Ok");
}

/*
 * Recipient validation (issue 4): the master knows the users and aliases,
 * smtpd does not; the RCPT waits for its answer (the loop does not). The
 * address goes with a lower-case domain, the local part as given.
 */
static int
rcpt_check_send(struct session *s, const char *text)
{
	struct buf	 b;
	char		 q[ADDR_TEXT_MAX], *at;
	int		 r;

	if (s->env->master == NULL)
		return -1;
	strlcpy(q, text, sizeof(q));
	if ((at = strrchr(q, '@')) != NULL)
		for (at++; *at != '\0'; at++)
			if (*at >= 'A' && *at <= 'Z')
				*at = (char)(*at - 'A' + 'a');
	if (++s->env->next_txid == 0)
		s->env->next_txid = 1;
	s->rcpt_id = s->env->next_txid;
	buf_init(&b);
	r = pack_str(&b, q) == -1 || ipc_send_buf(s->env->master,
	    IPC_RCPT_CHECK, s->rcpt_id, -1, &b) == -1 ? -1 : 0;
	buf_free(&b);
	return r;
}

static void
cmd_rcpt(struct session *s, const char *args)
{
	struct rcpt_params	 rp;
	const char		*err;
	char			 text[ADDR_TEXT_MAX], *dup, *orcpt;
	size_t			 len;
	enum policy_verdict	 v;

	if (s->state != S_MAIL && s->state != S_RCPT) {
		reply_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((err = cmd_parse_rcpt(args, offered(s), s->smtputf8, &rp)) != NULL) {
		reply_error(s, err);
		return;
	}
	if (addr_format(&rp.to, text, sizeof(text)) == -1) {
		reply_error(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	/* str recipient; u32 notify, str orcpt */
	len = 4 + strlen(text) + 4 + 4 + strlen(rp.orcpt);
	/* the envelope must fit one IPC_MSG_BEGIN frame, whatever the config */
	if (s->nrcpt >= s->l->max_recipients ||
	    s->env_bytes + len > IPC_MAX_PAYLOAD) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (s->env->conf->reject_null_sender_multi_rcpt && s->nrcpt >= 1 &&
	    s->sender[0] == '\0') {
		/* a bounce goes to one address: more is a spammer's trick */
		log_info("reject: RCPT from unknown[%s]: 550 5.5.3 <%s>: null "
		    "sender with more than one recipient; from=<> to=<%s> "
		    "proto=%s helo=<%s>", s->addr, text, text,
		    s->esmtp ? "ESMTP" : "SMTP", s->helo);
		reply(s, "550 5.5.3 <%s>: Recipient address rejected: a null "
		    "sender may have only one recipient", text);
		count_error(s);
		return;
	}
	/* auth_relay = no: a password alone does not open the relay */
	v = policy_rcpt_session(s->env->conf, (struct sockaddr *)&s->ss,
	    s->auth && s->l->auth_relay, &rp.to);
	if (v == POLICY_ROUTING) {
		log_info("reject: RCPT from unknown[%s]: 553 5.1.3 <%s>: "
		    "routing characters in the local part; from=<%s> to=<%s> "
		    "proto=%s helo=<%s>", s->addr, text, s->sender, text,
		    s->esmtp ? "ESMTP" : "SMTP", s->helo);
		reply(s, "553 5.1.3 <%s>: Recipient address rejected: no "
		    "routing through this host", text);
		count_error(s);
		return;
	}
	if (v != POLICY_ACCEPT) {
		log_info("reject: RCPT from unknown[%s]: 554 5.7.1 <%s>: "
		    "Relay access denied; from=<%s> to=<%s> proto=%s helo=<%s>",
		    s->addr, text, s->sender, text, s->esmtp ? "ESMTP" : "SMTP",
		    s->helo);
		reply(s, "554 5.7.1 <%s>: Relay access denied", text);
		count_error(s);
		return;
	}
	dup = strdup(text);
	orcpt = strdup(rp.orcpt);
	if (dup == NULL || orcpt == NULL) {
		free(dup);
		free(orcpt);
		s->broken = 1;
		return;
	}
	if (s->l->recipient_check &&
	    policy_rcpt_needs_check(s->env->conf, &rp.to)) {
		if (rcpt_check_send(s, text) == -1) {
			log_warn("cannot ask the master about <%s>", text);
			free(dup);
			free(orcpt);
			reply(s, "451 4.3.0 <%s>: Recipient address rejected: "
			    "temporary lookup failure", text);
			return;
		}
		s->rcpt_wait.addr = dup;
		s->rcpt_wait.notify = rp.notify;
		s->rcpt_wait.orcpt = orcpt;
		s->rcpt_len = len;
		s->rcpt_prev = s->state;
		s->state = S_RCPT_WAIT;
		touch_timer(s);
		return;
	}
	rcpt_add(s, dup, rp.notify, orcpt, len);
}

/* The master's verdict on the waiting RCPT, or none (result > TEMPFAIL). */
static void
rcpt_check_done(struct session *s, uint32_t result, const char *reason)
{
	char		*addr = s->rcpt_wait.addr, *orcpt = s->rcpt_wait.orcpt;
	unsigned	 notify = s->rcpt_wait.notify;

	memset(&s->rcpt_wait, 0, sizeof(s->rcpt_wait));
	s->rcpt_id = 0;
	s->state = s->rcpt_prev;
	if (result == RCPT_CHECK_OK) {
		rcpt_add(s, addr, notify, orcpt, s->rcpt_len);
		touch_timer(s);
		return;
	}
	if (result == RCPT_CHECK_UNKNOWN) {
		log_info("reject: RCPT from unknown[%s]: 550 5.1.1 <%s>: "
		    "Recipient address rejected: user unknown%s%s; from=<%s> "
		    "to=<%s> proto=%s helo=<%s>", s->addr, addr,
		    reason[0] ? ": " : "", reason, s->sender, addr,
		    s->esmtp ? "ESMTP" : "SMTP", s->helo);
		reply(s, "550 5.1.1 <%s>: Recipient address rejected: user "
		    "unknown", addr);
		count_error(s);
	} else {
		log_warn("RCPT from unknown[%s]: 451 4.3.0 <%s>: recipient "
		    "check failed%s%s", s->addr, addr, reason[0] ? ": " : "",
		    reason);
		reply(s, "451 4.3.0 <%s>: Recipient address rejected: "
		    "temporary lookup failure", addr);
	}
	free(addr);
	free(orcpt);
	touch_timer(s);
}

/* IPC_MSG_BEGIN with its extension (lib/ipc.h) to queue-mgr. */
static int
tx_begin(struct session *s, int bdat)
{
	struct buf	 b;
	size_t		 i;
	int		 r;

	if (s->env->queue == NULL)
		return -1;
	if (++s->env->next_txid == 0)
		s->env->next_txid = 1;
	s->txid = s->env->next_txid;
	s->arrival = time(NULL);
	buf_init(&b);
	r = pack_u64(&b, (uint64_t)s->arrival);
	r |= pack_str(&b, s->addr);
	r |= pack_str(&b, s->helo);
	r |= pack_str(&b, s->sender);
	r |= pack_u32(&b, (uint32_t)s->nrcpt);
	for (i = 0; i < s->nrcpt; i++)
		r |= pack_str(&b, s->rcpts[i].addr);
	r |= pack_u32(&b, (uint32_t)s->ret);
	r |= pack_str(&b, s->envid);
	r |= pack_u32(&b, (uint32_t)s->body);
	r |= pack_u32(&b, (uint32_t)s->smtputf8);
	r |= pack_u32(&b, (uint32_t)s->nrcpt);
	for (i = 0; i < s->nrcpt; i++) {
		r |= pack_u32(&b, (uint32_t)s->rcpts[i].notify);
		r |= pack_str(&b, s->rcpts[i].orcpt);
	}
	if (r != 0 || queue_send(s, IPC_MSG_BEGIN, &b) == -1) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	s->tx_open = 1;
	s->bdat = bdat;
	s->state = S_BEGIN_WAIT;
	return 0;
}

static void
cmd_data(struct session *s, const char *args)
{
	if (*args != '\0') {
		reply_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->state == S_CONNECTED || s->state == S_HELO) {
		reply_error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->state == S_MAIL) {
		reply_error(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->state == S_BDAT_NEXT) {
		reply_error(s, "503 5.5.1 Error: DATA in a BDAT transaction");
		return;
	}
	if (s->body == BODY_TYPE_BINARYMIME) {
		/* RFC 3030 3: BINARYMIME content only in BDAT chunks */
		reply_error(s, "503 5.5.1 Error: BODY=BINARYMIME needs BDAT");
		return;
	}
	if (s->test) {
		log_info("policy test from unknown[%s]: DATA refused; from=<%s> "
		    "nrcpt=%zu", s->addr, s->sender, s->nrcpt);
		reply(s, POLICY_TEST_NO_MAIL);
		tx_reset(s);
		return;
	}
	if (s->discard) {
		/* read as usual, kept nowhere: queue-mgr never hears of it */
		data_init(&s->dsm, s->l->max_message_size);
		s->state = S_DATA;
		reply(s, "354 End data with <CR><LF>.<CR><LF>");
		return;
	}
	if (tx_begin(s, 0) == -1)
		reply(s, NO_QUEUE_TEMPFAIL);
}

/*
 * BDAT: the chunk's bytes follow the command at once, whatever we answer,
 * so a refused chunk is still read (and dropped) before its reply; only a
 * chunk size we cannot parse, or larger than any message we take, ends
 * the session: there is no way to find the next command then.
 */
static void
cmd_bdat(struct session *s, const char *args)
{
	uint64_t	 size;
	int		 last;

	if (!(offered(s) & EXT_CHUNKING)) {
		reply_error(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (cmd_parse_bdat(args, &size, &last) == -1) {
		log_info("bad BDAT from unknown[%s], disconnecting", s->addr);
		reply(s, "501 5.5.4 Syntax: BDAT chunk-size [LAST]");
		s->closing = 1;
		return;
	}
	if (size > s->l->max_message_size) {
		log_info("BDAT chunk of %llu octets from unknown[%s], "
		    "disconnecting", (unsigned long long)size, s->addr);
		tx_reset(s);
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		s->closing = 1;
		return;
	}
	s->chunk_left = size;
	s->chunk_last = last;
	s->chunk_err = NULL;
	switch (s->state) {
	case S_BDAT_NEXT:
		s->state = S_BDAT;
		return;
	case S_RCPT:
		if (s->test) {
			s->chunk_err = POLICY_TEST_NO_MAIL;
			break;
		}
		if (s->discard) {
			data_init_bdat(&s->dsm, s->l->max_message_size,
			    s->body == BODY_TYPE_BINARYMIME);
			s->bdat = 1;
			s->state = S_BDAT;
			return;
		}
		if (tx_begin(s, 1) == -1) {
			tx_fail(s, NO_QUEUE_TEMPFAIL);
			s->bdat = 1;
			s->state = S_BDAT;
		}
		return;
	case S_CONNECTED:
		s->chunk_err = "503 5.5.1 Error: send HELO/EHLO first";
		break;
	case S_MAIL:
		s->chunk_err = "503 5.5.1 Error: need RCPT command";
		break;
	default:
		s->chunk_err = "503 5.5.1 Error: need MAIL command";
		break;
	}
	s->chunk_prev = s->state;
	s->state = S_BDAT;
}

static void
cmd_etrn(struct session *s, const char *args)
{
	struct buf	 b;
	char		 domain[ADDR_DOMAIN_MAX + 2];
	int		 r;

	if (!(offered(s) & EXT_ETRN)) {
		reply_error(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->state != S_HELO) {
		reply_error(s, "503 5.5.1 Error: ETRN not allowed in a mail "
		    "transaction");
		return;
	}
	if ((r = cmd_parse_etrn(args, domain, sizeof(domain))) == -1) {
		reply_error(s, "501 5.5.4 Syntax: ETRN domain");
		return;
	}
	if (r == -2) {
		reply(s, "458 4.3.0 Unable to queue messages for node %s: "
		    "queues by name are not supported", args);
		return;
	}
	if (!cidrlist_match(&s->l->etrn, (struct sockaddr *)&s->ss)) {
		log_info("reject: ETRN from unknown[%s]: client not allowed",
		    s->addr);
		reply(s, "459 4.7.1 Node %s not allowed: client not authorized",
		    domain);
		count_error(s);
		return;
	}
	free(s->etrn_domain);
	if ((s->etrn_domain = strdup(domain)) == NULL) {
		s->broken = 1;
		return;
	}
	if (++s->env->next_txid == 0)
		s->env->next_txid = 1;
	s->etrn_id = s->env->next_txid;
	buf_init(&b);
	if (s->env->queue == NULL || pack_str(&b, domain) == -1 ||
	    ipc_send_buf(s->env->queue, IPC_ETRN, s->etrn_id, -1, &b) == -1) {
		buf_free(&b);
		reply(s, "458 4.4.0 Unable to queue messages for node %s",
		    domain);
		return;
	}
	buf_free(&b);
	s->state = S_ETRN_WAIT;
	touch_timer(s);
}

static void
etrn_done(struct session *s, int ok)
{
	if (ok)
		reply(s, "250 2.0.0 Queuing for node %s started", s->etrn_domain);
	else
		reply(s, "458 4.4.0 Unable to queue messages for node %s",
		    s->etrn_domain);
	free(s->etrn_domain);
	s->etrn_domain = NULL;
	s->etrn_id = 0;
	s->state = S_HELO;
	touch_timer(s);
}

static void
cmd_help(struct session *s)
{
	unsigned ext = offered(s);

	reply(s, "214-2.0.0 This is postern, an ESMTP server (RFC 5321)");
	reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA%s RSET NOOP "
	    "QUIT VRFY HELP%s", (s->l->ext & EXT_CHUNKING) ? " BDAT" : "",
	    (ext & EXT_ETRN) ? " ETRN" : "");
	reply(s, "214-2.0.0 Send EHLO to see the extensions offered; end "
	    "DATA with <CR><LF>.<CR><LF>");
	reply(s, "214 2.0.0 End of HELP info");
}

static void
session_line(struct session *s, const char *line, size_t len)
{
	enum smtp_verb	 verb;
	const char	*args;
	size_t		 i;

	if (s->auth_step != AUTH_STEP_NONE) {
		/* a SASL response, not a command: never logged */
		if (memchr(line, '\0', len) != NULL ||
		    memchr(line, '\r', len) != NULL) {
			s->auth_step = AUTH_STEP_NONE;
			reply_error(s, "501 5.5.2 Error: cannot decode response");
			return;
		}
		auth_continue(s, line);
		return;
	}
	s->ncommands++;
	if (memchr(line, '\0', len) != NULL) {
		s->last_verb = "NUL";
		reply_error(s, "500 5.5.2 Error: NUL character in command");
		return;
	}
	for (i = 0; i < len; i++) {
		if (line[i] == '\r') {
			reply_error(s, "500 5.5.2 Error: bare CR in command");
			return;
		}
	}
	verb = cmd_verb(line, &args);
	switch (verb) {
	case V_HELO:
		s->last_verb = "HELO";
		cmd_helo(s, args, 0);
		break;
	case V_EHLO:
		s->last_verb = "EHLO";
		cmd_helo(s, args, 1);
		break;
	case V_MAIL:
		s->last_verb = "MAIL";
		cmd_mail(s, args);
		break;
	case V_RCPT:
		s->last_verb = "RCPT";
		cmd_rcpt(s, args);
		break;
	case V_DATA:
		s->last_verb = "DATA";
		cmd_data(s, args);
		break;
	case V_BDAT:
		s->last_verb = "BDAT";
		cmd_bdat(s, args);
		break;
	case V_ETRN:
		s->last_verb = "ETRN";
		cmd_etrn(s, args);
		break;
	case V_STARTTLS:
		s->last_verb = "STARTTLS";
		cmd_starttls(s, args);
		break;
	case V_AUTH:
		s->last_verb = "AUTH";
		cmd_auth(s, args);
		break;
	case V_RSET:
		s->last_verb = "RSET";
		if (*args != '\0') {
			reply_error(s, "501 5.5.4 Syntax: RSET");
			break;
		}
		tx_reset(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case V_NOOP:
		s->last_verb = "NOOP";
		reply(s, "250 2.0.0 Ok");
		break;
	case V_QUIT:
		s->last_verb = "QUIT";
		reply(s, "221 2.0.0 Bye");
		s->closing = 1;
		break;
	case V_VRFY:
		s->last_verb = "VRFY";
		if (*args == '\0') {
			reply_error(s, "501 5.5.4 Syntax: VRFY address");
			break;
		}
		/* never tell who exists (safe default in DESIGN.md) */
		reply(s, "252 2.1.5 Cannot VRFY user, but will accept message "
		    "and attempt delivery");
		break;
	case V_EXPN:
		s->last_verb = "EXPN";
		reply_error(s, "502 5.5.1 Error: command not implemented");
		break;
	case V_HELP:
		s->last_verb = "HELP";
		cmd_help(s);
		break;
	case V_HTTP:
		s->last_verb = "HTTP";
		log_info("HTTP command from unknown[%s], disconnecting", s->addr);
		reply(s, "502 5.5.1 Error: this is an SMTP server, not HTTP");
		s->closing = 1;
		break;
	case V_UNKNOWN:
		s->last_verb = "UNKNOWN";
		reply_error(s, "500 5.5.2 Error: command not recognized");
		break;
	}
}

/* ---- content ---- */

/* "Received:" as RFC 5321 4.4; a reverse name only when forward-confirmed. */
static int
received_header(struct session *s)
{
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 date[64];
	int		 v6 = strchr(s->addr, ':') != NULL, r;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return -1;
	/* issue 4b: the forward-confirmed name, when there is one */
	r = buf_appendf(&s->content, "Received: from %s (%s%s[%s%s])\r\n",
	    s->helo, dnscheck_name(s->dc), *dnscheck_name(s->dc) ? " " : "",
	    v6 ? "IPv6:" : "", s->addr);
	if (r == 0 && s->tls)
		r = buf_appendf(&s->content, "\t(using %s)\r\n", s->tls_info);
	if (r == 0 && s->auth)
		r = buf_appendf(&s->content, "\t(Authenticated sender: %s)\r\n",
		    s->auth_user);
	if (r == 0)
		r = buf_appendf(&s->content,
	    "\tby %s (postern) with %s id %s", s->l->hostname,
	    cmd_received_protocol(s->esmtp,
	    s->smtputf8, s->tls, s->auth), s->qid);
	if (r == 0 && s->nrcpt == 1)
		r = buf_appendf(&s->content, "\r\n\tfor <%s>", s->rcpts[0].addr);
	if (r == 0)
		r = buf_appendf(&s->content, "; %s\r\n", date);
	return r;
}

/*
 * Sends the gathered content to queue-mgr: the payload of IPC_MSG_DATA is
 * the content itself, no length prefix (as queue-mgr reads it).
 */
static int
content_send(struct session *s)
{
	size_t n;

	while (s->content.len > 0) {
		n = s->content.len > IPC_MAX_PAYLOAD ? IPC_MAX_PAYLOAD :
		    s->content.len;
		if (ipc_send(s->env->queue, IPC_MSG_DATA, s->txid, -1,
		    s->content.p, n) == -1)
			return -1;
		buf_consume(&s->content, n);
	}
	if (ipc_pending(s->env->queue) > IPC_HIGH_WATER)
		s->env->queue_full = 1;
	return 0;
}

static void
tx_fail(struct session *s, const char *text)
{
	s->tx_open = 0;
	s->tx_failed = 1;
	strlcpy(s->failtext, text, sizeof(s->failtext));
	buf_free(&s->content);
}

/* The reply that refuses the content, or NULL when it may be queued. */
static const char *
content_verdict(struct session *s, const char **why)
{
	const struct data_sm *d = &s->dsm;

	*why = NULL;
	if (s->tx_failed)
		return s->failtext;
	if (d->too_big) {
		*why = "message too big";
		return "552 5.3.4 Message size exceeds fixed limit";
	}
	if (d->bare) {
		*why = "bare CR or LF in message";
		return "550 5.6.0 Message contains bare CR or LF";
	}
	if (d->nul) {
		*why = "NUL byte in message";
		return "550 5.6.0 Message contains a NUL byte";
	}
	if (d->long_line) {
		*why = "line longer than 998 octets";
		return "550 5.6.0 Message has a line longer than 998 octets";
	}
	if (d->nreceived > s->l->max_received_headers) {
		*why = "too many Received headers (mail loop)";
		return "554 5.4.6 Too many Received headers: mail loop?";
	}
	return NULL;
}

/* Content that broke a rule is no use to queue-mgr: stop it early. */
static int
content_bad(const struct session *s)
{
	return data_rejected(&s->dsm) ||
	    s->dsm.nreceived > s->l->max_received_headers;
}

static int
refuse_content(struct session *s)
{
	const char *text, *why;

	if ((text = content_verdict(s, &why)) == NULL)
		return 0;
	if (why != NULL)
		log_info("reject: %s from unknown[%s]: %s; from=<%s>",
		    s->bdat ? "BDAT" : "DATA", s->addr, why, s->sender);
	reply(s, "%s", text);
	tx_reset(s);
	return 1;
}

static void
end_of_data(struct session *s)
{
	if (refuse_content(s))
		return;
	if (s->discard) {
		log_info("discard: END-OF-MESSAGE from unknown[%s]: sender "
		    "matches sender_discard; from=<%s> size=%llu nrcpt=%zu",
		    s->addr, s->sender, (unsigned long long)s->dsm.size,
		    s->nrcpt);
		reply(s, "250 2.0.0 Ok");
		tx_reset(s);
		return;
	}
	if (s->env->queue == NULL || queue_send(s, IPC_MSG_END, NULL) == -1) {
		tx_abort(s);
		reply(s, NO_QUEUE_TEMPFAIL);
		tx_reset(s);
	} else
		s->state = S_END_WAIT;
}

/* The last byte of a BDAT chunk is in. */
static void
bdat_chunk_done(struct session *s)
{
	if (s->chunk_err != NULL) {
		reply_error(s, s->chunk_err);
		s->chunk_err = NULL;
		s->state = s->chunk_prev;
		return;
	}
	if (!s->chunk_last) {
		if (refuse_content(s))
			return;
		reply(s, "250 2.0.0 Ok: %llu octets received",
		    (unsigned long long)s->dsm.size);
		s->state = S_BDAT_NEXT;
		return;
	}
	if (!s->tx_failed && data_end_bdat(&s->dsm, &s->content) == -1) {
		s->broken = 1;
		return;
	}
	if (s->tx_open && content_bad(s)) {
		tx_abort(s);
		buf_free(&s->content);
	}
	if (s->tx_open && content_send(s) == -1)
		tx_fail(s, NO_QUEUE_TEMPFAIL);
	end_of_data(s);
}

/* ---- input ---- */

/* Bytes of a BDAT chunk: all go to the content (or nowhere). */
static size_t
bdat_input(struct session *s, const char *p, size_t avail)
{
	size_t n = avail;

	if ((uint64_t)n > s->chunk_left)
		n = (size_t)s->chunk_left;
	s->chunk_left -= n;
	if (s->chunk_err != NULL || s->tx_failed)
		return n;
	if (data_feed_bdat(&s->dsm, p, n, &s->content) == -1) {
		s->broken = 1;
		return n;
	}
	if (s->tx_open && content_bad(s)) {
		tx_abort(s);
		buf_free(&s->content);
	}
	if (s->tx_open && content_send(s) == -1)
		tx_fail(s, NO_QUEUE_TEMPFAIL);
	if (!s->tx_open)
		buf_reset(&s->content);
	return n;
}

/* Processes buffered input until it runs out or the session must wait. */
static int
session_run(struct session *s)
{
	size_t		 off = 0, avail, n, clen;
	ssize_t		 used;
	const char	*lf;
	char		 line[SMTPD_LINE_MAX + 1];

	while (!s->closing && !s->broken && !waiting(s) && !s->tls_pending &&
	    !s->tls_hs) {
		if (s->state == S_BDAT && s->chunk_left == 0) {
			bdat_chunk_done(s);
			continue;
		}
		if (off >= s->in.len)
			break;
		avail = s->in.len - off;
		if (s->state == S_BDAT) {
			if (s->env->queue_full && s->tx_open)
				break;
			off += bdat_input(s, s->in.p + off, avail);
			continue;
		}
		if (s->state == S_DATA) {
			if (s->env->queue_full)
				break;
			if ((used = data_feed(&s->dsm, s->in.p + off, avail,
			    &s->content)) == -1) {
				s->broken = 1;
				break;
			}
			off += (size_t)used;
			if (content_bad(s) && s->tx_open) {
				tx_abort(s);
				buf_free(&s->content);
			}
			if (s->tx_open && content_send(s) == -1)
				tx_fail(s, NO_QUEUE_TEMPFAIL);
			if (!s->tx_open)
				buf_reset(&s->content);	/* nobody to send it to */
			if (data_done(&s->dsm))
				end_of_data(s);
			continue;
		}
		lf = memchr(s->in.p + off, '\n', avail);
		if (s->discarding) {
			if (lf == NULL) {
				off = s->in.len;
				break;
			}
			off = (size_t)(lf - s->in.p) + 1;
			s->discarding = 0;
			continue;
		}
		if (lf == NULL) {
			if (avail >= SMTPD_LINE_MAX) {
				s->ncommands++;
				reply_error(s, "500 5.5.2 Error: line too long");
				s->discarding = 1;
				off = s->in.len;
			}
			break;
		}
		n = (size_t)(lf - (s->in.p + off)) + 1;
		if (n > SMTPD_LINE_MAX) {
			s->ncommands++;
			reply_error(s, "500 5.5.2 Error: line too long");
			off += n;
			continue;
		}
		/* LF ends a command line; a CR before it is the CRLF's */
		clen = n - 1;
		if (clen > 0 && s->in.p[off + clen - 1] == '\r')
			clen--;
		memcpy(line, s->in.p + off, clen);
		line[clen] = '\0';
		off += n;
		session_line(s, line, clen);
	}
	if (s->tls_pending && off < s->in.len) {
		/* CVE-2011-0411: what came with STARTTLS is not trusted */
		log_info("discarding %zu bytes sent with STARTTLS by "
		    "unknown[%s]", s->in.len - off, s->addr);
		off = s->in.len;
	}
	buf_consume(&s->in, off);
	if (s->in.len == 0)
		buf_free(&s->in);
	return session_flush(s);
}

int
session_input(struct session *s, const char *data, size_t len)
{
	if (buf_append(&s->in, data, len) == -1) {
		session_free(s);
		return -1;
	}
	return session_run(s);
}

/* Writes what it can; frees the session when it is done or broken. */
static int
session_flush(struct session *s)
{
	ssize_t n;
	int	 r, e;

	while (s->out.len > 0 && !s->broken && !s->tls_hs) {
		if (s->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(s->ssl, s->out.p, s->out.len > INT32_MAX ?
			    INT32_MAX : (int)s->out.len);
			if (r <= 0) {
				e = SSL_get_error(s->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ)
					break;
				tls_log_errors(s, "SSL_write error");
				s->broken = 1;
				break;
			}
			buf_consume(&s->out, (size_t)r);
			continue;
		}
		n = send(s->fd, s->out.p, s->out.len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			s->broken = 1;
			break;
		}
		buf_consume(&s->out, (size_t)n);
	}
	if (s->out.len == 0)
		buf_free(&s->out);
	if (s->broken || (s->closing && s->out.len == 0)) {
		session_free(s);
		return -1;
	}
	if (s->tls_pending && s->out.len == 0) {
		/* the 220 is out in the clear: from here on it is TLS */
		s->tls_pending = 0;
		buf_free(&s->in);
		if (tls_start(s) == -1) {
			session_free(s);
			return -1;
		}
	}
	update_events(s);
	return 0;
}

static void
session_tls_read(struct session *s)
{
	int	 r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(s->ssl, s->in.p + s->in.len, SMTPD_READ_CHUNK);
	if (r <= 0) {
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return;
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(s->wev, NULL);
			return;
		}
		if (e != SSL_ERROR_ZERO_RETURN)
			tls_log_errors(s, "SSL_read error");
		if (s->state == S_DATA || waiting(s))
			log_info("lost connection after %s from unknown[%s]",
			    s->last_verb, s->addr);
		s->broken = 1;
		session_free(s);
		return;
	}
	s->in.len += (size_t)r;
	touch_timer(s);
	(void)session_run(s);
}

static void
session_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;
	ssize_t		 n;

	if (s->tls_hs) {
		(void)tls_handshake(s);
		return;
	}
	if (buf_reserve(&s->in, SMTPD_READ_CHUNK) == -1) {
		session_free(s);
		return;
	}
	if (s->ssl != NULL) {
		session_tls_read(s);
		return;
	}
	n = recv(fd, s->in.p + s->in.len, SMTPD_READ_CHUNK, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (n == -1 && errno != ECONNRESET)
			log_debug("read from unknown[%s]: %s", s->addr,
			    strerror(errno));
		if (s->state == S_DATA || waiting(s))
			log_info("lost connection after %s from unknown[%s]",
			    s->last_verb, s->addr);
		session_free(s);
		return;
	}
	s->in.len += (size_t)n;
	touch_timer(s);
	(void)session_run(s);
}

static void
session_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;

	if (s->tls_hs && !s->broken) {
		(void)tls_handshake(s);
		return;
	}
	(void)session_flush(s);
}

static void
session_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;

	if (s->closing || s->tls_hs) {
		/* our last words never left: the client does not read */
		if (s->tls_hs)
			log_info("timeout during the TLS handshake from "
			    "unknown[%s]", s->addr);
		session_free(s);
		return;
	}
	if (s->state == S_GREET) {
		greet(s);
		if (s->closing)
			touch_timer(s);
		(void)session_flush(s);
		return;
	}
	if (s->state == S_RCPT_WAIT) {
		log_warn("the master did not answer the recipient check of "
		    "<%s>", s->rcpt_wait.addr);
		rcpt_check_done(s, RCPT_CHECK_TEMPFAIL, "timeout");
		(void)session_run(s);
		return;
	}
	if (s->state == S_ETRN_WAIT) {
		log_warn("queue-mgr did not answer ETRN %s", s->etrn_domain);
		etrn_done(s, 0);
		(void)session_run(s);
		return;
	}
	log_info("timeout after %s from unknown[%s]", s->last_verb, s->addr);
	tx_abort(s);
	reply(s, "421 4.4.2 %s Error: timeout exceeded", s->l->hostname);
	s->closing = 1;
	touch_timer(s);
	(void)session_flush(s);
}

/* ---- queue-mgr's replies ---- */

static struct session *
find_tx(struct smtpd *env, uint32_t txid)
{
	struct session *s;

	/* linear, but only per queue reply; a tree when sessions number 10k */
	TAILQ_FOREACH(s, &env->sessions, entry)
		if (s->tx_open && s->txid == txid)
			return s;
	return NULL;
}

/* A client that sent content before our 354 ignored PIPELINING's rules. */
static int
pipelined_early(struct session *s)
{
	char	 c;

	if (s->in.len > 0)
		return 1;
	if (s->ssl != NULL)
		return SSL_pending(s->ssl) > 0;
	return recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

static void
log_client(struct session *s)
{
	if (s->auth)
		log_info("%s: client=unknown[%s], sasl_method=%s, "
		    "sasl_username=%s%s%s", s->qid, s->addr, s->auth_mech,
		    s->auth_user, s->tls ? ", tls=" : "", s->tls ? s->tls_info : "");
	else
		log_info("%s: client=unknown[%s]%s%s", s->qid, s->addr,
		    s->tls ? ", tls=" : "", s->tls ? s->tls_info : "");
}

static int
qid_valid(const char *q)
{
	size_t i, n = strlen(q);

	if (n == 0 || n >= sizeof(((struct session *)0)->qid))
		return 0;
	for (i = 0; i < n; i++)
		if (!((q[i] >= '0' && q[i] <= '9') || (q[i] >= 'A' &&
		    q[i] <= 'Z') || (q[i] >= 'a' && q[i] <= 'z')))
			return 0;
	return 1;
}

/* queue-mgr's reply text is shown to the client only if it is a 4xx line. */
static const char *
tempfail_text(const char *text)
{
	if (text == NULL || strlen(text) < 4 || strlen(text) > 200 ||
	    text[0] != '4' || text[1] < '0' || text[1] > '9' ||
	    text[2] < '0' || text[2] > '9' || text[3] != ' ')
		return DEFAULT_TEMPFAIL;
	return text;
}

void
session_queue_reply(struct smtpd *env, uint32_t type, uint32_t txid,
    const char *text)
{
	struct session *s;

	if ((s = find_tx(env, txid)) == NULL) {
		log_debug("queue reply %s for unknown transaction %u",
		    ipc_type_name(type), txid);
		return;
	}
	switch (type) {
	case IPC_MSG_BEGIN_OK:
		if (s->state != S_BEGIN_WAIT || !qid_valid(text)) {
			log_warn("queue-mgr: unexpected BEGIN_OK for "
			    "transaction %u", txid);
			tx_abort(s);
			if (s->state == S_BEGIN_WAIT && s->bdat) {
				tx_fail(s, DEFAULT_TEMPFAIL);
				s->state = S_BDAT;
			} else if (s->state == S_BEGIN_WAIT) {
				reply(s, DEFAULT_TEMPFAIL);
				s->state = S_RCPT;
			} else if (s->state == S_DATA || s->state == S_BDAT ||
			    s->state == S_BDAT_NEXT)
				tx_fail(s, DEFAULT_TEMPFAIL);
			break;
		}
		if (s->bdat) {
			/* RFC 3030: the chunk follows BDAT without waiting */
			strlcpy(s->qid, text, sizeof(s->qid));
			log_client(s);
			data_init_bdat(&s->dsm, s->l->max_message_size,
			    s->body == BODY_TYPE_BINARYMIME);
			if (received_header(s) == -1) {
				s->broken = 1;
				break;
			}
			s->state = S_BDAT;
			break;
		}
		if (pipelined_early(s)) {
			log_info("improper command pipelining after DATA from "
			    "unknown[%s]", s->addr);
			tx_abort(s);
			reply(s, "554 5.5.0 Error: pipelining violation");
			s->closing = 1;
			break;
		}
		strlcpy(s->qid, text, sizeof(s->qid));
		log_client(s);
		data_init(&s->dsm, s->l->max_message_size);
		if (received_header(s) == -1) {
			s->broken = 1;
			break;
		}
		s->state = S_DATA;
		reply(s, "354 End data with <CR><LF>.<CR><LF>");
		break;
	case IPC_MSG_COMMITTED:
		if (s->state != S_END_WAIT) {
			log_warn("queue-mgr: unexpected COMMITTED for "
			    "transaction %u", txid);
			break;
		}
		s->tx_open = 0;
		reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
		tx_reset(s);
		break;
	case IPC_MSG_TEMPFAIL:
		s->tx_open = 0;
		text = tempfail_text(text);
		if (s->state == S_DATA || s->state == S_BDAT ||
		    s->state == S_BDAT_NEXT)
			tx_fail(s, text);
		else if (s->state == S_BEGIN_WAIT && s->bdat) {
			/* the chunk is still to be read, then refused */
			tx_fail(s, text);
			s->state = S_BDAT;
		} else {
			reply(s, "%s", text);
			if (s->state == S_BEGIN_WAIT)
				s->state = S_RCPT;	/* the envelope stands */
			else
				tx_reset(s);
		}
		break;
	default:
		return;
	}
	(void)session_run(s);
}

void
session_auth_reply(struct smtpd *env, uint32_t id, uint32_t result,
    const char *user)
{
	struct session *s;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (s->state != S_AUTH_WAIT || s->auth_id != id)
			continue;
		s->state = S_HELO;
		if (result == AUTH_OK) {
			if (!cmd_auth_user_valid(user, strlen(user)))
				user = s->login_user;
			free(s->auth_user);
			if ((s->auth_user = strdup(user)) == NULL) {
				s->broken = 1;
				(void)session_flush(s);
				return;
			}
			s->auth = 1;
			log_info("unknown[%s]: sasl_method=%s, sasl_username=%s",
			    s->addr, s->auth_mech, s->auth_user);
			reply(s, "235 2.7.0 Authentication successful");
		} else if (result == AUTH_FAILED) {
			log_warn("unknown[%s]: SASL %s authentication failed "
			    "for %s", s->addr, s->auth_mech, s->login_user);
			reply(s, "535 5.7.8 Error: authentication failed");
			count_error(s);
		} else {
			log_warn("unknown[%s]: SASL %s authentication for %s: "
			    "temporary failure%s", s->addr, s->auth_mech,
			    s->login_user, result == AUTH_LIMITED ?
			    " (too many failures)" : "");
			reply(s, "454 4.7.0 Temporary authentication failure");
		}
		touch_timer(s);
		(void)session_run(s);
		return;
	}
	log_debug("AUTH reply %u for no session", id);
}

void
session_rcpt_check_reply(struct smtpd *env, uint32_t id, uint32_t result,
    const char *reason)
{
	struct session *s;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (s->state == S_RCPT_WAIT && s->rcpt_id == id) {
			rcpt_check_done(s, result, reason);
			(void)session_run(s);
			return;
		}
	}
	log_debug("recipient check reply %u for no session", id);
}

void
session_etrn_reply(struct smtpd *env, uint32_t id, uint32_t count)
{
	struct session *s;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (s->state == S_ETRN_WAIT && s->etrn_id == id) {
			log_info("ETRN %s from unknown[%s]: %u message%s "
			    "scheduled", s->etrn_domain, s->addr, count,
			    count == 1 ? "" : "s");
			etrn_done(s, 1);
			(void)session_run(s);
			return;
		}
	}
	log_debug("ETRN reply %u for no session", id);
}

void
session_queue_lost(struct smtpd *env)
{
	struct session *s, *next;

	TAILQ_FOREACH_SAFE(s, &env->sessions, entry, next) {
		if (s->state == S_ETRN_WAIT) {
			etrn_done(s, 0);
			(void)session_run(s);
			continue;
		}
		if (!s->tx_open)
			continue;
		/* no ABORT: the channel it would go on is the one that died */
		s->tx_open = 0;
		switch (s->state) {
		case S_BEGIN_WAIT:
			if (s->bdat) {
				tx_fail(s, NO_QUEUE_TEMPFAIL);
				s->state = S_BDAT;
				break;
			}
			reply(s, NO_QUEUE_TEMPFAIL);
			s->state = S_RCPT;
			break;
		case S_DATA:
		case S_BDAT:
		case S_BDAT_NEXT:
			tx_fail(s, NO_QUEUE_TEMPFAIL);
			break;
		case S_END_WAIT:
			reply(s, NO_QUEUE_TEMPFAIL);
			tx_reset(s);
			break;
		default:
			break;
		}
		(void)session_run(s);
	}
}

void
session_resume_all(struct smtpd *env)
{
	struct session *s, *next;

	TAILQ_FOREACH_SAFE(s, &env->sessions, entry, next) {
		if (env->queue_full)
			break;
		(void)session_run(s);
	}
}

void
session_close_all(struct smtpd *env)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&env->sessions)) != NULL) {
		reply(s, "421 4.3.2 %s Service shutting down",
		    s->l->hostname);
		s->closing = 1;
		/* one try to say goodbye; never wait for a slow client */
		if (session_flush(s) == 0)
			session_free(s);
	}
}
