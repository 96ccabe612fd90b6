/* smtpd's plumbing: listening sockets, the master and queue-mgr channels. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "smtpd.h"
#include "tls.h"
#include "dnscheck.h"	/* issue 4b */

/* How long accept() rests when the process is out of descriptors. */
#define ACCEPT_PAUSE_SECS	1

void
server_init(struct smtpd *env, struct event_base *base, struct config *conf)
{
	memset(env, 0, sizeof(*env));
	env->base = base;
	env->conf = conf;
	TAILQ_INIT(&env->listeners);
	TAILQ_INIT(&env->sessions);
}

/* ---- listeners ---- */

static void
listeners_enable(struct smtpd *env, int on)
{
	struct listener *l;

	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (on)
			event_add(l->ev, NULL);
		else
			event_del(l->ev);
	}
}

static void
accept_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd *env = arg;

	env->accept_paused = 0;
	if (env->started)
		listeners_enable(env, 1);
}

static void
accept_pause(struct smtpd *env)
{
	struct timeval tv = { ACCEPT_PAUSE_SECS, 0 };

	if (env->accept_paused)
		return;
	if (env->accept_ev == NULL &&
	    (env->accept_ev = evtimer_new(env->base, accept_resume_cb,
	    env)) == NULL)
		return;
	env->accept_paused = 1;
	listeners_enable(env, 0);
	evtimer_add(env->accept_ev, &tv);
}

void
server_session_gone(struct smtpd *env)
{
	/* a descriptor just came free: no need to sit out the whole pause */
	if (env->accept_paused) {
		evtimer_del(env->accept_ev);
		accept_resume_cb(-1, 0, env);
	}
}

/*
 * A refused client gets one line and the door. The socket is new and its
 * send buffer empty, so the write cannot block; nothing waits for it.
 */
static void
refuse_text(struct listener *l, int s, const struct sockaddr *sa,
    const char *text)
{
	char		 addr[INET6_ADDRSTRLEN + 8];
	struct buf	 b;

	l->env->n_refused++;
	session_client_text(sa, addr, sizeof(addr));
	log_info("refused connection from unknown[%s] on %s: %s", addr,
	    l->name, text);
	buf_init(&b);
	if (buf_appendf(&b, "%s\r\n", text) == 0)
		(void)send(s, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&b);
	(void)shutdown(s, SHUT_WR);
	close(s);
}

static void
refuse(struct listener *l, int s, const struct sockaddr *sa,
    enum limit_verdict v)
{
	refuse_text(l, s, sa, limits_reply(v));
}

/* posternctl pause incoming (IPC_SMTPD_PAUSE): try again later. */
static void
refuse_paused(struct listener *l, int s, const struct sockaddr *sa)
{
	struct buf b;

	buf_init(&b);
	if (buf_appendf(&b, "421 4.3.2 %s Not accepting mail now, try again "
	    "later", l->hostname) == 0)
		refuse_text(l, s, sa, b.p);
	else
		close(s);
	buf_free(&b);
}

static void
listener_accept_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	enum limit_verdict	 v;
	int			 s, on = 1, counted;

	/* drain the backlog: one wake-up may stand for many connections */
	for (;;) {
		len = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept on %s: %s; pausing", l->addr,
				    strerror(errno));
				accept_pause(l->env);
				return;
			}
			log_errno("accept on %s", l->addr);
			return;
		}
		/*
		 * Replies are gathered and written once per batch, so Nagle
		 * has nothing to merge; it would only delay each reply.
		 */
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		l->env->n_connections++;
		if (l->env->paused) {
			refuse_paused(l, s, (struct sockaddr *)&ss);
			continue;
		}
		if ((v = limits_check(l->env, l, (struct sockaddr *)&ss,
		    time(NULL), &counted)) != LIMIT_OK) {
			refuse(l, s, (struct sockaddr *)&ss, v);
			continue;
		}
		if (session_new(l->env, l, s, (struct sockaddr *)&ss, len,
		    counted) == NULL) {
			log_err("out of memory for a new session");
			limits_release(l->env, l, (struct sockaddr *)&ss, counted);
			close(s);
		}
	}
}

