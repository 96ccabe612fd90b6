/*
 * libFuzzer target for smtpd's connect-time DNS checks (dnscheck.c): a
 * session from an IPv4 or IPv6 client whose PTR, A/AAAA and DNSBL
 * questions get arbitrary IPC_DNS_ANSWER payloads (or answers with wrong
 * ids, or a resolver that goes away). The greeting or refusal must be a
 * well-formed reply line, and nothing may crash or leak.
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
#include "../../smtpd/dnscheck.h"
#include "log.h"
#include "pack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char conf_text[] =
    "hostname = mx.test\n"
    "spool = /nonexistent\n"
    "trusted_networks = 192.0.2.0/24\n"
    "listener mx {\n\tlisten = 127.0.0.1:25\n"
    "\treverse_dns = require\n\tdnsbl = a.test b.test.\n}\n";

static struct event_base	*base;
static struct smtpd		 env;
static struct listener		 l;
static int			 rpeer = -1;
static uint8_t			 payload[IPC_MAX_PAYLOAD];

/* A (new) resolver channel, as the master's IPC_PEER would bring it. */
static void
resolver_up(void)
{
	struct ipc_msg	 m;
	int		 r[2];

	if (rpeer != -1)
		close(rpeer);
	if (ipc_socketpair(r) == -1)
		abort();
	memset(&m, 0, sizeof(m));
	m.type = IPC_PEER;
	m.fd = r[0];
	dnscheck_peer(&env, &m);
	if (m.fd != -1)
		abort();
	rpeer = r[1];
}

static void
setup(void)
{
	struct config	*conf;
	struct buf	 err;

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
	resolver_up();
}

/* Every line the server wrote is "ddd" then " " or "-", ending in CRLF. */
static void
check_replies(int fd)
{
	char	 tmp[8192], *p, *e;
	ssize_t	 n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		for (p = tmp; (e = memchr(p, '\n', (size_t)(tmp + n - p))) != NULL;
		    p = e + 1)
			if (e - p < 5 || e[-1] != '\r' || p[0] < '2' ||
			    p[0] > '5' || (p[3] != ' ' && p[3] != '-'))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	struct ipc_msg		 m;
	size_t			 at = 1, len, rounds = 0;
	uint8_t			 flags;
	int			 sv[2];

	if (base == NULL)
		setup();
	if (size < 1)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (data[0] & 1) {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::25", &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, "198.51.100.1", &s4->sin_addr);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (session_new(&env, &l, sv[0], (struct sockaddr *)&ss,
	    sizeof(ss), 0) == NULL) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* each question: one flag byte, two length bytes, the payload */
	while (rounds++ < 64 && !TAILQ_EMPTY(&env.sessions)) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (ipc_sync_recv(rpeer, &m, payload, 0) == -1)
			break;
		if (at + 3 > size)
			break;
		flags = data[at];
		len = (size_t)data[at + 1] << 8 | data[at + 2];
		at += 3;
		if (len > size - at)
			len = size - at;
		if (flags == 0xff) {
			/* the resolver restarts: what was asked fails */
			resolver_up();
		} else if (ipc_sync_send(rpeer, IPC_DNS_ANSWER,
		    (flags & 1) ? m.id + 1 : m.id, -1, data + at, len) == -1)
			abort();
		at += len;
		event_base_loop(base, EVLOOP_NONBLOCK);
		check_replies(sv[1]);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	check_replies(sv[1]);
	while (!TAILQ_EMPTY(&env.sessions))
		session_free(TAILQ_FIRST(&env.sessions));
	/* questions never answered stay in the socket: forget them */
	while (ipc_sync_recv(rpeer, &m, payload, 0) == 0)
		;
	close(sv[1]);
	return 0;
}
