/*
 * libFuzzer target for a whole smtpd session (session.c, commands.c,
 * data.c): arbitrary client bytes, cut into arbitrary reads, against a
 * queue-mgr stand-in that accepts every transaction. Every reply must be a
 * well-formed SMTP reply line, and nothing may crash or leak.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../smtpd/smtpd.h"
#include "log.h"
#include "pack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char conf_text[] =
    "hostname = mx.test\n"
    "spool = /nonexistent\n"
    "local_domains = example.org\n"
    "trusted_networks = 192.0.2.0/24\n"
    "sender_reject = @bad.test x@reject.test\n"
    "sender_discard = quiet.test <>\n"
    "reject_null_sender_multi_rcpt = yes\n"
    "listener mx {\n\tlisten = 127.0.0.1:25\n"
    "\tetrn_clients = 198.51.100.0/24\n\tmax_message_size = 4096\n"
    "\tmax_recipients = 3\n\tmax_errors = 50\n"
    "\trecipient_check = no\n}\n";

static struct event_base	*base;
static struct smtpd		 env;
static struct listener		 l;
static int			 qpeer = -1;
static uint8_t			 payload[IPC_MAX_PAYLOAD];

static void
chan_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

static void
chan_closed(struct ipc_chan *c, void *arg)
{
}

static void
setup(void)
{
	struct config	*conf;
	struct buf	 err;
	int		 q[2];

	log_set_level(LOG_LVL_ERR);
	buf_init(&err);
	if ((conf = config_parse_buf("f.conf", conf_text,
	    sizeof(conf_text) - 1, &err)) == NULL)
		abort();
	buf_free(&err);
	base = event_base_new();
	server_init(&env, base, conf);
	l.env = &env;
	l.index = 0;
	server_listener_config(&l, conf);
	if (ipc_socketpair(q) == -1)
		abort();
	env.queue = ipc_chan_new(base, q[0], "queue", chan_msg, chan_closed,
	    NULL);
	qpeer = q[1];
}

/* queue-mgr's part: says yes to everything, at once. */
static void
play_queue(void)
{
	struct ipc_msg	 m;
	uint32_t	 n = 0;
	char		 qid[16] = "QFUZZ1";

	event_base_loop(base, EVLOOP_NONBLOCK);
	while (ipc_sync_recv(qpeer, &m, payload, 0) == 0) {
		switch (m.type) {
		case IPC_MSG_BEGIN:
			session_queue_reply(&env, IPC_MSG_BEGIN_OK, m.id, qid);
			break;
		case IPC_MSG_END:
			session_queue_reply(&env, IPC_MSG_COMMITTED, m.id, qid);
			break;
		case IPC_ETRN:
			session_etrn_reply(&env, m.id, n);
			break;
		default:
			break;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
}

/* Every line the server wrote is "ddd" then " " or "-", ending in CRLF. */
static void
check_replies(int fd, struct buf *acc)
{
	char	 tmp[8192], *p, *e;
	ssize_t	 n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (buf_append(acc, tmp, (size_t)n) == -1)
			abort();
	p = acc->p;
	while (acc->len > 0 && (e = memchr(p, '\n', acc->len - (size_t)(p - acc->p))) != NULL) {
		if (e - p < 5 || e[-1] != '\r' || p[0] < '2' || p[0] > '5' ||
		    p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (p[3] != ' ' && p[3] != '-'))
			abort();
		p = e + 1;
	}
	buf_consume(acc, (size_t)(p - acc->p));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in	 sin;
	struct session		*s;
	struct buf		 acc;
	size_t			 at = 0, step, n;
	int			 sv[2];

	if (base == NULL)
		setup();
	if (size < 2)
		return 0;
	/* first byte: the read size; second: the client address (trusted or not) */
	step = (size_t)data[0] * 4 + 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, (data[1] & 1) ? "192.0.2.7" : "198.51.100.1",
	    &sin.sin_addr);
	data += 2;
	size -= 2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	buf_init(&acc);
	if ((s = session_new(&env, &l, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin), 0)) == NULL) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	while (at < size && !TAILQ_EMPTY(&env.sessions)) {
		n = size - at < step ? size - at : step;
		if (session_input(s, (const char *)data + at, n) == -1)
			break;
		at += n;
		play_queue();
		check_replies(sv[1], &acc);
	}
	play_queue();
	check_replies(sv[1], &acc);
	while (!TAILQ_EMPTY(&env.sessions))
		session_free(TAILQ_FIRST(&env.sessions));
	play_queue();
	close(sv[1]);
	buf_free(&acc);
	return 0;
}