static void
cidrs_copy(struct cidrlist *dst, const struct cidrlist *src)
{
	free(dst->v);
	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return;
	if ((dst->v = reallocarray(NULL, src->n, sizeof(*dst->v))) == NULL) {
		/* fail closed for allow lists is worse than open: say so */
		log_err("out of memory copying a client list");
		return;
	}
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
}

void
server_listener_config(struct listener *l, const struct config *conf)
{
	const struct listener_conf	*lc = &conf->listeners[l->index];
	const char			*bad = NULL;

	strlcpy(l->name, lc->name, sizeof(l->name));
	/* it goes into every greeting and Received header: no spaces */
	if (lc->hostname[0] != '\0' && !cmd_helo_valid(lc->hostname))
		log_warn("listener %s: hostname '%s' is not a host name; using "
		    "%s", lc->name, lc->hostname, conf->hostname);
	strlcpy(l->hostname, lc->hostname[0] && cmd_helo_valid(lc->hostname) ?
	    lc->hostname : conf->hostname, sizeof(l->hostname));
	l->max_message_size = lc->max_message_size;
	l->tls = lc->tls;
	l->auth = lc->auth;
	l->auth_plaintext = lc->auth_plaintext;
	l->max_recipients = lc->max_recipients;
	l->greeting_delay = lc->greeting_delay;
	l->command_timeout = lc->command_timeout;
	l->data_timeout = lc->data_timeout;
	l->max_messages = lc->max_messages_per_connection;
	l->max_sessions = lc->max_sessions;
	l->max_sessions_per_ip = lc->max_sessions_per_ip;
	l->max_connection_rate = lc->max_connection_rate;
	l->max_errors = lc->max_errors;
	l->max_received_headers = lc->max_received_headers;
	l->recipient_check = lc->recipient_check;
	l->sender_login_match = lc->sender_login_match;
	l->auth_relay = lc->auth_relay;
	if (cmd_ext_mask(&lc->disable_extensions, &l->ext, &bad) == -1)
		log_warn("listener %s: disable_extensions: unknown extension "
		    "'%s' ignored", l->name, bad);
	/* ETRN is offered only to someone */
	if (lc->etrn_clients.n == 0)
		l->ext &= ~EXT_ETRN;
	cidrs_copy(&l->allow, &lc->client_allow);
	cidrs_copy(&l->deny, &lc->client_deny);
	cidrs_copy(&l->etrn, &lc->etrn_clients);
}

void
server_listener_clear(struct listener *l)
{
	free(l->allow.v);
	free(l->deny.v);
	free(l->etrn.v);
	memset(&l->allow, 0, sizeof(l->allow));
	memset(&l->deny, 0, sizeof(l->deny));
	memset(&l->etrn, 0, sizeof(l->etrn));
}

static void
listener_add(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	struct listener	*l;
	uint32_t	 index;
	char		*addr = NULL;
	int		 fl;

	unpack_init(&u, m->data, m->len);
	unpack_u32(&u, &index);
	unpack_str(&u, &addr, 127);
	if (unpack_done(&u) == -1 || m->fd == -1 ||
	    index >= env->conf->nlisteners) {
		log_err("master: bad LISTENER message, ignored");
		free(addr);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (fl = fcntl(m->fd, F_GETFL)) == -1 ||
	    fcntl(m->fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (l->ev = event_new(env->base, m->fd, EV_READ | EV_PERSIST,
	    listener_accept_cb, l)) == NULL) {
		log_errno("listener %s", addr);
		free(l);
		free(addr);
		return;
	}
	l->env = env;
	l->fd = m->fd;
	m->fd = -1;
	l->index = index;
	strlcpy(l->addr, addr, sizeof(l->addr));
	free(addr);
	server_listener_config(l, env->conf);
	TAILQ_INSERT_TAIL(&env->listeners, l, entry);
	if (env->started && !env->accept_paused)
		event_add(l->ev, NULL);
	log_debug("listener %s on %s", l->name, l->addr);
}

/* ---- queue-mgr channel ---- */

static void
smtpd_pause(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 on;

	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &on) == -1 || unpack_done(&u) == -1 || on > 1) {
		log_err("queue-mgr: bad SMTPD_PAUSE message, ignored");
		return;
	}
	if (env->paused != (int)on)
		log_info("incoming mail %s", on ? "paused: new sessions get "
		    "421, MAIL gets 451" : "resumed");
	env->paused = (int)on;
}

static struct listener *
listener_named(struct smtpd *env, const char *name)
{
	struct listener *l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (*name == '\0' ? l->index == 0 : strcmp(l->name, name) == 0)
			return l;
	/* "" = the first listener of the file, even if it has no socket */
	return *name == '\0' ? TAILQ_FIRST(&env->listeners) : NULL;
}

/* A text address as a sockaddr, port 0: what the policy sees. */
static int
client_sockaddr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/*
 * posternctl policy-test: an ordinary session on the socket queue-mgr
 * passed, as if the client were at that address; the same connect-time
 * rules apply (deny lists, limits), and their refusal is what it hears.
 */
static void
test_session(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack		 u;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct listener		*l;
	enum limit_verdict	 v;
	char			*addr = NULL, *helo = NULL, *name = NULL;
	int			 fl, counted;

	unpack_init(&u, m->data, m->len);
	unpack_str(&u, &addr, 64);
	unpack_str(&u, &helo, SMTPD_HELO_MAX);
	unpack_str(&u, &name, 255);
	if (unpack_done(&u) == -1 || m->fd == -1 ||
	    client_sockaddr(addr, &ss, &sslen) == -1) {
		log_err("queue-mgr: bad SMTPD_TEST_SESSION message, ignored");
		goto done;
	}
	if ((l = listener_named(env, name)) == NULL) {
		log_err("queue-mgr: policy test for no listener '%s'", name);
		goto done;
	}
	if ((fl = fcntl(m->fd, F_GETFL)) == -1 ||
	    fcntl(m->fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_errno("policy test socket");
		goto done;
	}
	if ((v = limits_check(env, l, (struct sockaddr *)&ss, time(NULL),
	    &counted)) != LIMIT_OK) {
		refuse(l, m->fd, (struct sockaddr *)&ss, v);
		m->fd = -1;
		goto done;
	}
	if (session_new_test(env, l, m->fd, (struct sockaddr *)&ss, sslen,
	    counted, helo) == NULL) {
		log_err("out of memory for a policy test session");
		limits_release(env, l, (struct sockaddr *)&ss, counted);
		goto done;
	}
	m->fd = -1;
done:
	free(addr);
	free(helo);
	free(name);
}

static void
queue_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct smtpd	*env = arg;
	struct unpack	 u;
	char		*text = NULL;
	uint32_t	 count;

	switch (m->type) {
	case IPC_SMTPD_PAUSE:
		smtpd_pause(env, m);
		break;
	case IPC_SMTPD_TEST_SESSION:
		test_session(env, m);
		break;
	case IPC_ETRN_REPLY:
		unpack_init(&u, m->data, m->len);
		unpack_u32(&u, &count);
		if (unpack_done(&u) == -1) {
			log_err("queue-mgr: bad ETRN_REPLY payload, ignored");
			break;
		}
		session_etrn_reply(env, m->id, count);
		break;
	case IPC_MSG_BEGIN_OK:
	case IPC_MSG_COMMITTED:
	case IPC_MSG_TEMPFAIL:
		unpack_init(&u, m->data, m->len);
		unpack_str(&u, &text, 512);
		if (unpack_done(&u) == -1) {
			/* the id is still good: fail that one transaction */
			log_err("queue-mgr: bad %s payload for transaction %u",
			    ipc_type_name(m->type), m->id);
			session_queue_reply(env, IPC_MSG_TEMPFAIL, m->id, NULL);
			break;
		}
		session_queue_reply(env, m->type, m->id, text);
		break;
	default:
		log_err("queue-mgr: unexpected %s message, ignored",
		    ipc_type_name(m->type));
		break;
	}
	free(text);
}

static void
queue_drop(struct smtpd *env)
{
	struct ipc_chan *old = env->queue;

	if (old == NULL)
		return;
	/* sessions must see no channel while they fail their transactions */
	env->queue = NULL;
	env->queue_full = 0;
	session_queue_lost(env);
	ipc_chan_free(old);
	session_resume_all(env);
}

static void
queue_closed(struct ipc_chan *c, void *arg)
{
	struct smtpd *env = arg;

	log_warn("lost the queue-mgr channel");
	queue_drop(env);
}

static void
queue_drained(struct ipc_chan *c, void *arg)
{
	struct smtpd *env = arg;

	env->queue_full = 0;
	session_resume_all(env);
}

static void
peer_add(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	struct ipc_chan	*c;
	uint32_t	 kind;

	unpack_init(&u, m->data, m->len);
	unpack_u32(&u, &kind);
	if (unpack_done(&u) == -1 || m->fd == -1) {
		log_err("master: bad PEER message, ignored");
		return;
	}
	if (kind == PROC_RESOLVER) {	/* issue 4b: reverse DNS, DNSBL */
		dnscheck_peer(env, m);
		return;
	}
	if (kind != PROC_QUEUE) {
		log_err("master: smtpd has no business with peer kind %u", kind);
		return;
	}
	queue_drop(env);
	if ((c = ipc_chan_new(env->base, m->fd, "queue-mgr", queue_msg,
	    queue_closed, env)) == NULL) {
		log_errno("queue-mgr channel");
		return;
	}
	m->fd = -1;
	ipc_set_drain_cb(c, queue_drained);
	env->queue = c;
	stats_queue_up(env);
	log_debug("queue-mgr channel up");
}

/* ---- master channel ---- */

static void
config_reload(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	struct config	*nc;
	struct listener	*l;
	struct buf	 err;
	char		*path = NULL;
	const void	*text;
	size_t		 len;

	unpack_init(&u, m->data, m->len);
	unpack_str(&u, &path, 4096);
	unpack_bytes(&u, &text, &len, IPC_MAX_PAYLOAD);
	if (unpack_done(&u) == -1) {
		log_err("master: bad CONFIG message, ignored");
		free(path);
		return;
	}
	buf_init(&err);
	if ((nc = config_parse_buf(path, text, len, &err)) == NULL) {
		while (err.len > 0 && err.p[err.len - 1] == '\n')
			err.len--;
		log_err("reload: keeping the old config: %s",
		    buf_cstr(&err) ? err.p : "error");
		buf_free(&err);
		free(path);
		return;
	}
	buf_free(&err);
	free(path);
	/* listeners are the master's to bind: only their limits change here */
	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (l->index < nc->nlisteners)
			server_listener_config(l, nc);
	}
	vdomains_reload(nc);
	config_free(env->conf);
	env->conf = nc;
	log_set_level((enum log_level)nc->log_level);
	log_info("configuration reloaded");
}

static void
auth_reply(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 result;
	char		*user = NULL;

	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &result) == -1 ||
	    unpack_str(&u, &user, SMTPD_AUTH_USER_MAX) == -1 ||
	    unpack_done(&u) == -1 || result > AUTH_LIMITED) {
		log_err("master: bad AUTH_REPLY message, ignored");
		free(user);
		return;
	}
	session_auth_reply(env, m->id, result, user);
	free(user);
}

static void
rcpt_check_reply(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 result;
	char		*reason = NULL;

	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &result) == -1 ||
	    unpack_str(&u, &reason, 512) == -1 ||
	    unpack_done(&u) == -1 || result > RCPT_CHECK_TEMPFAIL) {
		/* the waiting RCPT gets its 451 when the wait runs out */
		log_err("master: bad RCPT_CHECK_REPLY message, ignored");
		free(reason);
		return;
	}
	session_rcpt_check_reply(env, m->id, result, reason);
	free(reason);
}

static void
log_level_set(struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 level;

	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &level) == -1 || unpack_done(&u) == -1 ||
	    level > LOG_LVL_DEBUG) {
		log_err("master: bad LOG_LEVEL message, ignored");
		return;
	}
	log_set_level((enum log_level)level);
	log_info("log level set to %u", level);
}

static void
tls_cert(struct smtpd *env, struct ipc_msg *m)
{
	struct unpack	 u;
	uint32_t	 index;
	const void	*pem;
	size_t		 len;

	unpack_init(&u, m->data, m->len);
	if (unpack_u32(&u, &index) == -1 ||
	    unpack_bytes(&u, &pem, &len, IPC_MAX_PAYLOAD) == -1 ||
	    unpack_done(&u) == -1 || index >= env->conf->nlisteners) {
		log_err("master: bad TLS_CERT message, ignored");
		return;
	}
	if (tls_set_cert_ciphers(index, pem, len,
	    env->conf->listeners[index].tls_ciphers) == -1)
		log_warn("listener %s: unusable certificate; no TLS",
		    env->conf->listeners[index].name);
}

void
server_master_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct smtpd *env = arg;

	switch (m->type) {
	case IPC_PEER:
		peer_add(env, m);
		break;
	case IPC_LISTENER:
		listener_add(env, m);
		break;
	case IPC_CONFIG:
		config_reload(env, m);
		break;
	case IPC_TLS_CERT:
		tls_cert(env, m);
		break;
	case IPC_AUTH_REPLY:
		auth_reply(env, m);
		break;
	case IPC_RCPT_CHECK_REPLY:
		rcpt_check_reply(env, m);
		break;
	case IPC_LOG_LEVEL:
		log_level_set(m);
		break;
	case IPC_TLS_SIGNER:
		if (m->fd == -1 || m->len != 0) {
			log_err("master: bad TLS_SIGNER message, ignored");
			break;
		}
		tls_sign_set_fd(m->fd);
		m->fd = -1;
		break;
	case IPC_START:
		if (m->len != 0) {
			log_err("master: bad START message, ignored");
			break;
		}
		if (!env->started) {
			env->started = 1;
			stats_start(env);
			if (!env->accept_paused)
				listeners_enable(env, 1);
			log_info("started");
		}
		break;
	default:
		log_err("master: unexpected %s message, ignored",
		    ipc_type_name(m->type));
		break;
	}
}

void
server_master_closed(struct ipc_chan *c, void *arg)
{
	struct smtpd *env = arg;

	/* the master is gone: so is our reason to run */
	log_info("master channel closed, exiting");
	event_base_loopbreak(env->base);
}

void
server_shutdown(struct smtpd *env)
{
	struct listener *l;

	/* sessions first: they point at their listener */
	session_close_all(env);
	while ((l = TAILQ_FIRST(&env->listeners)) != NULL) {
		TAILQ_REMOVE(&env->listeners, l, entry);
		event_free(l->ev);
		close(l->fd);
		server_listener_clear(l);
		free(l);
	}
	limits_free(env);
	stats_stop(env);
	dnscheck_shutdown(env);	/* issue 4b */
	tls_free_all();
	if (env->queue) {
		ipc_chan_free(env->queue);
		env->queue = NULL;
	}
	if (env->master) {
		ipc_chan_free(env->master);
		env->master = NULL;
	}
	if (env->accept_ev)
		event_free(env->accept_ev);
	env->accept_ev = NULL;
}
